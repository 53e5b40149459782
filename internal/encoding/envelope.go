package encoding

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Attributes lifted out of data into the envelope's context object when they
// hold strings. correlation_id is first: it is written even when absent.
var contextKeys = [...]attribute.Key{keyCorrelationID, keyRequestID, keyUserID, keyTenantID}

// The context keys' names as constants, so that switches on their lengths
// compile to jump tables.
const (
	keyCorrelationID = "correlation_id"
	keyRequestID     = "request_id"
	keyUserID        = "user_id"
	keyTenantID      = "tenant_id"
)

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
	if st.hasLifted[0] {
		dst = append(dst, `,"correlation_id":`...)
		dst = appendString(dst, st.lifted[0])
	} else {
		dst = append(dst, `,"correlation_id":null`...)
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
		if sid := r.SpanID(); sid.IsValid() {
			dst = append(dst, `","span_id":"`...)
			dst = appendHex(dst, sid[:])
		}
		dst = append(dst, `","trace_flags":"`...)
		p := hexPairs[r.TraceFlags()]
		dst = append(dst, p[0], p[1], '"')
	}

	// diagnostics: where, and everything else the record carries.
	dst = append(dst, `},"diagnostics":{`...)
	dst = append(dst, e.resource(r.Resource()).envelope...)
	if sev := r.Severity(); sev != 0 {
		dst = appendComma(dst)
		dst = append(dst, `"severity_number":`...)
		dst = appendInt(dst, int64(sev))
	}
	dst = appendStringMember(dst, `"severity_text":`, r.SeverityText())
	dst = appendStringMember(dst, `"event_name":`, r.EventName())
	dst = appendStringMember(dst, `"scope_version":`, scope.Version)
	dst = appendStringMember(dst, `"scope_schema_url":`, scope.SchemaURL)
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
		dst = appendInt(dst, int64(n))
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

// Key classes of the envelope: what the walk does with an attribute.
const (
	keyData      = iota // a member of data
	keyUID              // the record's id (message_id) when its value is a string
	keyContext          // lifted into context when its value is a string
	keyException        // a member of diagnostics.exception
	keyBody             // "body": moves to body_attribute when a structured body owns data.body
)

// classify returns what the envelope does with kv, and for keyContext the
// index in contextKeys.
func classify(kv attribute.KeyValue) (class, j int) {
	class, j = classifyKey(kv.Key)
	return placed(class, j, kv.Value)
}

// placed applies the rule that only a string value is lifted into context
// or becomes the message id; any other value stays in data.
func placed(class, j int, v attribute.Value) (int, int) {
	if (class == keyUID || class == keyContext) && v.Type() != attribute.STRING {
		return keyData, 0
	}
	return class, j
}

// classifyKey is classify by the key's name alone, in one switch on its
// length: most keys match no special name, and that is decided by the
// length alone or one compare.
func classifyKey(k attribute.Key) (class, j int) {
	switch len(k) {
	case len(keyCorrelationID): // also len(RecordUIDKey) and len("exception.type")
		switch k {
		case keyCorrelationID:
			return keyContext, 0
		case RecordUIDKey:
			return keyUID, 0
		}
		return classifyException(k)
	case len(keyRequestID): // also len(exceptionPrefix)
		if k == keyRequestID {
			return keyContext, 1
		}
		return classifyException(k)
	case len(keyUserID):
		if k == keyUserID {
			return keyContext, 2
		}
	case len(keyTenantID):
		if k == keyTenantID {
			return keyContext, 3
		}
	case len("body"):
		if k == "body" {
			return keyBody, 0
		}
	default:
		return classifyException(k)
	}
	return keyData, 0
}

func classifyException(k attribute.Key) (class, j int) {
	if len(k) >= len(exceptionPrefix) && k[0] == 'e' && strings.HasPrefix(string(k), exceptionPrefix) {
		return keyException, 0
	}
	return keyData, 0
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

// appendStringMember writes a member whose key is a constant of this
// package, already written out as `"name":`, unless val is empty.
func appendStringMember(dst []byte, key, val string) []byte {
	if val == "" {
		return dst
	}
	dst = appendComma(dst)
	dst = append(dst, key...)
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
	// 8-4-4-4-12 hex digits: the groups are cut out of four 8-digit words.
	var b [38]byte
	b[0], b[9], b[14], b[19], b[24], b[37] = '"', '-', '-', '-', '-', '"'
	be := binary.BigEndian
	be.PutUint64(b[1:], hex8(uint32(hi>>32)))
	w := hex8(uint32(hi))
	be.PutUint32(b[10:], uint32(w>>32))
	be.PutUint32(b[15:], uint32(w))
	w = hex8(uint32(lo >> 32))
	be.PutUint32(b[20:], uint32(w>>32))
	be.PutUint32(b[25:], uint32(w))
	be.PutUint64(b[29:], hex8(uint32(lo)))
	return append(dst, b[:]...)
}

// hex8 returns the eight lower-case hex digits of v as the bytes of a word,
// the first digit in the most significant byte, computed on all eight at
// once: the nibbles are spread one per byte, then each becomes '0'+d, plus
// 'a'-'0'-10 more where d > 9 (where d+6 carries into bit 4).
func hex8(v uint32) uint64 {
	x := uint64(v)
	x = (x | x<<16) & 0x0000FFFF0000FFFF
	x = (x | x<<8) & 0x00FF00FF00FF00FF
	x = (x | x<<4) & 0x0F0F0F0F0F0F0F0F
	// Byte k of x now holds nibble k of v, so a big-endian store of the
	// word puts the most significant digit first.
	letters := (x + 0x0606060606060606) >> 4 & 0x0101010101010101
	return x + 0x3030303030303030 + letters*('a'-'0'-10)
}

// hexPairs holds the two lower-case hex digits of every byte: one load
// per byte instead of two shifts and two lookups.
var hexPairs = func() (t [256][2]byte) {
	for i := range t {
		t[i] = [2]byte{hexDigits[i>>4], hexDigits[i&0xF]}
	}
	return t
}()

// appendHex writes b in lower-case hex. (hex8 does not pay here: for the
// 8- and 16-byte ids, appending its words costs what it saves.)
func appendHex(dst []byte, b []byte) []byte {
	for _, c := range b {
		p := hexPairs[c]
		dst = append(dst, p[0], p[1])
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
			dst = appendStringMember(dst, `"service":`, kv.Value.AsString())
		case resHost:
			dst = appendStringMember(dst, `"host":`, kv.Value.AsString())
		case resPID:
			dst = appendComma(dst)
			dst = append(dst, `"pid":`...)
			dst = appendInt(dst, kv.Value.AsInt64())
		}
	}
	if envKey != "" {
		env, _ := res.Set().Value(envKey)
		dst = appendStringMember(dst, `"env":`, env.AsString())
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
		dst = appendStringMember(dst, `"resource_schema_url":`, url)
	}
	return dst
}
