package processor

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// Dedup removes duplicate attribute keys from records, at the top level
// and inside map values at any depth, with the rule the SDK applies by
// default: the last value wins, at the position of the first.
//
// It is half of the fast setup. By default the LoggerProvider
// de-duplicates every record's attributes through a map on every emit,
// a large part of the cost of slog → otelslog → provider for a record
// with ten attributes (what the fast setup saves is measured in
// docs/benchmarks.md). With sdklog.WithAllowKeyDuplication() the provider
// skips that, and Dedup, registered first, does the same job far more
// cheaply: records with unique keys (nearly all of them) are only read,
// with no allocation unless they carry map values (reading one costs the
// copy attribute.Value.AsMap makes), and a record is rewritten only when it
// has a duplicate. Every processor after it, otlploghttp's included, then sees
// unique keys:
//
//	provider := sdklog.NewLoggerProvider(
//		sdklog.WithAllowKeyDuplication(),
//		sdklog.WithProcessor(processor.NewDedup()),
//		sdklog.WithProcessor(processor.NewBatch(exp)),
//	)
//
// Output is byte for byte the same as with the SDK's default, records with
// duplicate keys included, with one exception: a record with duplicate keys
// and more attributes than the provider's count limit (128 by default).
// The SDK de-duplicates and then applies the limit; with key duplication
// allowed it applies the limit before Dedup sees the record, so duplicates
// take places that later attributes would have kept, and those are
// dropped. The record's dropped-attributes count then reads 0: rewriting
// attributes resets it, and the SDK gives a processor no way to set it.
//
// Dedup is safe for concurrent use and keeps no state.
type Dedup struct{}

var _ sdklog.Processor = Dedup{}

// NewDedup returns a Dedup.
func NewDedup() Dedup { return Dedup{} }

// OnEmit de-duplicates record's attribute keys in place.
func (Dedup) OnEmit(_ context.Context, record *sdklog.Record) error {
	if !needsDedup(record) {
		return nil
	}
	kvs := make([]attribute.KeyValue, 0, record.AttributesLen())
	record.WalkAttributes(func(kv attribute.KeyValue) bool {
		kvs = append(kvs, kv)
		return true
	})
	kvs = dedupKeyValues(kvs)
	record.SetAttributes(kvs...)
	return nil
}

// needsDedup reports whether any key repeats, at the top level or in a
// nested map, without allocating for records of up to smallSet attributes.
func needsDedup(record *sdklog.Record) bool {
	dup := false
	if record.AttributesLen() <= smallSet {
		var small [smallSet]attribute.Key
		keys := small[:0]
		record.WalkAttributes(func(kv attribute.KeyValue) bool {
			for _, k := range keys {
				if k == kv.Key {
					dup = true
					return false
				}
			}
			if valueNeedsDedup(kv.Value) {
				dup = true
				return false
			}
			keys = append(keys, kv.Key)
			return true
		})
		return dup
	}
	seen := make(map[attribute.Key]struct{}, record.AttributesLen())
	record.WalkAttributes(func(kv attribute.KeyValue) bool {
		if _, ok := seen[kv.Key]; ok || valueNeedsDedup(kv.Value) {
			dup = true
			return false
		}
		seen[kv.Key] = struct{}{}
		return true
	})
	return dup
}

// smallSet is where a linear scan of keys stops being cheaper than a map.
const smallSet = 32

func valueNeedsDedup(v attribute.Value) bool {
	switch v.Type() {
	case attribute.MAP:
		// Map values are sorted by key: a duplicate is next to its twin.
		m := v.AsMap()
		for i, kv := range m {
			if i > 0 && m[i-1].Key == kv.Key {
				return true
			}
			if valueNeedsDedup(kv.Value) {
				return true
			}
		}
	case attribute.SLICE:
		for _, e := range v.AsSlice() {
			if valueNeedsDedup(e) {
				return true
			}
		}
	}
	return false
}

// dedupKeyValues keeps the first position of each key with its last value,
// and de-duplicates nested maps.
func dedupKeyValues(kvs []attribute.KeyValue) []attribute.KeyValue {
	index := make(map[attribute.Key]int, len(kvs))
	out := make([]attribute.KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		kv.Value = dedupValue(kv.Value)
		if i, ok := index[kv.Key]; ok {
			out[i] = kv
			continue
		}
		index[kv.Key] = len(out)
		out = append(out, kv)
	}
	return out
}

func dedupValue(v attribute.Value) attribute.Value {
	if !valueNeedsDedup(v) {
		return v
	}
	switch v.Type() {
	case attribute.MAP:
		return attribute.MapValue(dedupKeyValues(v.AsMap())...)
	case attribute.SLICE:
		src := v.AsSlice()
		out := make([]attribute.Value, len(src))
		for i, e := range src {
			out[i] = dedupValue(e)
		}
		return attribute.SliceValue(out...)
	}
	return v
}

// Enabled reports true: Dedup exports nothing itself and filters nothing.
func (Dedup) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

// ForceFlush does nothing: Dedup holds nothing.
func (Dedup) ForceFlush(context.Context) error { return nil }

// Shutdown does nothing: Dedup holds nothing.
func (Dedup) Shutdown(context.Context) error { return nil }
