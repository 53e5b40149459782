// Package encoding turns sdklog records into single-line JSON, append-style,
// without reflection and without encoding/json.
//
// Two formats are supported: the fapilog log envelope v1.1 (the default of
// every built-in sink) and the OTLP/JSON encoding of one
// ExportLogsServiceRequest per line. Both share the primitives in json.go, so
// an escaping or number-formatting fix lands in both at once.
//
// An Encoder is safe for concurrent use. Its per-call scratch state is pooled
// and the encoded resource is cached, so encoding a record whose attributes are
// scalars allocates nothing once the pools are warm.
package encoding
