package processor

import (
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/internal/encoding"
)

// A record too large for the receiver (a 413 from a proxy's body limit,
// nginx's 1 MiB by default; a gRPC message limit) fails however long it
// waits, and the error does not say so: otlploghttp returns a plain error.
// Halving isolates it, and it would then hold back every record behind it
// for the whole retry budget (5 minutes by default). So a lone record that
// has failed giveUpAttempts times and encodes (as OTLP/JSON) to more than
// maxRecordBytes is cut to fit, as our own exporters cut an entry over
// that size (bridge.DefaultMaxEntryBytes): its strings shortened, marked
// with fapilog.truncated and fapilog.original_bytes, and it is tried again
// at once. A record under the limit, or one already cut, takes the usual
// path. The price: a record over 1 MiB at the head of the queue during an
// outage is cut after its third attempt, although it would have gone
// whole once the receiver was back.

// maxRecordBytes is the size a lone failing record is cut to: the size
// our exporters cut entries to, and the smallest body limit in common use.
const maxRecordBytes = 1 << 20

// cutOversized cuts r, a lone record that keeps failing, if it encodes to
// more than maxRecordBytes, and returns its size before the cut; 0 when it
// was not cut. Only the worker calls it (through amend): the encoder is
// its own.
func (b *Batch) cutOversized(r *sdklog.Record) (original int) {
	if b.sizer == nil {
		b.sizer = encoding.New(encoding.OTLPJSON)
	}
	line := b.sizer.Append(nil, r)
	if len(line) <= maxRecordBytes {
		return 0
	}
	*r, _ = b.sizer.Truncate(line, r, len(line), maxRecordBytes)
	return len(line)
}
