package sinkopts

import (
	"strings"
	"testing"
)

func TestRefuseExporterOptions(t *testing.T) {
	if err := RefuseExporterOptions("x", 0); err != nil {
		t.Fatalf("no exporter option: %v", err)
	}
	err := RefuseExporterOptions("stdoutjson", 1)
	if err == nil || !strings.Contains(err.Error(), "stdoutjson: NewSink: WithFormat") {
		t.Fatalf("got %v", err)
	}
}
