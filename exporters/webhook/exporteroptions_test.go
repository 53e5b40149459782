package webhook

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/internal/envelopetest"
)

func TestWithExporterOptionsReachesTheExporter(t *testing.T) {
	h := newHook(t)
	exp, err := New(WithEndpoint(h.srv.URL), WithSecrets(mustSecret(t, secretA)), fast(delivery.Options{}),
		WithExporterOptions(bridge.WithFormat(bridge.FormatOTLPJSON)))
	require.NoError(t, err)
	envelopetest.EmitOne(t, exp, "hello")
	got := h.accepted()
	require.Len(t, got, 1)
	envelopetest.RequireOTLPBody(t, got[0], "hello")
}
