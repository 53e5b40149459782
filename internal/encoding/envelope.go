package encoding

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Attributes lifted out of data into the envelope's context object when they
// hold strings. correlation_id is first: it is written even when absent.
var contextKeys = [...]attribute.Key{"correlation_id", "request_id", "user_id", "tenant_id"}

const exceptionPrefix = "exception."

func (e *Encoder) appendEnvelope(dst []byte, r *sdklog.Record, st *state) []byte {
	body := r.Body()
	st.bodyTaken = body.Type() != attribute.STRING && body.Type() != attribute.EMPTY
	st.walkAttrs(r, emitData)

	ts := r.Timestamp()
	if ts.IsZero() {
		ts = r.ObservedTimestamp()
	}
	if ts.IsZero() {
		// Records built outside the SDK may carry neither time; the
		// schema requires one, and the time of encoding is the closest
		// truth left.
		ts = time.Now()
	}
	dst = append(dst, `{"schema_version":"1.1","log":{"timestamp":`...)
	dst = appendTimestamp(dst, ts, &st.seconds[0])
	dst = append(dst, `,"level":`...)
	dst = appendLevel(dst, r.Severity(), r.SeverityText())
	dst = append(dst, `,"message":`...)
	if body.Type() == attribute.STRING {
		dst = appendString(dst, body.AsString())
	} else {
		dst = append(dst, `""`...)
	}
	scope := r.InstrumentationScope()
	dst = append(dst, `,"logger":`...)
	dst = appendString(dst, scope.Name)

	// context: who and which request.
	dst = append(dst, `,"context":{"message_id":`...)
	if st.hasUID {
		dst = appendString(dst, st.uid)
	} else {
		dst = appendUUID(dst)
	}
	dst = append(dst, `,"correlation_id":`...)
	if st.hasLifted[0] {
		dst = appendString(dst, st.lifted[0])
	} else {
		dst = append(dst, "null"...)
	}
	for j := 1; j < len(contextKeys); j++ {
		if st.hasLifted[j] {
			dst = append(dst, ',')
			dst = appendKey(dst, string(contextKeys[j]))
			dst = appendString(dst, st.lifted[j])
		}
	}
	if tid := r.TraceID(); tid.IsValid() {
		dst = append(dst, `,"trace_id":"`...)
		dst = appendHex(dst, tid[:])
		dst = append(dst, '"')
		if sid := r.SpanID(); sid.IsValid() {
			dst = append(dst, `,"span_id":"`...)
			dst = appendHex(dst, sid[:])
			dst = append(dst, '"')
		}
		dst = append(dst, `,"trace_flags":"`...)
		dst = appendHex(dst, []byte{byte(r.TraceFlags())})
		dst = append(dst, '"')
	}

	// diagnostics: where, and everything else the record carries.
	dst = append(dst, `},"diagnostics":{`...)
	dst = append(dst, e.resource(r.Resource()).envelope...)
	if sev := r.Severity(); sev != 0 {
		dst = appendComma(dst)
		dst = append(dst, `"severity_number":`...)
		dst = strconv.AppendInt(dst, int64(sev), 10)
	}
	dst = appendStringMember(dst, "severity_text", r.SeverityText())
	dst = appendStringMember(dst, "event_name", r.EventName())
	dst = appendStringMember(dst, "scope_version", scope.Version)
	dst = appendStringMember(dst, "scope_schema_url", scope.SchemaURL)
	if scope.Attributes.Len() > 0 {
		dst = appendComma(dst)
		dst = append(dst, `"scope_attributes":{`...)
		for iter := scope.Attributes.Iter(); iter.Next(); {
			dst = appendMember(dst, iter.Attribute())
		}
		dst = append(dst, '}')
	}
	if obs := r.ObservedTimestamp(); !obs.IsZero() {
		dst = appendComma(dst)
		dst = append(dst, `"observed_timestamp":`...)
		dst = appendTimestamp(dst, obs, &st.seconds[1])
	}
	if n := r.DroppedAttributes(); n > 0 {
		dst = appendComma(dst)
		dst = append(dst, `"dropped_attributes":`...)
		dst = strconv.AppendInt(dst, int64(n), 10)
	}
	if st.hasException {
		dst = appendComma(dst)
		dst = append(dst, `"exception":{`...)
		dst = append(dst, st.exc...)
		dst = append(dst, '}')
	}

	// data: the caller's own fields.
	dst = append(dst, `},"data":{`...)
	if st.bodyTaken {
		dst = append(dst, `"body":`...)
		dst = appendJSONValue(dst, body, 0)
		if len(st.data) > 0 {
			dst = append(dst, ',')
		}
	}
	dst = append(dst, st.data...)
	return append(dst, "}}}"...)
}

// RecordUIDKey is OpenTelemetry's log.record.uid: when a record carries it
// as a string, the envelope uses it as message_id (and does not repeat it
// in data), so one record has one id in every sink.
const RecordUIDKey attribute.Key = "log.record.uid"

// isRecordUID reports whether kv is a string log.record.uid.
func isRecordUID(kv attribute.KeyValue) bool {
	return len(kv.Key) == len(RecordUIDKey) && kv.Key == RecordUIDKey && kv.Value.Type() == attribute.STRING
}

// contextKeyIndex returns kv's index in contextKeys if kv is lifted into the
// envelope's context (a string under one of those names), or -1.
func contextKeyIndex(kv attribute.KeyValue) int {
	if j := contextKeyName(kv.Key); j >= 0 && kv.Value.Type() == attribute.STRING {
		return j
	}
	return -1
}

// contextKeyName returns k's index in contextKeys, or -1. The names differ in
// length, so one length check rules out all but one comparison.
func contextKeyName(k attribute.Key) int {
	j := -1
	switch len(k) {
	case len(contextKeys[0]):
		j = 0
	case len(contextKeys[1]):
		j = 1
	case len(contextKeys[2]):
		j = 2
	case len(contextKeys[3]):
		j = 3
	}
	if j < 0 || k != contextKeys[j] {
		return -1
	}
	return j
}

// exceptionField maps OpenTelemetry's exception.* names onto fapilog's.
func exceptionField(name string) string {
	switch name {
	case "type":
		return "exception_type"
	case "message":
		return "exception_message"
	case "stacktrace":
		return "stack"
	default:
		return name
	}
}

func appendMember(dst []byte, kv attribute.KeyValue) []byte {
	dst = appendComma(dst)
	dst = appendKey(dst, string(kv.Key))
	return appendJSONValue(dst, kv.Value, 0)
}

func appendStringMember(dst []byte, key, val string) []byte {
	if val == "" {
		return dst
	}
	dst = appendComma(dst)
	dst = appendKey(dst, key)
	return appendString(dst, val)
}

var levelNames = [...]string{`"TRACE"`, `"DEBUG"`, `"INFO"`, `"WARNING"`, `"ERROR"`, `"CRITICAL"`}

// appendLevel maps an OpenTelemetry severity onto fapilog's level names: the
// number decides when set, else the text, else INFO.
func appendLevel(dst []byte, sev log.Severity, text string) []byte {
	if n := int(sev); n > 0 {
		return append(dst, levelNames[min((n-1)/4, len(levelNames)-1)]...)
	}
	switch {
	case text == "":
		return append(dst, levelNames[2]...)
	case strings.EqualFold(text, "warn"):
		return append(dst, levelNames[3]...)
	case strings.EqualFold(text, "fatal"):
		return append(dst, levelNames[5]...)
	}
	return appendUpperString(dst, text)
}

// appendUUID writes a random version 4 UUID. math/rand/v2's global source is
// ChaCha8-based, lock-free and allocation-free; message ids need uniqueness,
// not secrecy.
func appendUUID(dst []byte) []byte {
	hi := rand.Uint64()&^0xF000 | 0x4000
	lo := rand.Uint64()&^(0xC0<<56) | 0x80<<56
	var b [36]byte
	putHex(b[0:8], hi>>32, 8)
	b[8] = '-'
	putHex(b[9:13], hi>>16, 4)
	b[13] = '-'
	putHex(b[14:18], hi, 4)
	b[18] = '-'
	putHex(b[19:23], lo>>48, 4)
	b[23] = '-'
	putHex(b[24:36], lo, 12)
	dst = append(dst, '"')
	dst = append(dst, b[:]...)
	return append(dst, '"')
}

// putHex writes the low n nibbles of v into b, most significant first.
func putHex(b []byte, v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		b[i] = hexDigits[v&0xF]
		v >>= 4
	}
}

func appendHex(dst []byte, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xF])
	}
	return dst
}

// Resource attributes lifted into named diagnostics members.
const (
	resService = "service.name"
	resEnv     = "deployment.environment.name"
	resEnvOld  = "deployment.environment"
	resHost    = "host.name"
	resPID     = "process.pid"
)

// appendEnvelopeResource writes the diagnostics members derived from res:
// service, env, host and pid where the resource has them with the expected
// types, and every other resource attribute under "resource".
func appendEnvelopeResource(dst []byte, res *resource.Resource) []byte {
	if res == nil {
		return dst
	}
	attrs := res.Attributes()
	// The current semantic-convention name wins over the deprecated one.
	var envKey attribute.Key
	for _, k := range []attribute.Key{resEnv, resEnvOld} {
		if v, ok := res.Set().Value(k); ok && v.Type() == attribute.STRING {
			envKey = k
			break
		}
	}
	lifted := func(kv attribute.KeyValue) bool {
		switch kv.Key {
		case resService, resHost:
			return kv.Value.Type() == attribute.STRING
		case resPID:
			return kv.Value.Type() == attribute.INT64
		}
		return kv.Key == envKey
	}
	for _, kv := range attrs {
		if !lifted(kv) {
			continue
		}
		switch kv.Key {
		case resService:
			dst = appendStringMember(dst, "service", kv.Value.AsString())
		case resHost:
			dst = appendStringMember(dst, "host", kv.Value.AsString())
		case resPID:
			dst = appendComma(dst)
			dst = append(dst, `"pid":`...)
			dst = strconv.AppendInt(dst, kv.Value.AsInt64(), 10)
		}
	}
	if envKey != "" {
		env, _ := res.Set().Value(envKey)
		dst = appendStringMember(dst, "env", env.AsString())
	}
	rest := false
	for _, kv := range attrs {
		if lifted(kv) {
			continue
		}
		if !rest {
			dst = appendComma(dst)
			dst = append(dst, `"resource":{`...)
			rest = true
		}
		dst = appendMember(dst, kv)
	}
	if rest {
		dst = append(dst, '}')
	}
	if url := res.SchemaURL(); url != "" {
		dst = appendStringMember(dst, "resource_schema_url", url)
	}
	return dst
}
