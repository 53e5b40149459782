package httpexporter

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/internal/envelopetest"
)

func TestWithExporterOptionsReachesTheExporter(t *testing.T) {
	r := newReceiver(t)
	exp, err := New(WithEndpoint(r.srv.URL), fast(delivery.Options{}),
		WithExporterOptions(bridge.WithFormat(bridge.FormatOTLPJSON)))
	require.NoError(t, err)
	envelopetest.EmitOne(t, exp, "hello")
	got := r.entries()
	require.Len(t, got, 1)
	envelopetest.RequireOTLPBody(t, got[0], "hello")
}
