package processor

import (
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/internal/encoding"
)

// A record too large for the receiver (a 413 from a proxy's body limit,
// nginx's 1 MiB by default; a gRPC message limit) fails however long it
// waits, and the error does not say so: otlploghttp returns a plain error.
// Halving isolates it, and it would then hold back every record behind it
// for the whole retry budget (5 minutes by default). So a lone record that
// has failed giveUpAttempts times and encodes (as OTLP/JSON) to more than
// WithMaxRecordBytes (1 MiB by default) is cut to fit, as our own exporters
// cut an entry over that size: its strings shortened, marked with
// fapilog.truncated and fapilog.original_bytes, and it is tried again at
// once. A record under the limit, or one already cut, takes the usual
// path. The price: a record over the limit at the head of the queue during
// an outage is cut after its third attempt, although it would have gone
// whole once the receiver was back.

// cutOversized cuts r, a lone record that keeps failing, if it encodes to
// more than the limit and was not cut before, and reports whether it did.
// The cut is the best Truncate can do: a limit below what the record's
// resource and scope alone encode to leaves the cut record over it, and
// the receiver may take it all the same. A record cut once takes the usual
// retry path: cut again at every failure, it would be retried at once, for
// ever. Only the worker calls it (through amend): the encoder is its own.
func (b *Batch) cutOversized(r *sdklog.Record) bool {
	if b.sizer == nil {
		b.sizer = encoding.New(encoding.OTLPJSON)
	}
	line := b.sizer.Append(nil, r)
	if len(line) <= b.cfg.maxRecord || wasCut(r) {
		return false
	}
	*r, _ = b.sizer.Truncate(line, r, len(line), b.cfg.maxRecord)
	return true
}

// wasCut reports whether r carries the mark of a cut.
func wasCut(r *sdklog.Record) (cut bool) {
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		cut = kv.Key == encoding.TruncatedKey && kv.Value.Type() == attribute.BOOL && kv.Value.AsBool()
		return !cut
	})
	return cut
}
