package rotatingfile

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/internal/envelopetest"
)

func TestWithExporterOptionsReachesTheExporter(t *testing.T) {
	dir := t.TempDir()
	exp, err := New(WithDirectory(dir), WithExporterOptions(bridge.WithFormat(bridge.FormatOTLPJSON)))
	require.NoError(t, err)
	envelopetest.EmitOne(t, exp, "hello")
	lines := readLines(t, dir)
	require.Len(t, lines, 1)
	envelopetest.RequireOTLPBody(t, []byte(lines[0]), "hello")
}
