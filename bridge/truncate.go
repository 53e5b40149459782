package bridge

import "github.com/fapilog/fapilog-otel/internal/encoding"

// DefaultMaxEntryBytes bounds one encoded entry, newline included: the
// Collector's file reading (otlpjsonfile, filelog) splits longer lines, and
// most log shippers cut or drop them. A longer entry is cut to fit
// (encoding.Encoder.Truncate) and marked with the keys below.
const DefaultMaxEntryBytes = encoding.MaxEntryBytes

// Attribute keys a truncated record carries, so the cut is visible where
// the line lands.
const (
	TruncatedKey     = encoding.TruncatedKey     // true
	OriginalBytesKey = encoding.OriginalBytesKey // the entry's size before the cut
)
