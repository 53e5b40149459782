package encoding

import (
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

// AppendOTLPLines writes recs as OTLP/JSON lines holding many records each,
// as the Collector's file exporter writes: every line one
// ExportLogsServiceRequest, records grouped by resource and scope in the
// order they come, no line longer than limit bytes (newline excluded). A
// record that does not fit in a line of its own is written alone, over the
// limit, for the caller to cut. emit receives each line (valid only during
// the call) with the index of its first record and how many it holds. buf
// is scratch space, returned for reuse.
func (e *Encoder) AppendOTLPLines(buf []byte, recs []sdklog.Record, limit int, emit func(line []byte, first, n int)) []byte {
	st := e.states.Get().(*state)
	defer e.states.Put(st)
	var (
		res      *resource.Resource
		scope    instrumentation.Scope
		first, n int
	)
	closeLine := func() {
		if n == 0 {
			return
		}
		buf = appendScopeClose(buf, &recs[first+n-1])
		buf = append(buf, ']')
		buf = append(buf, e.resource(res).schema...)
		buf = append(buf, "}]}"...)
		emit(buf, first, n)
		buf, n = buf[:0], 0
	}
	buf = buf[:0]
	for i := 0; i < len(recs); {
		r := &recs[i]
		mark := len(buf)
		rc := e.resource(r.Resource())
		switch {
		case n == 0:
			first = i
			buf = append(buf, `{"resourceLogs":[{`...)
			buf = append(buf, rc.otlp...)
			buf = append(buf, `,"scopeLogs":[`...)
			buf = appendScopeOpen(buf, r)
		case r.Resource() != res:
			buf = appendScopeClose(buf, &recs[i-1])
			buf = append(buf, ']')
			buf = append(buf, e.resource(res).schema...)
			buf = append(buf, `},{`...)
			buf = append(buf, rc.otlp...)
			buf = append(buf, `,"scopeLogs":[`...)
			buf = appendScopeOpen(buf, r)
		case !sameScopes(r.InstrumentationScope(), scope):
			buf = appendScopeClose(buf, &recs[i-1])
			buf = append(buf, ',')
			buf = appendScopeOpen(buf, r)
		default:
			buf = append(buf, ',')
		}
		buf = appendLogRecord(buf, r, st)
		st.reset()
		// What closing the line would add: "]", the scope's schemaUrl
		// member (escaped, at most twice its length), "}", "]", the
		// resource's schemaUrl member, "}]}".
		closing := 24 + 2*len(r.InstrumentationScope().SchemaURL) + len(rc.schema)
		if n > 0 && len(buf)+closing > limit {
			buf = buf[:mark] // r starts the next line
			closeLine()
			continue
		}
		n++
		res, scope = r.Resource(), r.InstrumentationScope()
		i++
	}
	closeLine()
	return buf
}

func sameScopes(a, b instrumentation.Scope) bool {
	return a.Name == b.Name && a.Version == b.Version && a.SchemaURL == b.SchemaURL && a.Attributes.Equals(&b.Attributes)
}
