package sinkopts_test

import (
	"strings"
	"testing"

	"github.com/fapilog/fapilog-otel/bridge"
	httpexporter "github.com/fapilog/fapilog-otel/exporters/http"
	"github.com/fapilog/fapilog-otel/exporters/rotatingfile"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/exporters/webhook"
)

// Every built-in NewSink refuses an exporter option instead of ignoring it.
func TestNewSinkRefusesExporterOptions(t *testing.T) {
	dir := t.TempDir()
	secret := webhook.RawSecret([]byte("k"))
	cases := map[string]func() error{
		"stdoutjson": func() error {
			_, err := stdoutjson.NewSink(stdoutjson.WithExporterOptions(bridge.WithFormat(bridge.FormatOTLPJSON)))
			return err
		},
		"rotatingfile": func() error {
			_, err := rotatingfile.NewSink(rotatingfile.WithDirectory(dir), rotatingfile.WithExporterOptions(bridge.WithName("x")))
			return err
		},
		"httpexporter": func() error {
			_, err := httpexporter.NewSink(httpexporter.WithEndpoint("http://127.0.0.1:1"), httpexporter.WithExporterOptions(bridge.WithFormat(bridge.FormatOTLPJSON)))
			return err
		},
		"webhook": func() error {
			_, err := webhook.NewSink(webhook.WithEndpoint("http://127.0.0.1:1"), webhook.WithSecrets(secret), webhook.WithExporterOptions(bridge.WithFormat(bridge.FormatOTLPJSON)))
			return err
		},
	}
	for name, newSink := range cases {
		err := newSink()
		if err == nil || !strings.Contains(err.Error(), name+": NewSink: WithFormat") {
			t.Errorf("%s: NewSink with an exporter option = %v, want a refusal", name, err)
		}
	}
}
