package encoding

import (
	"fmt"
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
	e.states.New = func() any { return newState() }
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
type state struct {
	attrs []attribute.KeyValue
	seen  map[attribute.Key]int
	// collect is bound once so WalkAttributes does not allocate a closure
	// per record.
	collect func(attribute.KeyValue) bool
}

func newState() *state {
	st := &state{attrs: make([]attribute.KeyValue, 0, 16)}
	st.collect = func(kv attribute.KeyValue) bool {
		st.attrs = append(st.attrs, kv)
		return true
	}
	return st
}

// maxPooledAttrs keeps one record with thousands of attributes from pinning a
// large scratch slice in the pool forever.
const maxPooledAttrs = 1024

func (st *state) reset() {
	if cap(st.attrs) > maxPooledAttrs {
		st.attrs = make([]attribute.KeyValue, 0, 16)
		st.seen = nil
		return
	}
	clear(st.attrs)
	st.attrs = st.attrs[:0]
}

// recordAttrs returns r's attributes in order, keeping only the last
// occurrence of a repeated key (the SDK's own de-duplication rule), so the
// envelope never holds an object with duplicate keys.
func (st *state) recordAttrs(r *sdklog.Record) []attribute.KeyValue {
	r.WalkAttributes(st.collect)
	st.attrs = st.dedup(st.attrs)
	return st.attrs
}

// dedupLinearMax is where the quadratic scan stops being cheaper than a map.
const dedupLinearMax = 16

func (st *state) dedup(kvs []attribute.KeyValue) []attribute.KeyValue {
	n := len(kvs)
	if n < 2 {
		return kvs
	}
	out := kvs[:0]
	if n <= dedupLinearMax {
		for i := range n {
			if !laterKey(kvs[i+1:], kvs[i].Key) {
				out = append(out, kvs[i])
			}
		}
		return out
	}
	if st.seen == nil {
		st.seen = make(map[attribute.Key]int, n)
	}
	clear(st.seen)
	for i, kv := range kvs {
		st.seen[kv.Key] = i
	}
	for i := range n {
		if st.seen[kvs[i].Key] == i {
			out = append(out, kvs[i])
		}
	}
	return out
}

func laterKey(rest []attribute.KeyValue, k attribute.Key) bool {
	for _, kv := range rest {
		if kv.Key == k {
			return true
		}
	}
	return false
}
