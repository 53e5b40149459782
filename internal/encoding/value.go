package encoding

import (
	"strconv"

	"go.opentelemetry.io/otel/attribute"
)

// appendJSONValue writes v as plain JSON, the envelope's representation:
// maps become objects, slices arrays, bytes base64 strings.
func appendJSONValue(dst []byte, v attribute.Value, depth int) []byte {
	switch v.Type() {
	case attribute.BOOL:
		return strconv.AppendBool(dst, v.AsBool())
	case attribute.INT64:
		return appendInt(dst, v.AsInt64())
	case attribute.FLOAT64:
		return appendFloat(dst, v.AsFloat64())
	case attribute.STRING:
		return appendString(dst, v.AsString())
	case attribute.BYTESLICE:
		return appendBase64(dst, v.AsByteSlice())
	case attribute.BOOLSLICE:
		return appendArray(dst, v.AsBoolSlice(), strconv.AppendBool)
	case attribute.INT64SLICE:
		return appendArray(dst, v.AsInt64Slice(), appendInt)
	case attribute.FLOAT64SLICE:
		return appendArray(dst, v.AsFloat64Slice(), appendFloat)
	case attribute.STRINGSLICE:
		return appendArray(dst, v.AsStringSlice(), appendString)
	case attribute.SLICE:
		if depth >= maxDepth {
			return appendString(dst, depthMarker)
		}
		dst = append(dst, '[')
		for i, e := range v.AsSlice() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONValue(dst, e, depth+1)
		}
		return append(dst, ']')
	case attribute.MAP:
		if depth >= maxDepth {
			return appendString(dst, depthMarker)
		}
		dst = append(dst, '{')
		kvs := v.AsMap()
		for i, kv := range kvs {
			// AsMap sorts by key, so repeats are adjacent: keep the last.
			if i+1 < len(kvs) && kvs[i+1].Key == kv.Key {
				continue
			}
			dst = appendComma(dst)
			dst = appendKey(dst, string(kv.Key))
			dst = appendJSONValue(dst, kv.Value, depth+1)
		}
		return append(dst, '}')
	default: // EMPTY and any kind added after this was written
		return append(dst, "null"...)
	}
}

// appendInt writes v in decimal. Most numbers in logs are small (status
// codes, counts, severities), and those are written from a table instead of
// strconv's general loop.
func appendInt(dst []byte, v int64) []byte {
	switch u := uint64(v); {
	case u < 10:
		return append(dst, byte('0'+u))
	case u < 100:
		p := digitPairs[u]
		return append(dst, p[0], p[1])
	case u < 1000:
		hi, lo := digitPairs[u/100], digitPairs[u%100]
		return append(dst, hi[1], lo[0], lo[1])
	case u < 10000:
		hi, lo := digitPairs[u/100], digitPairs[u%100]
		return append(dst, hi[0], hi[1], lo[0], lo[1])
	}
	return strconv.AppendInt(dst, v, 10)
}

func appendArray[T any](dst []byte, vs []T, appendOne func([]byte, T) []byte) []byte {
	dst = append(dst, '[')
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendOne(dst, v)
	}
	return append(dst, ']')
}

// appendAnyValue writes v as an OTLP/JSON AnyValue.
func appendAnyValue(dst []byte, v attribute.Value, depth int) []byte {
	switch v.Type() {
	case attribute.BOOL:
		dst = append(dst, `{"boolValue":`...)
		dst = strconv.AppendBool(dst, v.AsBool())
	case attribute.INT64:
		dst = append(dst, `{"intValue":"`...)
		dst = appendInt(dst, v.AsInt64())
		dst = append(dst, '"')
	case attribute.FLOAT64:
		dst = append(dst, `{"doubleValue":`...)
		dst = appendFloat(dst, v.AsFloat64())
	case attribute.STRING:
		dst = append(dst, `{"stringValue":`...)
		dst = appendString(dst, v.AsString())
	case attribute.BYTESLICE:
		dst = append(dst, `{"bytesValue":`...)
		dst = appendBase64(dst, v.AsByteSlice())
	case attribute.BOOLSLICE:
		return appendAnyArray(dst, v.AsBoolSlice(), attribute.BoolValue, depth)
	case attribute.INT64SLICE:
		return appendAnyArray(dst, v.AsInt64Slice(), attribute.Int64Value, depth)
	case attribute.FLOAT64SLICE:
		return appendAnyArray(dst, v.AsFloat64Slice(), attribute.Float64Value, depth)
	case attribute.STRINGSLICE:
		return appendAnyArray(dst, v.AsStringSlice(), attribute.StringValue, depth)
	case attribute.SLICE:
		if depth >= maxOTLPDepth {
			return appendAnyValue(dst, attribute.StringValue(depthMarker), depth)
		}
		return appendAnyArray(dst, v.AsSlice(), func(e attribute.Value) attribute.Value { return e }, depth)
	case attribute.MAP:
		if depth >= maxOTLPDepth {
			return appendAnyValue(dst, attribute.StringValue(depthMarker), depth)
		}
		dst = append(dst, `{"kvlistValue":{"values":`...)
		dst = appendKeyValues(dst, v.AsMap(), depth+1)
		dst = append(dst, '}')
	default: // EMPTY: an AnyValue with no value set
		return append(dst, "{}"...)
	}
	return append(dst, '}')
}

func appendAnyArray[T any](dst []byte, vs []T, wrap func(T) attribute.Value, depth int) []byte {
	dst = append(dst, `{"arrayValue":{"values":[`...)
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendAnyValue(dst, wrap(v), depth+1)
	}
	return append(dst, "]}}"...)
}

// appendKeyValues writes an OTLP/JSON array of KeyValue. OTLP requires
// unique keys; callers pass de-duplicated lists or sorted map entries, whose
// repeats are adjacent and of which the last is kept.
func appendKeyValues(dst []byte, kvs []attribute.KeyValue, depth int) []byte {
	dst = append(dst, '[')
	for i, kv := range kvs {
		if i+1 < len(kvs) && kvs[i+1].Key == kv.Key {
			continue
		}
		dst = appendComma(dst)
		dst = appendKeyValue(dst, kv, depth)
	}
	return append(dst, ']')
}

func appendKeyValue(dst []byte, kv attribute.KeyValue, depth int) []byte {
	dst = append(dst, `{"key":`...)
	dst = appendString(dst, string(kv.Key))
	dst = append(dst, `,"value":`...)
	dst = appendAnyValue(dst, kv.Value, depth)
	return append(dst, '}')
}
