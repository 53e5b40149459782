package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
)

func TestCopyIsThePublishedSchema(t *testing.T) {
	sum := sha256.Sum256(LogEnvelopeV1)
	if got := hex.EncodeToString(sum[:]); got != LogEnvelopeV1SHA256 {
		t.Fatalf("schemas/log_envelope_v1.json has SHA-256 %s, want the published %s: restore it, or update both on purpose", got, LogEnvelopeV1SHA256)
	}
	var doc struct {
		ID    string `json:"$id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal(LogEnvelopeV1, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ID != "https://fapilog.dev/schemas/log_envelope_v1.json" || doc.Title != "Fapilog Log Envelope v1.1" {
		t.Fatalf("unexpected schema %q %q", doc.ID, doc.Title)
	}
}

func ExampleLogEnvelopeV1() {
	var doc struct {
		Title    string   `json:"title"`
		Required []string `json:"required"`
	}
	_ = json.Unmarshal(LogEnvelopeV1, &doc)
	fmt.Println(doc.Title, doc.Required)
	// Output: Fapilog Log Envelope v1.1 [schema_version log]
}
