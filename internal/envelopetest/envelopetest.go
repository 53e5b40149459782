// Package envelopetest checks encoded lines against fapilog's log envelope
// v1.1 JSON Schema, and OTLP/JSON lines for the record they carry. It is
// imported by tests only.
package envelopetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/fapilog/fapilog-otel/schemas"
)

// Schema is the envelope schema shipped in package schemas.
var Schema = schemas.LogEnvelopeV1

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("log_envelope_v1.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("log_envelope_v1.json")
})

// Validate returns an error unless line is one JSON document that satisfies
// the envelope schema.
func Validate(line []byte) error {
	sch, err := compiled()
	if err != nil {
		return fmt.Errorf("compile schema: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
	if err != nil {
		return fmt.Errorf("not JSON: %w: %q", err, line)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("schema: %w: %s", err, line)
	}
	return nil
}

// RequireValid fails t unless every line validates.
func RequireValid(t testing.TB, lines ...[]byte) {
	t.Helper()
	for _, l := range lines {
		if err := Validate(l); err != nil {
			t.Fatal(err)
		}
	}
}
