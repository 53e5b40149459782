package envelopetest

import (
	"testing"
)

func TestValidateRejects(t *testing.T) {
	for _, bad := range []string{
		`not json`,
		`{"schema_version":"1.0","log":{}}`,
		`{"schema_version":"1.1","log":{"timestamp":"2026-01-01T00:00:00Z","level":"INFO","message":"m","context":{"message_id":"x"},"diagnostics":{},"data":{}}}`,
	} {
		if Validate([]byte(bad)) == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	good := `{"schema_version":"1.1","log":{"timestamp":"2026-01-01T00:00:00.000Z","level":"INFO","message":"m","context":{"message_id":"x","correlation_id":null},"diagnostics":{},"data":{}}}`
	if err := Validate([]byte(good)); err != nil {
		t.Fatal(err)
	}
}
