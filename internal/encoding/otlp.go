package encoding

import (
	"strconv"

	"go.opentelemetry.io/otel/attribute"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

// appendOTLP writes r as an ExportLogsServiceRequest holding exactly r, in the
// OTLP/JSON encoding: lowerCamelCase names, 64-bit integers as strings, enums
// as numbers, and trace and span ids in hex (the OTLP JSON rule that differs
// from protojson's base64 for bytes).
func (e *Encoder) appendOTLP(dst []byte, r *sdklog.Record, st *state) []byte {
	res := e.resource(r.Resource())
	dst = append(dst, `{"resourceLogs":[{`...)
	dst = append(dst, res.otlp...)
	dst = append(dst, `,"scopeLogs":[`...)
	dst = appendScopeOpen(dst, r)
	dst = appendLogRecord(dst, r, st)
	dst = appendScopeClose(dst, r)
	dst = append(dst, ']')
	dst = append(dst, res.schema...)
	return append(dst, "}]}"...)
}

// appendScopeOpen opens a ScopeLogs for r's scope, up to the first record.
func appendScopeOpen(dst []byte, r *sdklog.Record) []byte {
	dst = append(dst, `{"scope":{`...)
	scope := r.InstrumentationScope()
	dst = appendStringMember(dst, `"name":`, scope.Name)
	dst = appendStringMember(dst, `"version":`, scope.Version)
	if scope.Attributes.Len() > 0 {
		dst = appendComma(dst)
		dst = append(dst, `"attributes":`...)
		dst = append(dst, '[')
		for iter := scope.Attributes.Iter(); iter.Next(); {
			dst = appendComma(dst)
			dst = appendKeyValue(dst, iter.Attribute(), 0)
		}
		dst = append(dst, ']')
	}
	return append(dst, `},"logRecords":[`...)
}

// appendScopeClose closes a ScopeLogs opened for r's scope.
func appendScopeClose(dst []byte, r *sdklog.Record) []byte {
	dst = append(dst, ']')
	if u := r.InstrumentationScope().SchemaURL; u != "" {
		dst = appendStringMember(dst, `"schemaUrl":`, u)
	}
	return append(dst, '}')
}

// appendLogRecord writes r as one LogRecord object.
func appendLogRecord(dst []byte, r *sdklog.Record, st *state) []byte {
	dst = append(dst, '{')
	if t := unixNano(r.Timestamp()); t != 0 {
		dst = append(dst, `"timeUnixNano":"`...)
		dst = strconv.AppendUint(dst, t, 10)
		dst = append(dst, '"')
	}
	if t := unixNano(r.ObservedTimestamp()); t != 0 {
		dst = appendComma(dst)
		dst = append(dst, `"observedTimeUnixNano":"`...)
		dst = strconv.AppendUint(dst, t, 10)
		dst = append(dst, '"')
	}
	if sev := r.Severity(); sev != 0 {
		dst = appendComma(dst)
		dst = append(dst, `"severityNumber":`...)
		dst = appendInt(dst, int64(int32(sev)))
	}
	dst = appendStringMember(dst, `"severityText":`, r.SeverityText())
	if body := r.Body(); body.Type() != attribute.EMPTY {
		dst = appendComma(dst)
		dst = append(dst, `"body":`...)
		dst = appendAnyValue(dst, body, 0)
	}
	if r.AttributesLen() > 0 {
		st.walkAttrs(r, emitOTLP)
		dst = appendComma(dst)
		dst = append(dst, `"attributes":[`...)
		dst = append(dst, st.data...)
		dst = append(dst, ']')
	}
	if n := r.DroppedAttributes(); n > 0 {
		dst = appendComma(dst)
		dst = append(dst, `"droppedAttributesCount":`...)
		dst = strconv.AppendUint(dst, uint64(uint32(n)), 10)
	}
	if f := r.TraceFlags(); f != 0 {
		dst = appendComma(dst)
		dst = append(dst, `"flags":`...)
		dst = strconv.AppendUint(dst, uint64(f), 10)
	}
	if tid := r.TraceID(); tid.IsValid() {
		dst = appendComma(dst)
		dst = append(dst, `"traceId":"`...)
		dst = appendHex(dst, tid[:])
		dst = append(dst, '"')
	}
	if sid := r.SpanID(); sid.IsValid() {
		dst = appendComma(dst)
		dst = append(dst, `"spanId":"`...)
		dst = appendHex(dst, sid[:])
		dst = append(dst, '"')
	}
	dst = appendStringMember(dst, `"eventName":`, r.EventName())
	return append(dst, '}')
}

// appendOTLPResource writes the "resource" member of a ResourceLogs.
func appendOTLPResource(dst []byte, res *resource.Resource) []byte {
	dst = append(dst, `"resource":{`...)
	if res != nil && res.Len() > 0 {
		dst = append(dst, `"attributes":`...)
		dst = appendKeyValues(dst, res.Attributes(), 0)
	}
	return append(dst, '}')
}
