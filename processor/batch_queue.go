package processor

import sdklog "go.opentelemetry.io/otel/sdk/log"

// recordQueue is Batch's FIFO: records in chunks of one export batch each,
// so that the worker exports a chunk as it is (no copy), dropping the
// oldest record is O(1), and chunks are reused. It is not safe for
// concurrent use; Batch guards it with its mutex.
type recordQueue struct {
	chunks []*chunk // queued, oldest first; the last may still be filling
	free   []*chunk
	n      int // records in chunks
	size   int // records per chunk: the export batch size
}

// chunk holds records recs[start:]. A new chunk has room for at most
// firstChunk records and grows to the batch size as it fills, so a batch
// size set far above what is logged (OTEL_BLRP_MAX_EXPORT_BATCH_SIZE in the
// millions) costs memory only as records arrive; a reused chunk keeps what
// it grew to.
type chunk struct {
	recs  []sdklog.Record
	start int
}

// firstChunk is the default batch size: at the defaults a chunk is
// allocated whole, once.
const firstChunk = DefaultMaxExportBatchSize

func (c *chunk) records() []sdklog.Record { return c.recs[c.start:] }
func (c *chunk) len() int                 { return len(c.recs) - c.start }

// push appends a copy of r: the SDK reuses r after OnEmit returns, and
// Clone copies the attributes beyond the inline ones (the one allocation
// for a large record).
func (q *recordQueue) push(r *sdklog.Record) {
	var c *chunk
	if k := len(q.chunks); k > 0 && len(q.chunks[k-1].recs) < q.size {
		c = q.chunks[k-1]
	} else {
		c = q.get()
		q.chunks = append(q.chunks, c)
	}
	c.recs = append(c.recs, r.Clone())
	q.n++
}

// dropOldest discards the oldest queued record and reports whether there
// was one.
func (q *recordQueue) dropOldest() bool {
	if q.n == 0 {
		return false
	}
	c := q.chunks[0]
	c.recs[c.start] = sdklog.Record{}
	c.start++
	q.n--
	if c.len() == 0 {
		q.chunks[0] = nil
		q.chunks = q.chunks[1:]
		q.put(c)
	}
	return true
}

// take removes and returns the oldest chunk, at most one batch of records;
// the caller gives it back with put.
func (q *recordQueue) take() *chunk {
	c := q.chunks[0]
	q.chunks[0] = nil
	q.chunks = q.chunks[1:]
	q.n -= c.len()
	return c
}

// put clears c (the records must not keep what they reference alive) and
// keeps it for reuse.
func (q *recordQueue) put(c *chunk) {
	clear(c.recs[c.start:])
	c.recs, c.start = c.recs[:0], 0
	q.free = append(q.free, c)
}

func (q *recordQueue) get() *chunk {
	if k := len(q.free); k > 0 {
		c := q.free[k-1]
		q.free[k-1] = nil
		q.free = q.free[:k-1]
		return c
	}
	return &chunk{recs: make([]sdklog.Record, 0, min(q.size, firstChunk))}
}

// clear empties the queue and returns how many records it held.
func (q *recordQueue) clear() int {
	n := q.n
	for _, c := range q.chunks {
		q.put(c)
	}
	q.chunks, q.n = nil, 0
	return n
}
