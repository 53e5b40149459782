package encoding

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Format selects the JSON layout of an encoded record.
type Format uint8

const (
	// Envelope is fapilog's log envelope v1.1, one object per record.
	Envelope Format = iota
	// OTLPJSON is one OTLP/JSON ExportLogsServiceRequest per record.
	OTLPJSON
)

// String returns the name used in configuration and errors.
func (f Format) String() string {
	switch f {
	case Envelope:
		return "envelope"
	case OTLPJSON:
		return "otlpjson"
	default:
		return fmt.Sprintf("Format(%d)", uint8(f))
	}
}

// Valid reports whether f names a known format.
func (f Format) Valid() bool { return f <= OTLPJSON }

// maxDepth bounds how deeply nested map and slice values are written. Deeper
// values are replaced by depthMarker so a hostile record cannot produce a line
// that JSON decoders refuse for its nesting (encoding/json stops at 10000).
const maxDepth = 64

// maxOTLPDepth is the same bound for OTLP/JSON, where nesting is far more
// expensive: each map level is three protobuf message levels (AnyValue,
// KeyValueList, KeyValue) and a line starts six levels deep (request,
// resource logs, scope logs, record, key-value, value). Python's, Java's
// and C++'s protobuf JSON parsers stop at 100 message levels by default;
// 20 levels keep the deepest line at 6 + 3*20 = 66.
const maxOTLPDepth = 20

const depthMarker = "[depth limit exceeded]"

// Encoder encodes records in one Format. It is safe for concurrent use.
type Encoder struct {
	format Format
	states sync.Pool
	// res caches the encoded resource: every record of a LoggerProvider
	// carries the same *resource.Resource, so it is encoded once.
	res atomic.Pointer[resourceCache]
}

type resourceCache struct {
	res      *resource.Resource
	envelope []byte // members of the envelope's diagnostics object
	otlp     []byte // the OTLP "resource" member
	schema   []byte // the OTLP resource schemaUrl member, with leading comma
}

// New returns an Encoder for format f. An unknown format encodes as Envelope;
// callers validate configuration with Format.Valid first.
func New(f Format) *Encoder {
	e := &Encoder{format: f}
	e.states.New = func() any { return newState(f) }
	return e
}

// Format returns the format e writes.
func (e *Encoder) Format() Format { return e.format }

// Append appends r encoded as one JSON object, without a trailing newline.
func (e *Encoder) Append(dst []byte, r *sdklog.Record) []byte {
	st := e.states.Get().(*state)
	if e.format == OTLPJSON {
		dst = e.appendOTLP(dst, r, st)
	} else {
		dst = e.appendEnvelope(dst, r, st)
	}
	st.reset()
	e.states.Put(st)
	return dst
}

func (e *Encoder) resource(res *resource.Resource) *resourceCache {
	if c := e.res.Load(); c != nil && c.res == res {
		return c
	}
	c := &resourceCache{res: res}
	c.envelope = appendEnvelopeResource(nil, res)
	c.otlp, c.schema = appendOTLPResource(nil, res), nil
	if res != nil && res.SchemaURL() != "" {
		c.schema = appendString([]byte(`,"schemaUrl":`), res.SchemaURL())
	}
	e.res.Store(c)
	return c
}

// state is the scratch space of one Append call.
//
// Attributes are encoded in one walk, into scratch buffers (data members,
// exception members) that the caller then places, because the envelope
// needs what it lifts into "context" before it writes "data". The walk also
// records each key in a small hash table; on the rare record with a
// repeated key (or more keys than the table takes) it stops, and the
// attributes are encoded again in two walks: one that finds the repeats,
// one that writes all but the last occurrence of each. Copying the
// 64-byte KeyValues out instead cost more than walking again.
type state struct {
	keys []attribute.Key // the two-walk fallback's keys, in order
	drop []bool          // drop[i]: attribute i is repeated later and loses
	seen map[attribute.Key]int

	// Filled by the first walk.
	lifted    [len(contextKeys)]string
	hasLifted [len(contextKeys)]bool
	// uid is a string log.record.uid attribute, the envelope's
	// message_id when present.
	uid          string
	hasUID       bool
	hasException bool
	// bodyTaken: a structured body owns data.body, so an attribute of that
	// name moves aside to body_attribute instead of repeating the key.
	bodyTaken bool

	// Scratch output of the walk: members for "data" (or OTLP KeyValues)
	// and for diagnostics.exception.
	data, exc []byte
	table     [2 * dedupTableMax]uint8 // key hash → index+1 into walkedKeys
	// walkedKeys holds the single walk's keys so far, walked of them: a
	// fixed array, since the walk gives up past dedupTableMax keys
	// anyway. Not cleared between records; only the first walked count.
	walkedKeys [dedupTableMax]attribute.Key
	walked     int
	// seconds caches the formatted second of the record's timestamp
	// and of its observed timestamp; it outlives reset, like the
	// buffers.
	seconds  [2]secondCache
	repeated bool // the single walk met a repeated key or too many keys
	format   Format
	// keys met lately, for every walk; it outlives reset.
	kc keyCache

	// The second walk of the fallback appends to dst, skipping dropped
	// attributes.
	dst  []byte
	i    int
	mode emitMode

	// Bound once so WalkAttributes does not allocate a closure per record.
	single func(attribute.KeyValue) bool
	gather func(attribute.KeyValue) bool
	emit   func(attribute.KeyValue) bool
}

type emitMode uint8

const (
	emitData      emitMode = iota // envelope data members
	emitException                 // envelope diagnostics.exception members
	emitOTLP                      // OTLP KeyValue array elements
)

func newState(f Format) *state {
	st := &state{keys: make([]attribute.Key, 0, 16), drop: make([]bool, 0, 16), format: f}
	st.gather = func(kv attribute.KeyValue) bool {
		st.keys = append(st.keys, kv.Key)
		// The last occurrence of a name decides, as de-duplication does,
		// so a later non-string value unsets what an earlier string set.
		isString := kv.Value.Type() == attribute.STRING
		switch class, j := classifyKey(kv.Key); class {
		case keyUID:
			st.hasUID, st.uid = isString, kv.Value.AsString()
		case keyContext:
			st.hasLifted[j], st.lifted[j] = isString, kv.Value.AsString()
		case keyException:
			st.hasException = true
		}
		return true
	}
	// The single walk's step: kv is encoded where it belongs unless its
	// key was met before in this record (or the record has too many keys
	// for the table), which stops the walk for the two-walk fallback. It
	// is a closure, not a method value, so the 64-byte KeyValue is not
	// copied once more through a wrapper.
	st.single = func(kv attribute.KeyValue) bool {
		i := st.walked
		e := st.kc.hit(kv.Key)
		if e == nil {
			e = st.kc.miss(kv.Key, st.format)
		}
		var h uint
		if e != nil {
			h = uint(e.hash)
		} else {
			h = keyHash(kv.Key)
		}
		if i >= dedupTableMax || st.seenKey(kv.Key, h, i) {
			st.repeated = true
			return false
		}
		st.walkedKeys[i] = kv.Key
		st.walked++
		if st.mode == emitOTLP {
			st.data = appendComma(st.data)
			if e == nil {
				st.data = appendKeyValue(st.data, kv, 0)
				return true
			}
			st.data = append(st.data, st.kc.bytes(e)...)
			st.data = appendAnyValue(st.data, kv.Value, 0)
			st.data = append(st.data, '}')
			return true
		}
		var class, j int
		if e != nil {
			class, j = placed(int(e.class), int(e.ctx), kv.Value)
		} else {
			class, j = classify(kv)
		}
		switch class {
		case keyUID:
			st.hasUID, st.uid = true, kv.Value.AsString()
			return true
		case keyContext:
			st.hasLifted[j] = true
			st.lifted[j] = kv.Value.AsString()
			return true
		case keyException:
			st.hasException = true
			st.exc = appendComma(st.exc)
			if e != nil {
				st.exc = append(st.exc, st.kc.bytes(e)...)
			} else {
				st.exc = appendKey(st.exc, exceptionField(string(kv.Key[len(exceptionPrefix):])))
			}
			st.exc = appendJSONValue(st.exc, kv.Value, 0)
			return true
		case keyBody:
			if st.bodyTaken {
				st.data = appendComma(st.data)
				st.data = append(st.data, `"body_attribute":`...)
				st.data = appendJSONValue(st.data, kv.Value, 0)
				return true
			}
		}
		st.data = appendComma(st.data)
		if e != nil {
			st.data = st.kc.appendKey(st.data, e)
		} else {
			st.data = appendKey(st.data, string(kv.Key))
		}
		// Strings and integers, most values, without the call and the
		// switch of appendJSONValue.
		switch kv.Value.Type() {
		case attribute.STRING:
			st.data = appendString(st.data, kv.Value.AsString())
		case attribute.INT64:
			st.data = appendInt(st.data, kv.Value.AsInt64())
		default:
			st.data = appendJSONValue(st.data, kv.Value, 0)
		}
		return true
	}
	st.emit = func(kv attribute.KeyValue) bool {
		i := st.i
		st.i++
		if st.drop[i] {
			return true
		}
		switch st.mode {
		case emitData:
			class, _ := classify(kv)
			if class != keyData && class != keyBody {
				return true
			}
			if class == keyBody && st.bodyTaken {
				kv.Key = "body_attribute"
			}
			st.dst = appendMember(st.dst, kv)
		case emitException:
			if name, ok := strings.CutPrefix(string(kv.Key), exceptionPrefix); ok {
				st.dst = appendComma(st.dst)
				st.dst = appendKey(st.dst, exceptionField(name))
				st.dst = appendJSONValue(st.dst, kv.Value, 0)
			}
		case emitOTLP:
			st.dst = appendComma(st.dst)
			st.dst = appendKeyValue(st.dst, kv, 0)
		}
		return true
	}
	return st
}

// maxPooledAttrs keeps one record with thousands of attributes from pinning
// large scratch slices in the pool forever.
const maxPooledAttrs = 1024

func (st *state) reset() {
	if cap(st.keys) > maxPooledAttrs {
		st.keys, st.drop, st.seen = make([]attribute.Key, 0, 16), make([]bool, 0, 16), nil
	}
	if cap(st.data) > maxPooledBytes {
		st.data = nil
	}
	if cap(st.exc) > maxPooledBytes {
		st.exc = nil
	}
	st.clearWalk()
	st.bodyTaken = false
	st.dst = nil
}

// maxPooledBytes bounds the scratch buffers a pooled state keeps.
const maxPooledBytes = 64 << 10

// clearWalk forgets everything a walk produced.
func (st *state) clearWalk() {
	clear(st.keys)
	st.keys = st.keys[:0]
	st.walked = 0
	st.drop = st.drop[:0]
	st.lifted = [len(contextKeys)]string{}
	st.hasLifted = [len(contextKeys)]bool{}
	st.uid, st.hasUID = "", false
	st.hasException = false
	st.data = st.data[:0]
	st.exc = st.exc[:0]
	st.table = [2 * dedupTableMax]uint8{}
	st.repeated = false
}

// seenKey reports whether k, whose keyHash is h, is already among the single
// walk's keys, and otherwise enters it into the table as index i.
func (st *state) seenKey(k attribute.Key, h uint, i int) bool {
	mask := uint(len(st.table) - 1)
	h &= mask
	for st.table[h] != 0 {
		if st.walkedKeys[st.table[h]-1] == k {
			return true
		}
		h = (h + 1) & mask
	}
	st.table[h] = uint8(i + 1)
	return false
}

// walkAttrs encodes r's attributes into st.data (and, for the envelope,
// st.exc and the lifted context values), writing only the last occurrence
// of a repeated key.
func (st *state) walkAttrs(r *sdklog.Record, mode emitMode) {
	st.mode = mode
	r.WalkAttributes(st.single)
	if !st.repeated {
		return
	}
	bodyTaken := st.bodyTaken
	st.clearWalk()
	st.bodyTaken = bodyTaken
	st.gatherAttrs(r)
	if mode == emitOTLP {
		st.data = st.emitAttrs(st.data, r, emitOTLP)
		return
	}
	st.data = st.emitAttrs(st.data, r, emitData)
	if st.hasException {
		st.exc = st.emitAttrs(st.exc, r, emitException)
	}
}

// gatherAttrs runs the first walk over r's attributes and marks every
// attribute whose key occurs again later: only the last occurrence is
// written (the SDK's own de-duplication rule), so no object gets a repeated
// key.
func (st *state) gatherAttrs(r *sdklog.Record) {
	r.WalkAttributes(st.gather)
	st.drop = st.dedup(st.keys, st.drop[:0])
}

// emitAttrs runs the second walk, appending to dst in the given mode.
func (st *state) emitAttrs(dst []byte, r *sdklog.Record, mode emitMode) []byte {
	st.dst, st.i, st.mode = dst, 0, mode
	r.WalkAttributes(st.emit)
	dst = st.dst
	st.dst = nil
	return dst
}

// dedupTableMax is the largest attribute count de-duplicated with the
// stack-allocated hash table below; larger records use a pooled map.
const dedupTableMax = 32

func (st *state) dedup(keys []attribute.Key, drop []bool) []bool {
	n := len(keys)
	drop = append(drop, make([]bool, n)...)
	if n < 2 {
		return drop
	}
	if n > dedupTableMax {
		return st.dedupMap(keys, drop)
	}
	// Open addressing over a 64-slot table holding index+1; a hit on an
	// equal key marks the earlier occurrence as dropped.
	var table [64]uint8
	for i, k := range keys {
		h := keyHash(k) & 63
		for table[h] != 0 {
			j := int(table[h] - 1)
			if keys[j] == k {
				drop[j] = true
				break
			}
			h = (h + 1) & 63
		}
		table[h] = uint8(i + 1)
	}
	return drop
}

// keyHash mixes the length and the bytes at both ends: enough to spread the
// keys of one record, and a collision only costs a string comparison.
func keyHash(k attribute.Key) uint {
	n := len(k)
	if n == 0 {
		return 0
	}
	h := uint(n) * 0x9E3779B1
	h ^= uint(k[0]) * 0x85EBCA77
	h ^= uint(k[n-1]) * 0xC2B2AE3D
	h ^= uint(k[n/2]) * 0x27D4EB2F
	return h ^ h>>15
}

func (st *state) dedupMap(keys []attribute.Key, drop []bool) []bool {
	if st.seen == nil {
		st.seen = make(map[attribute.Key]int, len(keys))
	}
	clear(st.seen)
	for i, k := range keys {
		st.seen[k] = i
	}
	for i, k := range keys {
		drop[i] = st.seen[k] != i
	}
	return drop
}
