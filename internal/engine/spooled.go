package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fapilog/fapilog-otel/internal/spool"
)

// With a spool, an entry is appended to disk (into the kernel) before Add
// returns, and a batch's seal, with its key, before it is first sent;
// senders read the batch back from the spool, so memory holds no entries
// at all and the pending bound is the spool's size on disk. A batch
// finished in order (delivered, or given up on and counted) moves the
// spool's cursor past it. What Close leaves undelivered stays in the spool,
// not lost: the next process sends it first, with the same keys.

var errCorruptSpool = errors.New("entries found corrupt in the spool")

// openSpool opens the spool and queues what an earlier process left.
func (e *Engine) openSpool(cfg spool.Config) error {
	cfg.NewKey = func() string {
		// Called under Open, before any batch of ours: a key of its own.
		return e.keyPrefix + "r" + fmt.Sprint(time.Now().UnixNano())
	}
	if cfg.OnError == nil {
		cfg.OnError = e.onError
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = int64(e.cfg.MaxPendingBytes)
	}
	sp, recovered, err := spool.Open(cfg)
	if err != nil {
		return err
	}
	e.spool = sp
	for _, err := range sp.Damaged() {
		// Lost in a number nobody can tell: the first flush fails.
		err = e.errorf("%w", err)
		e.ledger.Lost(0, err)
		e.onError(err)
	}
	for i := range recovered {
		r := recovered[i]
		b := &batch{seq: e.nextSeq, key: r.Key, n: r.N, created: r.Created, sp: &r}
		e.nextSeq++
		if r.Lost > 0 {
			err := e.errorf("%d %w (%s)", r.Lost, errCorruptSpool, cfg.Dir)
			e.ledger.Lost(r.Lost, err)
			e.onError(err)
		}
		if r.N == 0 {
			e.finishLocked(b)
			continue
		}
		e.queue = append(e.queue, b)
	}
	e.recomputeOldestLocked()
	if len(e.queue) > 0 {
		e.started = true
		e.start()
		e.wake()
	}
	return nil
}

// addSpooledLocked appends entries to the spool, in as few writes as the
// batch limits allow, applying the overflow policy to the spool's size.
func (e *Engine) addSpooledLocked(ctx context.Context, entries [][]byte, block *blockTimer) (failed int, first error) {
	fail := func(n int, err error) {
		failed += n
		if first == nil {
			first = err
		}
	}
	// chunkBytes counts spool frames, for the pending bound; chunkBody
	// the entries alone, for the batch limit.
	chunk, chunkBytes, chunkBody := e.chunk[:0], 0, 0
	flushChunk := func() {
		if len(chunk) == 0 {
			return
		}
		if err := e.spool.Append(chunk); err != nil {
			err = e.errorf("%w", err)
			e.dropLocked(len(chunk), err)
			fail(len(chunk), err)
		} else {
			if e.cur == nil {
				e.cur = &batch{created: time.Now()}
			}
			if e.cur.n == 0 {
				e.wake() // a sender starts the age clock
			}
			e.cur.n += len(chunk)
			e.cur.size += chunkBytes
			e.cur.body += chunkBody
			e.pending += chunkBytes
			e.noteBatchLocked(e.cur)
		}
		chunk, chunkBytes, chunkBody = chunk[:0], 0, 0
	}
	// filling is the batch being filled: what the spool has of it, and
	// the chunk not yet appended.
	filling := func() (n, body int) {
		n, body = len(chunk), chunkBody
		if e.cur != nil {
			n += e.cur.n
			body += e.cur.body
		}
		return n, body
	}
	defer func() { e.chunk = chunk[:0] }()
	// Room is left for the seal of the batch being filled.
	max := int64(e.cfg.MaxPendingBytes) - spool.SealBytes
	for i, entry := range entries {
		if e.closed {
			flushChunk()
			fail(len(entries)-i, e.errorf("%w", ErrClosed))
			return failed, first
		}
		if !e.started {
			e.started = true
			e.start()
		}
		need := spool.FrameBytes(len(entry))
		if need > max {
			err := e.errorf("%w: one entry of %d bytes exceeds the spool bound of %d", ErrDropped, len(entry), max)
			e.dropLocked(1, err)
			fail(1, err)
			continue
		}
		refused := false
		for !e.closed && e.spool.Bytes()+int64(chunkBytes)+need > max {
			flushChunk() // what this call took counts before it waits or drops
			if e.spool.Bytes()+need <= max {
				break
			}
			if e.cfg.Overflow == DropOldest && len(e.queue) > 0 {
				e.dropOldestLocked()
				continue
			}
			if e.cfg.Overflow == Block {
				cause := e.waitForRoomLocked(ctx, block, func() bool { return e.spool.Bytes()+need <= max })
				if cause == nil {
					continue
				}
				err := e.errorf("%w: %w (spool full)", ErrDropped, cause)
				e.dropLocked(1, err)
				fail(1, err)
				refused = true
				break
			}
			err := e.errorf("%w (spool full)", ErrDropped)
			e.dropLocked(1, err)
			fail(1, err)
			refused = true
			break
		}
		if refused {
			continue
		}
		if e.closed {
			flushChunk()
			fail(len(entries)-i, e.errorf("%w", ErrClosed))
			return failed, first
		}
		if n, body := filling(); !e.roomFor(n, body, len(entry)) {
			flushChunk()
			e.sealLocked()
		}
		chunk = append(chunk, entry)
		chunkBytes += int(need)
		chunkBody += len(entry)
		if e.full(filling()) {
			flushChunk()
			e.sealLocked()
		}
	}
	flushChunk()
	return failed, first
}

// sealSpooledLocked writes b's seal, with its key, before b can be sent.
func (e *Engine) sealSpooledLocked(b *batch) {
	sp, err := e.spool.Seal(b.key)
	sp.N = b.n
	b.sp = &sp
	if err != nil {
		// The batch is still sent; only a crash before it is
		// delivered would give it another key in the next process.
		e.reports = append(e.reports, e.errorf("sealing a batch in the spool: %w", err))
	}
}

// ackSpooledLocked moves the spool's cursor past b, finished in order,
// unless an earlier batch was kept for the next process.
func (e *Engine) ackSpooledLocked(b *batch) {
	if b.keep {
		e.ackStopped = true
	}
	if e.ackStopped || b.sp == nil {
		return
	}
	if err := e.spool.Ack(*b.sp); err != nil {
		// The cursor stays behind: the next process sends these
		// again, with their keys. Nothing is lost.
		e.reports = append(e.reports, e.errorf("%w", err))
	}
}

// keepOnStop reports whether a batch that failed because Close stopped the
// senders stays in the spool instead of being lost.
func (e *Engine) keepOnStop(b *batch) bool {
	return b.sp != nil && e.sendCtx.Err() != nil
}

// batchEntries returns b's entries: from memory, or read back from the
// spool (into readBuf, reused by the sender).
func (e *Engine) batchEntries(b *batch, readBuf *[]byte) ([][]byte, error) {
	if b.sp == nil {
		return b.memEntries(), nil
	}
	entries, buf, missing, err := e.spool.Read(*b.sp, *readBuf)
	*readBuf = buf
	if err != nil {
		return nil, err
	}
	if missing > 0 {
		err := e.errorf("%d %w on reading back (%s)", missing, errCorruptSpool, e.cfg.Spool.Dir)
		e.ledger.Lost(missing, err)
		e.onError(err)
	}
	return entries, nil
}

// SpoolStats describe a spool: its size on disk, its segments, and when
// its oldest undelivered batch was started. ok is false without a spool.
// It takes no lock, so a write stalled on the disk does not stall it.
func (e *Engine) SpoolStats() (st spool.Stats, oldest time.Time, ok bool) {
	if e.spool == nil {
		return st, oldest, false
	}
	if ns := e.oldest.Load(); ns != 0 {
		oldest = time.Unix(0, ns)
	}
	return e.spool.Stats(), oldest, true
}

// syncSpoolInBackground fsyncs the spool for a flush that did not see
// everything delivered: a flush that succeeds needs no fsync (what it
// covered was acknowledged), one that fails must not overrun its deadline
// waiting for the disk. Close waits for it.
func (e *Engine) syncSpoolInBackground() {
	if e.spool == nil {
		return
	}
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	if e.syncClosed {
		return // Close has synced and is closing the spool
	}
	e.syncWG.Add(1)
	go func() {
		defer e.syncWG.Done()
		if err := e.spool.Sync(); err != nil {
			e.onError(e.errorf("%w", err))
		}
	}()
}
