// Package engine is the batching, retrying, bounded delivery engine the
// network sinks share: entries are added without waiting on the
// network, sealed into batches by count, bytes or age, and sent by a fixed
// number of goroutines that retry what can be retried. Flush waits for
// everything pending at its call to be delivered or given up on, or for its
// context; an ended context never drops data.
package engine

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fapilog/fapilog-otel/internal/ctxsync"
	"github.com/fapilog/fapilog-otel/internal/errlimit"
	"github.com/fapilog/fapilog-otel/internal/flushacct"
	"github.com/fapilog/fapilog-otel/internal/onceerr"
	"github.com/fapilog/fapilog-otel/internal/spool"
)

// Sender delivers one batch. It returns nil when the receiver accepted it,
// and otherwise an error that Config.Evaluate classifies. key identifies
// the batch: unique, and the same on every retry of it, in this process
// and (with a spool) in the next one, so receivers can de-duplicate.
type Sender interface {
	Send(ctx context.Context, key string, entries [][]byte) error
}

var (
	// ErrClosed is returned by Add after Close.
	ErrClosed = errors.New("closed")
	// ErrDropped is wrapped by Add's error when the overflow policy
	// refused the entry.
	ErrDropped = errors.New("pending bound reached, entry dropped")
	// ErrSendPanicked is wrapped by the failure of a batch whose Send
	// panicked (a caller's http.Client transport, say): the batch is given
	// up, counted, and not retried.
	ErrSendPanicked = errors.New("sending panicked")
)

type batch struct {
	seq     uint64
	key     string
	n       int    // entries
	size    int    // bytes it holds against the pending bound
	body    int    // bytes of its entries, what MaxBatchBytes bounds with the framing
	buf     []byte // entries back to back (in memory)
	ends    []int  // end offset of each entry in buf (in memory)
	created time.Time
	// sp locates the batch in the spool; its entries are read back from
	// there to be sent. nil without a spool.
	sp *spool.Batch
	// keep marks a spooled batch Close left undelivered: it stays in the
	// spool for the next process, so the cursor must not pass it.
	keep bool
}

func (b *batch) memEntries() [][]byte {
	out := make([][]byte, len(b.ends))
	start := 0
	for i, end := range b.ends {
		out[i] = b.buf[start:end:end]
		start = end
	}
	return out
}

// Engine is safe for concurrent use.
type Engine struct {
	cfg     Config
	send    Sender
	onError func(error)
	// failReports passes batches given up on to onError, holding back
	// the repeats.
	failReports *errlimit.Reporter

	// mu is a ctxsync.Mutex: with a spool it is held across writes to
	// disk, and Flush, Close and Add give up waiting for it when their
	// context ends.
	mu       *ctxsync.Mutex
	cur      *batch
	queue    []*batch          // sealed, waiting for a sender
	inflight map[uint64]*batch // being sent
	pending  int               // bytes in cur, queue and inflight
	// oldest is when the oldest undelivered batch began (UnixNano, 0 for
	// none), published under mu for SpoolStats, which reads it without
	// mu: mu is held across spool writes, and metrics and health checks
	// must not wait for a stalled disk.
	oldest   atomic.Int64
	nextSeq  uint64            // seq of the next sealed batch
	doneTo   uint64            // every batch with seq < doneTo is finished
	finished map[uint64]*batch // finished batches at or beyond doneTo
	done     flushacct.Cond    // broadcast when doneTo advances
	space    flushacct.Cond    // broadcast when pending shrinks, and at Close
	closed   bool
	started  bool
	// freed counts batches finished (each frees room); Block's stall rule
	// (waitForRoomLocked) watches it. stallSince is when the earliest
	// wait still unanswered began, with freed at stallFreed; stalled is
	// set once that is stallWindows timeouts ago with freed unmoved.
	freed      uint64
	stallSince time.Time
	stallFreed uint64
	stalled    bool
	// abandoned counts entries Close gave up on: a flush that was waiting
	// for them must not report success.
	abandoned int
	// reports are errors found under mu, handed to onError once mu is
	// released: a handler may log, and logging may come back here.
	reports []error

	work       chan struct{} // wakes a sender: a batch was sealed or started
	quit       chan struct{}
	sendCtx    context.Context // cancelled when Close gives up waiting
	cancelSend context.CancelFunc
	wg         sync.WaitGroup

	closeOnce onceerr.Once
	// closedDone is closed when Close's work is complete, the part that
	// went on in the background after an ended context included.
	closedDone chan struct{}

	// bufs recycles batch buffers: each batch would otherwise grow a
	// fresh buffer to the batch size by repeated doubling.
	bufs sync.Pool

	// ledger holds every entry not delivered until a flush reports it.
	ledger flushacct.Ledger
	// Drops are reported at most once a second (a flood of reports in an
	// overload helps nobody), with or without mu held: lockForSpool drops
	// entries it could not lock for.
	lastDropRep   atomic.Int64 // UnixNano
	dropsUnrep    atomic.Int64
	lastDropCause atomic.Pointer[error]

	// keyPrefix makes batch keys unique across sinks and processes.
	keyPrefix string
	// spool, when set, holds every entry on disk until it is delivered
	// (see spooled.go); ackStopped is set once a kept batch is finished,
	// after which the cursor never moves again in this process.
	spool      *spool.Spool
	ackStopped bool
	syncWG     sync.WaitGroup // fsyncs started by flushes that ran out of time
	// syncMu orders starting such an fsync against Close's wait for them:
	// a flush that outlived its caller may try to start one as Close
	// finishes, and then must not.
	syncMu     sync.Mutex
	syncClosed bool
	chunk      [][]byte // scratch for AddBatch with a spool
}

// reportEvery bounds how often batches given up on are reported; tests
// change it.
var reportEvery = time.Second

// New returns an engine sending through s. onError hears of the batches
// given up on and of dropped entries (each coalesced to one report a
// second, counted); sinks pass otel.Handle. No goroutine starts before the
// first Add, unless a spool holds batches from an earlier process: those
// are sent at once.
func New(cfg Config, s Sender, onError func(error)) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Name, err)
	}
	if onError == nil {
		onError = func(error) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var prefix [8]byte
	_, _ = crand.Read(prefix[:])
	e := &Engine{
		cfg: cfg, send: s, onError: onError,
		failReports: errlimit.New(onError, reportEvery),
		mu:          ctxsync.NewMutex(),
		inflight:    map[uint64]*batch{}, finished: map[uint64]*batch{},
		work: make(chan struct{}, 1), quit: make(chan struct{}), closedDone: make(chan struct{}),
		sendCtx: ctx, cancelSend: cancel,
		keyPrefix: hex.EncodeToString(prefix[:]) + "-",
	}
	if cfg.Spool != nil {
		if err := e.openSpool(*cfg.Spool); err != nil {
			cancel()
			return nil, e.errorf("%w", err)
		}
	}
	return e, nil
}

// errorf formats an error prefixed with the engine's name.
func (e *Engine) errorf(format string, a ...any) error {
	return fmt.Errorf(e.cfg.Name+": "+format, a...)
}

// Lost returns how many entries were dropped or given up on.
func (e *Engine) Lost() int64 { return e.ledger.Total() }

// lock takes mu for work that is not bounded by a context.
func (e *Engine) lock() { _ = e.mu.Lock(context.Background()) }

// unlock releases mu, then reports what was found while holding it.
func (e *Engine) unlock() {
	reports := e.reports
	e.reports = nil
	e.mu.Unlock()
	for _, err := range reports {
		e.onError(err)
	}
}

// PendingBytes returns the bytes of entries added and not yet delivered or
// given up on; it never exceeds the configured bound.
func (e *Engine) PendingBytes() int {
	e.lock()
	defer e.mu.Unlock()
	return e.pending
}

// Add queues a copy of entry. It never waits on the network: only the Block
// overflow policy waits, for room, up to its timeout and ctx.
func (e *Engine) Add(ctx context.Context, entry []byte) error {
	var block blockTimer
	defer block.stop()
	if e.spool != nil {
		if err := e.lockForSpool(ctx, 1); err != nil {
			return err
		}
		defer e.unlock()
		_, err := e.addSpooledLocked(ctx, [][]byte{entry}, &block)
		return err
	}
	e.lock()
	defer e.unlock()
	return e.addLocked(ctx, entry, &block)
}

// lockForSpool takes mu for adding n entries to the spool, waiting no
// longer than ctx allows (and, on an ended ctx, a short grace): mu is held
// across the spool's writes, so a disk that stops answering holds it. The
// entries it gives up on are dropped, counted and reported.
func (e *Engine) lockForSpool(ctx context.Context, n int) error {
	err := e.mu.LockAccepting(ctx)
	if err == nil {
		return nil
	}
	err = e.errorf("%w: %d entries: waiting for the spool (a write to its disk has not returned): %w", ErrDropped, n, err)
	if report := e.countDrop(n, err); report != nil {
		e.onError(report) // mu is not held: report now
	}
	return err
}

// AddBatch queues a copy of each entry, as Add does, taking the lock once.
// An entry refused by the overflow policy does not stop the others; after
// Close, none is taken. It returns how many were not taken and the first
// reason. The Block policy's timeout covers the whole call.
func (e *Engine) AddBatch(ctx context.Context, entries [][]byte) (failed int, first error) {
	var block blockTimer
	defer block.stop()
	if e.spool != nil {
		if err := e.lockForSpool(ctx, len(entries)); err != nil {
			return len(entries), err
		}
		defer e.unlock()
		return e.addSpooledLocked(ctx, entries, &block)
	}
	e.lock()
	defer e.unlock()
	for i, entry := range entries {
		if err := e.addLocked(ctx, entry, &block); err != nil {
			if first == nil {
				first = err
			}
			if errors.Is(err, ErrClosed) {
				return failed + len(entries) - i, first
			}
			failed++
		}
	}
	return failed, first
}

// blockTimer starts the Block policy's timeout at the first wait of a
// call; once it has passed, every later wait of the call ends at once.
type blockTimer struct {
	ctx     context.Context
	cancel  context.CancelFunc
	start   time.Time // when the first wait began
	freedAt uint64    // Engine.freed then
}

func (b *blockTimer) context(parent context.Context, d time.Duration) context.Context {
	if b.ctx == nil {
		// start first, and the deadline from it: a wait then never ends
		// before start+d, so two timed-out waits in a row always span
		// stallWindows timeouts. (A deadline taken before start can end a
		// wait a hair before start+d, and the stall go unnoticed.)
		b.start = time.Now()
		b.ctx, b.cancel = context.WithDeadline(parent, b.start.Add(d))
	}
	return b.ctx
}

// ErrStalled is wrapped by the drops of Block once nothing has been freed
// for stallWindows block timeouts.
var ErrStalled = errors.New("no room freed for two block timeouts: not waiting while the receiver makes no progress")

// stallWindows is how many block timeouts must pass with calls waiting and
// no batch finishing before Block stops waiting. More than one, so that a
// receiver that is only slow (one request longer than the timeout) does
// not make entries drop that a short wait would have saved.
const stallWindows = 2

// waitForRoomLocked is Block's wait for fits, which e.closed also ends;
// e.mu is held on entry and on return. It returns nil once there is room,
// or why the entry is to be dropped. Against a receiver that has stopped
// answering a wait buys nothing: each Write (with SimpleProcessor, each
// logging call) would stall the whole timeout and drop all the same. So
// once calls have waited stallWindows timeouts with no batch finishing,
// later ones drop at once, until a batch finishes: the rule of
// processor.NewBatch's QueueFullBlock.
func (e *Engine) waitForRoomLocked(ctx context.Context, block *blockTimer, fits func() bool) error {
	if e.stalled && e.freed == e.stallFreed {
		return ErrStalled
	}
	first := block.ctx == nil
	wait := block.context(ctx, e.cfg.BlockTimeout)
	if first {
		block.freedAt = e.freed
	}
	if e.space.Wait(wait, locker{e}, func() bool { return e.closed || fits() }) == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err // the caller's deadline says nothing of the receiver
	}
	if e.freed == block.freedAt {
		e.noteStallLocked(block.start)
	}
	return errors.New("timed out waiting for room")
}

// noteStallLocked records that a wait begun at start ran its whole timeout
// with no batch finishing.
func (e *Engine) noteStallLocked(start time.Time) {
	if e.stallSince.IsZero() || e.stallFreed != e.freed {
		e.stallSince, e.stallFreed, e.stalled = start, e.freed, false
	}
	if time.Since(e.stallSince) >= stallWindows*e.cfg.BlockTimeout {
		e.stalled = true
	}
}

func (b *blockTimer) stop() {
	if b.cancel != nil {
		b.cancel()
	}
}

// locker lets a flushacct.Cond release the engine's lock as unlock does,
// handing out the reports gathered under it.
type locker struct{ e *Engine }

func (l locker) Lock()   { l.e.lock() }
func (l locker) Unlock() { l.e.unlock() }

// roomFor reports whether a batch of n entries of body bytes in all can
// take one more of size bytes: always when it is empty (an entry larger
// than a batch goes alone), otherwise within both limits, the body's
// framing counted.
func (e *Engine) roomFor(n, body, size int) bool {
	return n == 0 || (n < e.cfg.MaxBatchEntries && e.bodyBytes(n+1, body+size) <= e.cfg.MaxBatchBytes)
}

// full reports whether a batch of n entries of body bytes in all has
// reached a limit, and is sealed at once rather than when the next entry
// does not fit.
func (e *Engine) full(n, body int) bool {
	return n >= e.cfg.MaxBatchEntries || e.bodyBytes(n, body) >= e.cfg.MaxBatchBytes
}

// bodyBytes is the uncompressed size of a request body for n entries of
// body bytes in all.
func (e *Engine) bodyBytes(n, body int) int {
	return body + n*e.cfg.EntryOverhead + e.cfg.BatchOverhead
}

// addLocked queues one entry; e.mu is held on entry and on return, and
// released only while Block waits for room.
func (e *Engine) addLocked(ctx context.Context, entry []byte, block *blockTimer) error {
	if e.closed {
		return e.errorf("%w", ErrClosed)
	}
	if !e.started {
		e.started = true
		e.start()
	}
	n := len(entry)
	if n > e.cfg.MaxPendingBytes {
		err := e.errorf("%w: one entry of %d bytes exceeds the pending bound of %d", ErrDropped, n, e.cfg.MaxPendingBytes)
		e.dropLocked(1, err)
		return err
	}
	for !e.closed && e.pending+n > e.cfg.MaxPendingBytes {
		switch {
		case e.cfg.Overflow == DropOldest && len(e.queue) > 0:
			e.dropOldestLocked()
			continue
		case e.cfg.Overflow == Block:
			if cause := e.waitForRoomLocked(ctx, block, func() bool { return e.pending+n <= e.cfg.MaxPendingBytes }); cause != nil {
				err := e.errorf("%w: %w", ErrDropped, cause)
				e.dropLocked(1, err)
				return err
			}
			continue
		}
		err := e.errorf("%w", ErrDropped)
		e.dropLocked(1, err)
		return err
	}
	if e.closed {
		return e.errorf("%w", ErrClosed)
	}
	if e.cur != nil && !e.roomFor(e.cur.n, e.cur.body, n) {
		e.sealLocked()
	}
	if e.cur == nil {
		var buf []byte
		if p, ok := e.bufs.Get().(*[]byte); ok {
			buf = *p
		} else {
			buf = make([]byte, 0, min(e.cfg.MaxBatchBytes, 64<<10))
		}
		e.cur = &batch{buf: buf[:0], created: time.Now()}
	}
	e.cur.buf = append(e.cur.buf, entry...)
	e.cur.ends = append(e.cur.ends, len(e.cur.buf))
	e.cur.n++
	e.cur.size += n
	e.cur.body += n
	e.pending += n
	e.noteBatchLocked(e.cur)
	switch {
	case e.full(e.cur.n, e.cur.body):
		e.sealLocked()
	case e.cur.n == 1:
		e.wake() // a sender starts the age clock
	}
	return nil
}

// dropLocked counts n dropped entries for the next flush and reports them
// to the handler at most once a second, so an overload does not become a
// dropOldestLocked discards the oldest queued batch (DropOldest).
func (e *Engine) dropOldestLocked() {
	old := e.queue[0]
	e.queue = e.queue[1:]
	e.pending -= old.size
	if old.buf != nil && cap(old.buf) <= 2*e.cfg.MaxBatchBytes {
		buf := old.buf[:0]
		e.bufs.Put(&buf)
	}
	old.buf = nil
	e.dropLocked(old.n, e.errorf("%w (oldest queued batch)", ErrDropped))
	e.finishLocked(old)
}

// dropLocked counts n dropped entries, with mu held; the report that is due
// goes out when mu is released, and the last window's is given by Flush
// and Close.
func (e *Engine) dropLocked(n int, cause error) {
	if report := e.countDrop(n, cause); report != nil {
		e.reports = append(e.reports, report)
	}
}

// countDrop counts n dropped entries for the next flush, and returns the
// coalesced report that is due, at most one a second, or nil.
func (e *Engine) countDrop(n int, cause error) error {
	e.ledger.Lost(n, cause)
	e.dropsUnrep.Add(int64(n))
	e.lastDropCause.Store(&cause)
	now := time.Now().UnixNano()
	if last := e.lastDropRep.Load(); now-last >= int64(time.Second) && e.lastDropRep.CompareAndSwap(last, now) {
		return e.takeDropReport()
	}
	return nil
}

// takeDropReport returns the report of the drops not reported yet, or nil.
func (e *Engine) takeDropReport() error {
	n := e.dropsUnrep.Swap(0)
	if n == 0 {
		return nil
	}
	var latest error
	if c := e.lastDropCause.Load(); c != nil {
		latest = *c
	}
	return e.errorf("%w: %d entries dropped (pending bound %d bytes); the latest: %v", ErrDropped, n, e.cfg.MaxPendingBytes, latest)
}

func (e *Engine) reportDropsLocked() {
	if report := e.takeDropReport(); report != nil {
		e.reports = append(e.reports, report)
	}
}

func (e *Engine) sealLocked() {
	if e.cur == nil || e.cur.n == 0 {
		return
	}
	e.cur.seq = e.nextSeq
	e.cur.key = e.keyPrefix + strconv.FormatUint(e.nextSeq, 10)
	e.nextSeq++
	if e.spool != nil {
		e.sealSpooledLocked(e.cur)
	}
	e.queue = append(e.queue, e.cur)
	e.cur = nil
	e.wake()
}

func (e *Engine) wake() {
	select {
	case e.work <- struct{}{}:
	default:
	}
}

func (e *Engine) start() {
	for range e.cfg.Concurrency {
		e.wg.Add(1)
		go e.sender()
	}
}

func (e *Engine) sender() {
	defer e.wg.Done()
	var readBuf []byte // entries read back from the spool
	for {
		b := e.next()
		if b == nil {
			return
		}
		undelivered, err := e.deliver(b, &readBuf)
		if err != nil && !e.keepOnStop(b) {
			// Reported before the batch counts as finished, so a flush
			// that returns after it finds the handler told already (or
			// holding the report back: a receiver that refuses every
			// batch, a revoked key, would otherwise have the handler
			// told of each).
			e.failReports.Report(e.errorf("%d entries not delivered: %w", undelivered, err))
		}
		e.lock()
		delete(e.inflight, b.seq)
		e.pending -= b.size
		if b.buf != nil && cap(b.buf) <= 2*e.cfg.MaxBatchBytes {
			buf := b.buf[:0]
			e.bufs.Put(&buf)
		}
		b.buf = nil
		if err != nil {
			if e.keepOnStop(b) {
				b.keep = true // left in the spool for the next process
			} else {
				e.ledger.Lost(undelivered, err)
			}
		}
		e.finishLocked(b)
		e.unlock()
	}
}

// next returns the next batch to send, sealing the current one when it is
// old enough, or nil when the engine is closed and drained.
func (e *Engine) next() *batch {
	e.lock()
	defer e.mu.Unlock()
	for {
		if len(e.queue) > 0 {
			b := e.queue[0]
			e.queue = e.queue[1:]
			e.inflight[b.seq] = b
			if len(e.queue) > 0 {
				e.wake() // more work for another sender
			}
			return b
		}
		var timer *time.Timer
		var wait <-chan time.Time
		if e.cur != nil && e.cur.n > 0 {
			age := time.Since(e.cur.created)
			if age >= e.cfg.MaxBatchAge || e.closed {
				e.sealLocked()
				continue
			}
			timer = time.NewTimer(e.cfg.MaxBatchAge - age)
			wait = timer.C
		} else if e.closed {
			return nil
		}
		e.mu.Unlock()
		select {
		case <-e.work:
		case <-wait:
		case <-e.quit:
		}
		if timer != nil {
			timer.Stop()
		}
		e.lock()
	}
}

// deliver sends b, retrying what Config.Evaluate says to retry with
// exponential backoff and full jitter (or the wait it names), until it
// succeeds, meets a final failure, or exhausts the retry budget. It returns
// how many of b's entries were not delivered, and why.
func (e *Engine) deliver(b *batch, readBuf *[]byte) (undelivered int, err error) {
	entries, err := e.batchEntries(b, readBuf)
	if err != nil {
		return b.n, err
	}
	// A batch the receiver refuses as too large goes out in halves, each
	// under a key derived from the batch's, so a retry or a later process
	// sends the same parts under the same keys. One budget for them all.
	parts := []part{{key: b.key, entries: entries}}
	start := time.Now()
	// tooLarge counts single entries refused for their size: lost alone,
	// while the rest of the batch goes on.
	var tooLarge int
	var tooLargeErr error
	defer func() {
		if tooLarge > 0 {
			undelivered += tooLarge
			if err == nil {
				err = fmt.Errorf("%d entries each larger than the receiver accepts: %w", tooLarge, tooLargeErr)
			}
		}
	}()
	for attempt := 0; len(parts) > 0; attempt++ {
		p := parts[0]
		ctx, cancel := context.WithTimeout(e.sendCtx, e.cfg.RequestTimeout)
		err := e.callSend(ctx, p.key, p.entries)
		cancel()
		if err == nil {
			parts, attempt = parts[1:], -1
			continue
		}
		if errors.Is(err, ErrSendPanicked) {
			return entriesIn(parts), err
		}
		if e.sendCtx.Err() != nil {
			return entriesIn(parts), fmt.Errorf("stopped before delivery: %w", err)
		}
		if e.cfg.TooLarge != nil && e.cfg.TooLarge(err) {
			if len(p.entries) == 1 {
				tooLarge, tooLargeErr = tooLarge+1, err
				parts = parts[1:]
			} else {
				half := len(p.entries) / 2
				parts = append([]part{{p.key + ".1", p.entries[:half]}, {p.key + ".2", p.entries[half:]}}, parts[1:]...)
			}
			attempt = -1
			continue
		}
		retry, wait := e.cfg.Evaluate(err)
		if !retry {
			return entriesIn(parts), err
		}
		if wait <= 0 {
			wait = e.backoff(attempt)
		}
		// Compared as what is left, not as a sum: a named wait can be
		// as long as a Duration goes, and the sum would wrap negative.
		if elapsed := time.Since(start); wait > e.cfg.RetryBudget-elapsed {
			return entriesIn(parts), fmt.Errorf("gave up after %d attempts in %v: %w", attempt+1, elapsed.Round(time.Millisecond), err)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-e.sendCtx.Done():
			t.Stop()
			return entriesIn(parts), fmt.Errorf("stopped while waiting to retry: %w", err)
		}
	}
	return 0, nil
}

// part is what is left to send of a batch: all of it, or a part of a part
// the receiver refused as too large.
type part struct {
	key     string
	entries [][]byte
}

func entriesIn(parts []part) (n int) {
	for _, p := range parts {
		n += len(p.entries)
	}
	return n
}

// callSend makes one attempt. Send runs the caller's code (an injected
// http.Client's transport) on the engine's goroutine, where a panic would
// end the program: it is contained and fails the batch instead.
func (e *Engine) callSend(ctx context.Context, key string, entries [][]byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %v", ErrSendPanicked, v)
		}
	}()
	return e.send.Send(ctx, key, entries)
}

// backoff is "full jitter": a uniform wait between zero and the exponential
// ceiling, so many clients recovering at once do not retry in lockstep.
func (e *Engine) backoff(attempt int) time.Duration {
	ceiling := e.cfg.MaxBackoff
	// Shifted only while the result stays below the cap: InitialBackoff
	// shifted past what a Duration holds wraps negative (30 s does at the
	// 29th attempt), and rand.N panics on that.
	if attempt < 63 && e.cfg.InitialBackoff <= e.cfg.MaxBackoff>>attempt {
		ceiling = e.cfg.InitialBackoff << attempt
	}
	return rand.N(max(ceiling, 1)) + 1
}

// finishLocked records that b is done, delivered or not (a loss is in the
// ledger already).
func (e *Engine) finishLocked(b *batch) {
	e.finished[b.seq] = b
	var last *batch
	for {
		f := e.finished[e.doneTo]
		if f == nil {
			break
		}
		delete(e.finished, e.doneTo)
		e.doneTo++
		last = f
		if e.spool != nil {
			e.ackSpooledLocked(f)
		}
	}
	if last != nil {
		e.done.Broadcast()
	}
	e.freed++
	e.space.Broadcast()
	e.recomputeOldestLocked()
}

// noteBatchLocked publishes b's start as the oldest when nothing older is
// undelivered.
func (e *Engine) noteBatchLocked(b *batch) {
	if b.n > 0 && e.oldest.Load() == 0 {
		e.oldest.Store(b.created.UnixNano())
	}
}

// recomputeOldestLocked publishes the start of the oldest undelivered
// batch after one finished. It visits every outstanding batch, as many as
// the pending bound allows, only when a batch finishes.
func (e *Engine) recomputeOldestLocked() {
	var oldest int64
	consider := func(b *batch) {
		if b == nil || b.n == 0 {
			return
		}
		if t := b.created.UnixNano(); oldest == 0 || t < oldest {
			oldest = t
		}
	}
	consider(e.cur)
	for _, b := range e.queue {
		consider(b)
	}
	for _, b := range e.inflight {
		consider(b)
	}
	e.oldest.Store(oldest)
}

// Flush sends everything added before it and waits until each batch is
// delivered or given up on, or ctx ends. It returns nil only when nothing
// was lost since the previous flush: every entry dropped at the bound,
// refused by the receiver or given up on after retries is counted by
// exactly one flush's error. When ctx ends first, the entries stay pending
// and the error says how many.
func (e *Engine) Flush(ctx context.Context) error {
	// An ended context starts no flush: what is pending stays pending, and
	// the answer does not depend on whether a sender happened to be quick.
	if err := ctx.Err(); err != nil {
		e.syncSpoolInBackground()
		return e.errorf("flush: %w", err)
	}
	var abandoned int
	err := e.detach(ctx, "flush", 0, func() error {
		var err error
		abandoned, err = e.awaitDelivered(ctx)
		return err
	})
	if err != nil {
		// What this flush did not see delivered goes to the disk
		// (SyncOnFlush), without holding the flush past its deadline.
		// Started here, once, before Flush returns: not by a wait that
		// may outlive this call.
		e.syncSpoolInBackground()
		return err
	}
	// Taken here, not in awaitDelivered: a detached wait that outlives
	// this call must not consume what the next flush has to report.
	if err := e.ledger.Take(); err != nil {
		return e.errorf("flush: %w", err)
	}
	if abandoned > 0 {
		// Close reported the loss already; this flush, which was
		// waiting for those entries, must not answer nil.
		return e.errorf("flush: closed with %d entries undelivered", abandoned)
	}
	return nil
}

// awaitDelivered seals the current batch and waits until every batch
// sealed by then is finished, or ctx ends. It returns how many entries
// Close abandoned.
func (e *Engine) awaitDelivered(ctx context.Context) (abandoned int, err error) {
	e.lock()
	e.sealLocked()
	to := e.nextSeq // wait for every seq below
	if err := e.done.Wait(ctx, locker{e}, func() bool { return e.doneTo >= to }); err != nil {
		n := e.pendingEntriesLocked(to)
		e.unlock()
		return 0, e.errorf("flush: %d entries not yet delivered, still pending: %w", n, err)
	}
	e.reportDropsLocked()
	abandoned = e.abandoned
	e.unlock()
	return abandoned, nil
}

// detach runs f, and with a spool runs it on a goroutine of its own that
// the caller waits for no longer than ctx: with a spool, mu is held across
// writes to disk (and f may write, sealing a batch), so a disk that stops
// answering would otherwise hold a Flush or Close past its deadline. f
// then finishes in the background once the disk answers.
//
// grace extends the wait past ctx: Close uses it so that on a disk that
// answers, everything is released (the spool's lock included) before it
// returns, even on an ended ctx.
func (e *Engine) detach(ctx context.Context, what string, grace time.Duration, f func() error) error {
	if e.spool == nil {
		return f()
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		if grace > 0 {
			t := time.NewTimer(grace)
			defer t.Stop()
			select {
			case err := <-done:
				return err
			case <-t.C:
			}
		}
		select {
		case err := <-done: // a result that is ready wins
			return err
		default:
		}
		return e.errorf("%s: the spool's disk has not answered (a write is still in progress; it goes on in the background): %w", what, ctx.Err())
	}
}

func (e *Engine) pendingEntriesLocked(to uint64) int {
	n := 0
	for _, b := range e.queue {
		if b.seq < to {
			n += b.n
		}
	}
	for seq, b := range e.inflight {
		if seq < to {
			n += b.n
		}
	}
	return n
}

// Close flushes within ctx, then stops the senders. If ctx ends first (or
// has already ended), what is still pending is abandoned, counted as lost
// and reported, so that no goroutine outlives Close; an in-flight request
// is cancelled. Later and concurrent calls wait for the first within their
// own ctx and return its result.
// closeGrace is how long Close waits past its context for the rest of
// closing (cancelling sends, closing the spool), which takes milliseconds
// unless the spool's disk has stopped answering.
const closeGrace = 250 * time.Millisecond

func (e *Engine) Close(ctx context.Context) error {
	return e.closeOnce.Do(ctx, e.cfg.Name+": close", func() error {
		return e.detach(ctx, "close", closeGrace, func() error { return e.close(ctx) })
	})
}

// Finished is closed once Close's work is complete: every file closed and
// the spool's lock released, also when Close returned early on its
// context and the rest went on in the background (a stalled disk).
func (e *Engine) Finished() <-chan struct{} { return e.closedDone }

func (e *Engine) close(ctx context.Context) error {
	defer close(e.closedDone)
	if e.spool != nil {
		// An exporter rebuilt in this process on the directory waits for
		// this close to finish, as it would for another process.
		e.spool.Closing()
	}
	// Refuse new entries first, so the final flush covers everything
	// accepted.
	e.lock()
	e.closed = true
	e.space.Broadcast() // an Add waiting for room gives up now
	e.mu.Unlock()
	flushErr := e.Flush(ctx)
	e.lock()
	abandoned := 0
	if e.cur != nil {
		abandoned += e.cur.n
		e.cur = nil
	}
	for _, b := range e.queue {
		abandoned += b.n
		e.pending -= b.size
		b.keep = e.spool != nil
		// Finished (lost, or kept in the spool): a flush still
		// waiting for it must return.
		e.finishLocked(b)
	}
	e.queue = nil
	e.abandoned = abandoned
	if abandoned > 0 {
		if e.spool != nil {
			// Not lost: the next process sends them, with their keys.
			e.reports = append(e.reports, e.errorf("closed with %d entries undelivered; they stay in the spool (%s) for the next start", abandoned, e.cfg.Spool.Dir))
		} else {
			err := e.errorf("closed with %d entries undelivered", abandoned)
			e.ledger.Lost(abandoned, err)
			e.reports = append(e.reports, err)
		}
	}
	e.reportDropsLocked()
	e.unlock()
	if flushErr != nil {
		e.cancelSend() // in-flight requests and retry waits end now
	}
	close(e.quit)
	e.wg.Wait()
	e.failReports.Close() // the senders are done: nothing more to hold
	e.cancelSend()
	e.syncMu.Lock()
	e.syncClosed = true
	e.syncMu.Unlock()
	e.syncWG.Wait()
	if e.spool != nil {
		if err := e.spool.Close(); err != nil {
			e.ledger.Lost(0, e.errorf("%w", err))
		}
	}
	// Whatever the flush did not report (abandoned entries, in-flight
	// batches cancelled just now) is reported here.
	return errors.Join(flushErr, e.takeLoss())
}

func (e *Engine) takeLoss() error {
	if err := e.ledger.Take(); err != nil {
		return e.errorf("%w", err)
	}
	return nil
}
