package encoding

import (
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// MaxEntryBytes is the largest entry our exporters write, and the size a
// record that a receiver keeps refusing is cut to: the Collector's file
// reading (otlpjsonfile, filelog) splits longer lines, most log shippers cut
// or drop them, and it is the smallest request body limit in common use
// (nginx's default).
const MaxEntryBytes = 1 << 20

// Attribute keys a truncated record carries, so the cut is visible where
// it lands.
const (
	TruncatedKey     = "fapilog.truncated"      // true
	OriginalBytesKey = "fapilog.original_bytes" // the record's encoded size before the cut
)

// Truncate returns a copy of r, which encoded to original bytes, more than
// limit, cut until it encodes to at most limit bytes, and that encoding
// appended to dst[:0]. It cuts string values (body included) ever shorter
// and, if that is not enough, leaves attributes out from the last. The
// copy carries TruncatedKey and OriginalBytesKey. r is not modified.
func (e *Encoder) Truncate(dst []byte, r *sdklog.Record, original, limit int) (sdklog.Record, []byte) {
	marks := []attribute.KeyValue{attribute.Bool(TruncatedKey, true), attribute.Int(OriginalBytesKey, original)}
	var attrs []attribute.KeyValue
	r.WalkAttributes(func(kv attribute.KeyValue) bool { attrs = append(attrs, kv); return true })
	body := r.Body()
	try := func(maxValue, keep int) (sdklog.Record, []byte) {
		c := r.Clone()
		c.SetBody(cutValue(body, maxValue))
		cut := make([]attribute.KeyValue, 0, keep+len(marks))
		for _, kv := range attrs[:keep] {
			cut = append(cut, attribute.KeyValue{Key: kv.Key, Value: cutValue(kv.Value, maxValue)})
		}
		c.SetAttributes(append(cut, marks...)...)
		return c, e.Append(dst[:0], &c)
	}
	for maxValue := limit / 2; maxValue >= 16; maxValue /= 2 {
		if c, out := try(maxValue, len(attrs)); len(out) <= limit {
			return c, out
		}
	}
	// Leave out attributes from the last: the most that still fits, by
	// binary search (fewer attributes never encode longer).
	lo, hi := 0, len(attrs)-1 // lo fits (checked below), hi+1 does not
	if _, out := try(16, 0); len(out) > limit {
		return try(0, 0) // body and marks alone: fits any sane limit
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if _, out := try(16, mid); len(out) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return try(16, lo)
}

// cutMark ends a string that was cut.
const cutMark = "…[truncated]"

// cutValue shortens strings and byte slices to about max bytes (on a UTF-8
// boundary) and nested values the same way; other values are kept.
func cutValue(v attribute.Value, max int) attribute.Value {
	switch v.Type() {
	case attribute.STRING:
		s := v.AsString()
		if len(s) <= max {
			return v
		}
		n := max
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		return attribute.StringValue(s[:n] + cutMark)
	case attribute.BYTESLICE:
		if b := v.AsByteSlice(); len(b) > max {
			return attribute.ByteSliceValue(b[:max])
		}
	case attribute.STRINGSLICE:
		ss := v.AsStringSlice()
		out := make([]attribute.Value, 0, len(ss))
		for _, s := range ss {
			out = append(out, cutValue(attribute.StringValue(s), max))
		}
		return attribute.SliceValue(out...)
	case attribute.SLICE:
		src := v.AsSlice()
		out := make([]attribute.Value, len(src))
		for i, e := range src {
			out[i] = cutValue(e, max)
		}
		return attribute.SliceValue(out...)
	case attribute.MAP:
		src := v.AsMap()
		out := make([]attribute.KeyValue, len(src))
		for i, kv := range src {
			out[i] = attribute.KeyValue{Key: kv.Key, Value: cutValue(kv.Value, max)}
		}
		return attribute.MapValue(out...)
	}
	return v
}
