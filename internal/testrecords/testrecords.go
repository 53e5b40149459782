// Package testrecords holds the record shape that tests and benchmarks
// share: a message and ten attributes of the kinds services log most.
// Keeping one definition means the allocation tests check exactly what the
// benchmarks measure.
package testrecords

import "go.opentelemetry.io/otel/attribute"

// Message is the body of the shared record.
const Message = "request served"

// TenAttributes returns the shared record's attributes: strings, ints, a
// float and a bool, one of them (request_id) lifted into the envelope's
// context.
func TenAttributes() []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("http.method", "GET"),
		attribute.String("http.route", "/api/v1/orders/{id}"),
		attribute.Int("http.status_code", 200),
		attribute.Float64("duration_ms", 12.5),
		attribute.Bool("cache_hit", true),
		attribute.String("user_agent", "curl/8.4.0"),
		attribute.Int("bytes", 5120),
		attribute.String("request_id", "req-81f2"),
		attribute.String("region", "eu-west-1"),
		attribute.Int("attempt", 1),
	}
}
