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
	attrs := st.recordAttrs(r)
	var lifted [len(contextKeys)]int // index+1 into attrs, 0 when absent
	hasException := false
	for i, kv := range attrs {
		if j := contextKeyIndex(kv); j >= 0 {
			lifted[j] = i + 1
		} else if strings.HasPrefix(string(kv.Key), exceptionPrefix) {
			hasException = true
		}
	}

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
	dst = appendRFC3339Millis(dst, ts)
	dst = append(dst, `,"level":`...)
	dst = appendLevel(dst, r.Severity(), r.SeverityText())
	dst = append(dst, `,"message":`...)
	body := r.Body()
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
	dst = appendUUID(dst)
	dst = append(dst, `,"correlation_id":`...)
	if i := lifted[0]; i > 0 {
		dst = appendString(dst, attrs[i-1].Value.AsString())
	} else {
		dst = append(dst, "null"...)
	}
	for j := 1; j < len(contextKeys); j++ {
		if i := lifted[j]; i > 0 {
			dst = append(dst, ',')
			dst = appendKey(dst, string(contextKeys[j]))
			dst = appendString(dst, attrs[i-1].Value.AsString())
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
		dst = appendRFC3339Millis(dst, obs)
	}
	if n := r.DroppedAttributes(); n > 0 {
		dst = appendComma(dst)
		dst = append(dst, `"dropped_attributes":`...)
		dst = strconv.AppendInt(dst, int64(n), 10)
	}
	if hasException {
		dst = appendComma(dst)
		dst = append(dst, `"exception":{`...)
		for _, kv := range attrs {
			if name, ok := strings.CutPrefix(string(kv.Key), exceptionPrefix); ok {
				dst = appendComma(dst)
				dst = appendKey(dst, exceptionField(name))
				dst = appendJSONValue(dst, kv.Value, 0)
			}
		}
		dst = append(dst, '}')
	}

	// data: the caller's own fields.
	dst = append(dst, `},"data":{`...)
	bodyKey := false
	if t := body.Type(); t != attribute.STRING && t != attribute.EMPTY {
		dst = append(dst, `"body":`...)
		dst = appendJSONValue(dst, body, 0)
		bodyKey = true
	}
	for i, kv := range attrs {
		if isLifted(lifted[:], i) || strings.HasPrefix(string(kv.Key), exceptionPrefix) {
			continue
		}
		if bodyKey && kv.Key == "body" {
			// A structured body owns data.body; the attribute of that
			// name moves aside instead of being lost or duplicated.
			kv.Key = "body_attribute"
		}
		dst = appendMember(dst, kv)
	}
	return append(dst, "}}}"...)
}

func contextKeyIndex(kv attribute.KeyValue) int {
	if kv.Value.Type() != attribute.STRING {
		return -1
	}
	for j, k := range contextKeys {
		if kv.Key == k {
			return j
		}
	}
	return -1
}

func isLifted(lifted []int, i int) bool {
	for _, l := range lifted {
		if l == i+1 {
			return true
		}
	}
	return false
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
