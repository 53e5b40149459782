package processor

import (
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// OTLP requires strings to be UTF-8, and the protobuf encoding behind
// otlploghttp and otlploggrpc refuses a request holding one that is not,
// failing the whole batch with a plain error (otlploghttp) or an Internal
// status (otlploggrpc). Such strings are common: raw bytes logged as a
// string, a peer's error text, a byte-length cut through a character. Left
// as they are, the record would fail alone until the retry budget gave it
// up, holding back every record behind it meanwhile.
//
// So after a failed Export, Batch repairs the strings of the records it
// tried: each byte that is not part of a UTF-8 character becomes U+FFFD,
// as encoding/json and this module's own encoder write it (our exporters'
// lines read back the same), and the records are tried again at once. The
// check runs only after a failure, so an export that succeeds costs
// nothing. A record that needed no repair is left as it is, and an
// exporter that failed for another reason fails again and is retried as
// usual. The instrumentation scope and the resource are the provider's,
// shared by every record, and are not repaired.

// repairUTF8 repairs the records in place and returns how many it changed.
func repairUTF8(recs []sdklog.Record) int {
	n := 0
	for i := range recs {
		if repairRecord(&recs[i]) {
			n++
		}
	}
	return n
}

// repairRecord repairs r's body, attributes, event name and severity text.
func repairRecord(r *sdklog.Record) bool {
	changed := false
	if v, ok := repairValue(r.Body()); ok {
		r.SetBody(v)
		changed = true
	}
	if s, ok := repairString(r.EventName()); ok {
		r.SetEventName(s)
		changed = true
	}
	if s, ok := repairString(r.SeverityText()); ok {
		r.SetSeverityText(s)
		changed = true
	}
	needs := false
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		_, needs = repairKV(kv)
		return !needs
	})
	if needs {
		// SetAttributes applies the record's limits again, which the
		// attributes already meet; it also sets the count of attributes
		// the limits dropped to zero, and the SDK has no way to set it
		// back: that count is lost on a repaired record.
		attrs := make([]attribute.KeyValue, 0, r.AttributesLen())
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			kv, _ = repairKV(kv)
			attrs = append(attrs, kv)
			return true
		})
		r.SetAttributes(attrs...)
		changed = true
	}
	return changed
}

// repairKV returns kv repaired, and whether that changed it; unchanged, kv
// itself.
func repairKV(kv attribute.KeyValue) (attribute.KeyValue, bool) {
	k, kc := repairString(string(kv.Key))
	v, vc := repairValue(kv.Value)
	return attribute.KeyValue{Key: attribute.Key(k), Value: v}, kc || vc
}

// repairValue returns v repaired, and whether that changed it.
func repairValue(v attribute.Value) (attribute.Value, bool) {
	switch v.Type() {
	case attribute.STRING:
		if s, ok := repairString(v.AsString()); ok {
			return attribute.StringValue(s), true
		}
	case attribute.STRINGSLICE:
		if out, ok := repairEach(v.AsStringSlice(), repairString); ok {
			return attribute.StringSliceValue(out), true
		}
	case attribute.SLICE:
		if out, ok := repairEach(v.AsSlice(), repairValue); ok {
			return attribute.SliceValue(out...), true
		}
	case attribute.MAP:
		if out, ok := repairEach(v.AsMap(), repairKV); ok {
			return attribute.MapValue(out...), true
		}
	}
	return v, false
}

// repairEach returns in with every element repaired by fix, and whether
// that changed any; unchanged, in itself.
func repairEach[T any](in []T, fix func(T) (T, bool)) ([]T, bool) {
	for i, e := range in {
		if _, ok := fix(e); ok {
			out := make([]T, len(in))
			copy(out, in[:i])
			for j := i; j < len(in); j++ {
				out[j], _ = fix(in[j])
			}
			return out, true
		}
	}
	return in, false
}

// repairString returns s with each byte that does not belong to a UTF-8
// character replaced by U+FFFD, and whether there was one. Unlike
// strings.ToValidUTF8, which writes one U+FFFD per run of such bytes, it
// writes one per byte, so the result is what our encoder and
// encoding/json write for s.
func repairString(s string) (string, bool) {
	if utf8.ValidString(s) {
		return s, false
	}
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return string(out), true
}
