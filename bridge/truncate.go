package bridge

import (
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/internal/encoding"
)

// DefaultMaxEntryBytes bounds one encoded entry, newline included: the
// Collector's file reading (otlpjsonfile, filelog) splits longer lines, and
// most log shippers cut or drop them.
const DefaultMaxEntryBytes = 1 << 20

// Attribute keys a truncated record carries, so the cut is visible where
// the line lands.
const (
	TruncatedKey     = encoding.TruncatedKey     // true
	OriginalBytesKey = encoding.OriginalBytesKey // the entry's size before the cut
)

// truncate re-encodes r, which encoded to more than limit bytes, cut until
// the entry fits (encoding.Encoder.Truncate); r is not modified.
func truncate(enc *encoding.Encoder, dst []byte, r *sdklog.Record, original, limit int) []byte {
	_, out := enc.Truncate(dst, r, original, limit)
	return out
}
