// Package schemas ships the JSON Schema our envelope lines are valid
// against: fapilog's log envelope v1.1, the same lines Python fapilog
// writes. Validate a line with any JSON Schema (2020-12) validator, or use
// LogEnvelopeV1 from Go.
package schemas

import _ "embed"

// LogEnvelopeV1 is log_envelope_v1.json, fapilog's log envelope v1.1
// schema ($id https://fapilog.dev/schemas/log_envelope_v1.json).
//
//go:embed log_envelope_v1.json
var LogEnvelopeV1 []byte

// LogEnvelopeV1SHA256 is the SHA-256 of the published schema this copy
// was taken from. The package's tests check the copy against it, so an
// accidental edit fails in every clone.
const LogEnvelopeV1SHA256 = "4aa98acac0528d10eeb078dc7410591e64ac5a4b981636ecd747a3aad775047b"
