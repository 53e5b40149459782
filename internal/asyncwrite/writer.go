// Package asyncwrite buffers newline-terminated entries in memory and writes
// them to an io.Writer from one goroutine of its own.
//
// The point is the flush contract: I/O on an io.Writer cannot be cancelled,
// so a caller that must honour a deadline cannot make the write itself. Here
// callers append to a buffer and wait for the result or for their context,
// whichever comes first; what they appended is written later if the writer
// was only slow, never dropped.
//
// Memory is bounded in bytes: at most maxPending bytes of entries (plus one
// entry that is larger on its own) wait for the writer, counting both what
// is being written and what is still collecting. Lines collect in buffers
// of the given size, reused; a full one waits in a queue for the goroutine. When the bound is reached,
// Write waits, up to its context and without holding any lock, for the
// writer to catch up; an entry it then refuses is reported to the caller and
// to the next Flush, never silently dropped.
//
// A flush is a marker, not a buffer: Flush notes how many bytes had been
// appended at its call and waits until the goroutine has written and synced
// at least that many. Any number of flushes, timed out or not, cost no
// memory of their own.
package asyncwrite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/fapilog/fapilog-otel/internal/errlimit"
	"github.com/fapilog/fapilog-otel/internal/flushacct"
	"github.com/fapilog/fapilog-otel/internal/monotime"
	"github.com/fapilog/fapilog-otel/internal/onceerr"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("closed")

// ErrWriterPanicked marks the failure of a destination whose Write, Flush
// or Sync panicked. No more lines go to it: a panic may have left it
// half-way through a line or holding a lock.
var ErrWriterPanicked = errors.New("the destination panicked; no more lines go to it")

// DefaultMaxDelay is how long a line may wait in a partly filled buffer.
const DefaultMaxDelay = time.Second

// Writer is safe for concurrent use.
type Writer struct {
	name       string // prefixes every error, as the sink's own package would
	w          io.Writer
	size       int // bytes that make the goroutine take the buffer at once
	maxPending int
	maxDelay   time.Duration
	// reporter hears of every failed write or sync, and of every success,
	// which releases what it held back.
	reporter *errlimit.Reporter

	// mu guards everything below it. It is only ever held briefly: never
	// across I/O and never while waiting.
	mu      sync.Mutex
	cur     []byte   // lines appended and not yet taken by the goroutine
	full    [][]byte // filled buffers waiting for the goroutine, oldest first
	fullLen int      // bytes in full
	free    [][]byte // written buffers, to fill again
	big     []byte   // one buffer kept for entries larger than size
	writing int      // bytes the goroutine has taken and is writing
	// writeStart is when the goroutine began its current write
	// (monotime).
	writeStart time.Duration
	appended   int64 // bytes ever appended
	written    int64 // bytes ever handled by the goroutine (written or lost)
	synced     int64 // bytes covered by the last completed sync
	flushReq   int64 // the highest appended count a flush waits for
	writeReq   int64 // the highest appended count a WriteBatch waits to see written
	// roomWanted tells the goroutine that a writer waits for room, so it
	// takes even a small buffer at once.
	roomWanted bool
	started    bool
	closed     bool
	// progress is broadcast whenever written or synced advances, waking
	// writers waiting for room and flushes waiting for their marker.
	progress flushacct.Cond
	wake     chan struct{} // capacity 1: work for the goroutine
	exited   chan struct{} // closed when the goroutine has ended

	closeOnce onceerr.Once

	ledger flushacct.Ledger

	// state is written by the goroutine and read by HealthCheck.
	state   sync.Mutex
	lastErr error

	// broken is set, and read, by the goroutine only: the destination
	// panicked, and every later write or sync fails with it.
	broken error
}

// New returns a Writer that hands lines to w once about size bytes have
// collected (or on Flush, or after the maximum delay), and lets at most
// maxPending bytes wait for w (at least twice size). No goroutine starts
// until the first Write.
func New(name string, w io.Writer, size, maxPending int) *Writer {
	if size <= 0 {
		size = 64 << 10
	}
	return &Writer{
		name:       name,
		w:          w,
		size:       size,
		maxPending: max(maxPending, 2*size),
		maxDelay:   DefaultMaxDelay,
		reporter:   errlimit.New(nil, reportEvery),
		wake:       make(chan struct{}, 1),
		exited:     make(chan struct{}),
	}
}

// SetErrorHandler makes failed writes and syncs known to f as they happen
// (sinks pass otel.Handle), in addition to the next Flush's result, which
// has every one of them. A destination that fails on every write (a full
// disk) would flood f, so f hears of the first failure at once and of the
// ones after it at most once a second, counted (package errlimit); what is
// held back when the Writer closes is reported then. Call it before the
// first Write.
func (aw *Writer) SetErrorHandler(f func(error)) {
	if f != nil {
		aw.reporter = errlimit.New(f, reportEvery)
	}
}

// reportEvery is the error handler's interval; tests lengthen it.
var reportEvery = time.Second

// SetMaxDelay sets how long a line may wait in a partly filled buffer before
// it is written without a Flush. Call it before the first Write.
func (aw *Writer) SetMaxDelay(d time.Duration) {
	if d > 0 {
		aw.maxDelay = d
	}
}

// errorf formats an error prefixed with the writer's name.
func (aw *Writer) errorf(format string, a ...any) error {
	return fmt.Errorf(aw.name+": "+format, a...)
}

// Write appends entry and a newline. It waits only when maxPending bytes
// are already waiting for the writer, and then no longer than ctx allows
// (an ended ctx does not wait at all). An entry that returns an error was
// not accepted; it is also counted against the next Flush.
func (aw *Writer) Write(ctx context.Context, entry []byte) error {
	aw.mu.Lock()
	err := aw.appendLocked(ctx, entry)
	aw.mu.Unlock()
	if err != nil && !errors.Is(err, ErrClosed) {
		aw.ledger.Lost(1, err)
	}
	return err
}

// WriteThroughWait bounds how long WriteBatch waits for its entries to be
// written: a writer that has been blocked longer is not waited for.
const WriteThroughWait = time.Second

// WriteBatch appends entries in order, as Write does each, taking the lock
// once for all of them, and then waits until they have been handed to the
// writer (for a file or a pipe: they are in the kernel, and survive the
// process being killed), but no longer than ctx allows or
// WriteThroughWait, and not at all while the writer has been stuck in one
// write for longer than that. Entries still waiting then (a blocked
// writer) stay accepted and are written later; that is not an error. When
// one entry cannot be taken, neither are the ones after it: it returns how
// many were not taken and why.
func (aw *Writer) WriteBatch(ctx context.Context, entries [][]byte) (failed int, err error) {
	aw.mu.Lock()
	failed, err = aw.appendAllLocked(ctx, entries)
	blocked := aw.writing > 0 && monotime.Now()-aw.writeStart > WriteThroughWait
	if target := aw.appended; aw.written < target && !aw.closed && !blocked {
		// Many concurrent batches share one write: the goroutine takes
		// everything appended by the time it wakes.
		aw.writeNowLocked(target)
		_ = aw.progress.WaitFor(ctx, &aw.mu, WriteThroughWait, func() bool { return aw.written >= target || aw.closed })
	}
	aw.mu.Unlock()
	if err != nil && !errors.Is(err, ErrClosed) {
		aw.ledger.Lost(failed, err)
	}
	return failed, err
}

// AppendBatch appends entries in order, as WriteBatch does, without waiting
// for them to be written: the goroutine writes each buffer as it fills. A
// caller that encodes a large batch hands it over in parts with
// AppendBatch, so that the first part is written while it encodes the rest,
// and ends with WriteBatch, whose wait covers every part.
func (aw *Writer) AppendBatch(ctx context.Context, entries [][]byte) (failed int, err error) {
	aw.mu.Lock()
	failed, err = aw.appendAllLocked(ctx, entries)
	// The goroutine takes this part now, even a buffer not yet full: it is
	// written while the caller encodes the next.
	if aw.written < aw.appended && !aw.closed {
		aw.writeNowLocked(aw.appended)
	}
	aw.mu.Unlock()
	if err != nil && !errors.Is(err, ErrClosed) {
		aw.ledger.Lost(failed, err)
	}
	return failed, err
}

// writeNowLocked has the goroutine write everything up to target at once,
// even a buffer not yet full.
func (aw *Writer) writeNowLocked(target int64) {
	aw.writeReq = max(aw.writeReq, target)
	aw.signal()
}

// appendAllLocked appends entries until one cannot be taken, and returns
// how many were not taken and why.
func (aw *Writer) appendAllLocked(ctx context.Context, entries [][]byte) (failed int, err error) {
	for i, entry := range entries {
		if err := aw.appendLocked(ctx, entry); err != nil {
			return len(entries) - i, err
		}
	}
	return 0, nil
}

// appendLocked appends one entry; aw.mu is held on entry and on return,
// but released while waiting for room.
func (aw *Writer) appendLocked(ctx context.Context, entry []byte) error {
	need := len(entry) + 1
	var err error
	if pending := aw.pendingLocked(); pending != 0 && pending+need > aw.maxPending && !aw.closed {
		err = aw.progress.Wait(ctx, &aw.mu, func() bool {
			pending := aw.pendingLocked()
			if aw.closed || pending == 0 || pending+need <= aw.maxPending {
				return true
			}
			// Full: let the goroutine know (again after each of
			// its writes, which clear the request), then wait.
			aw.roomWanted = true
			aw.signal()
			return false
		})
	}
	if aw.closed {
		return aw.errorf("write: %w", ErrClosed)
	}
	if err != nil {
		return aw.errorf("write: %d bytes already waiting for the writer: %w", aw.pendingLocked(), err)
	}
	if !aw.started {
		aw.started = true
		go aw.run()
	}
	// A buffer that would grow past its size is sealed instead: appending
	// would reallocate and copy it, again and again while the goroutine
	// is still waking up.
	if len(aw.cur) > 0 && len(aw.cur)+need > aw.size {
		aw.full = append(aw.full, aw.cur)
		aw.fullLen += len(aw.cur)
		aw.cur = nil
		aw.signal() // once per buffer: a signal per line costs more than the line
	}
	if need > aw.size {
		// An entry larger than a buffer (a batched OTLP line) goes in a
		// buffer of its own, reused for the next such entry.
		buf := aw.big[:0]
		aw.big = nil
		buf = append(buf, entry...)
		buf = append(buf, '\n')
		aw.full = append(aw.full, buf)
		aw.fullLen += len(buf)
		aw.appended += int64(need)
		aw.signal()
		return nil
	}
	if aw.cur == nil {
		if k := len(aw.free); k > 0 {
			aw.cur = aw.free[k-1]
			aw.free = aw.free[:k-1]
		} else {
			aw.cur = make([]byte, 0, aw.size)
		}
	}
	aw.cur = append(aw.cur, entry...)
	aw.cur = append(aw.cur, '\n')
	aw.appended += int64(need)
	if len(aw.cur) >= aw.size { // one entry filled a buffer on its own
		aw.signal()
	}
	return nil
}

// pendingLocked counts the bytes waiting for or being written by the
// goroutine.
func (aw *Writer) pendingLocked() int {
	return len(aw.cur) + aw.writing + aw.fullLen
}

// signal wakes the goroutine; aw.mu must be held.
func (aw *Writer) signal() {
	select {
	case aw.wake <- struct{}{}:
	default:
	}
}

// Flush waits until everything written before it is handed to the
// underlying writer and synced, and returns nil only then and only if
// nothing was lost since the previous flush. If ctx ends first (an ended
// ctx ends it at once), Flush returns an error wrapping ctx.Err() and the
// data stays queued for the next flush.
func (aw *Writer) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return aw.errorf("flush: %w", err)
	}
	aw.mu.Lock()
	target := aw.appended
	if aw.synced < target {
		aw.flushReq = max(aw.flushReq, target)
		aw.signal()
	}
	err := aw.progress.Wait(ctx, &aw.mu, func() bool { return aw.synced >= target })
	if err != nil {
		err = aw.errorf("flush: %d bytes not yet written: %w", target-aw.synced, err)
	}
	aw.mu.Unlock()
	if err != nil {
		return err
	}
	return aw.takeLoss()
}

func (aw *Writer) takeLoss() error {
	if err := aw.ledger.Take(); err != nil {
		return aw.errorf("%w", err)
	}
	return nil
}

// Close refuses further writes and lets the goroutine write and sync
// everything buffered, then end. If ctx ends first (or has already ended),
// Close returns an error wrapping ctx.Err() saying how many bytes are still
// being written: the goroutine goes on writing them in the background and
// ends as soon as the underlying writer lets it (Done tells when), so
// nothing accepted is dropped and nothing is written after Done. Later and
// concurrent calls wait for the first within their own ctx and return its
// result.
func (aw *Writer) Close(ctx context.Context) error {
	return aw.closeOnce.Do(ctx, aw.name+": close", func() error { return aw.close(ctx) })
}

func (aw *Writer) close(ctx context.Context) error {
	aw.mu.Lock()
	aw.closed = true
	if !aw.started {
		close(aw.exited)
		aw.mu.Unlock()
		return aw.takeLoss()
	}
	aw.flushReq = max(aw.flushReq, aw.appended)
	aw.signal()
	aw.mu.Unlock()
	select {
	case <-aw.exited:
		return aw.takeLoss()
	default:
	}
	select {
	case <-aw.exited:
		return aw.takeLoss()
	case <-ctx.Done():
		aw.mu.Lock()
		left := aw.appended - aw.written
		aw.mu.Unlock()
		return aw.errorf("close: %d bytes still being written in the background: %w", left, ctx.Err())
	}
}

// Done is closed when the goroutine has ended after Close: from then on
// nothing more is written to the underlying writer, which its owner may
// close.
func (aw *Writer) Done() <-chan struct{} { return aw.exited }

// HealthCheck returns the error of the most recent write or sync, nil when it
// succeeded.
func (aw *Writer) HealthCheck() error {
	aw.state.Lock()
	defer aw.state.Unlock()
	return aw.lastErr
}

// Lost returns how many entries were lost (refused, or in a failed write)
// since New.
func (aw *Writer) Lost() int64 { return aw.ledger.Total() }

func (aw *Writer) run() {
	defer close(aw.exited)
	defer aw.reporter.Close()
	tick := time.NewTicker(aw.maxDelay)
	defer tick.Stop()
	idleTick := false
	for {
		aw.mu.Lock()
		var buf []byte
		switch {
		case len(aw.full) > 0:
			buf = aw.full[0]
			// Shifted down rather than resliced: reslicing from the
			// front gives up capacity, and the next append of a full
			// buffer then allocates. The queue is short (maxPending
			// over size buffers at most).
			n := copy(aw.full, aw.full[1:])
			aw.full[n] = nil
			aw.full = aw.full[:n]
			aw.fullLen -= len(buf)
		case len(aw.cur) > 0 &&
			(len(aw.cur) >= aw.size || aw.flushReq > aw.written || aw.writeReq > aw.written || aw.closed || aw.roomWanted || idleTick):
			buf = aw.cur
			aw.cur = nil
		}
		take := buf != nil
		if len(aw.full) == 0 {
			idleTick, aw.roomWanted = false, false
		}
		if !take {
			needSync := aw.flushReq > aw.synced && aw.written >= aw.flushReq
			if needSync {
				aw.mu.Unlock()
				aw.syncNow()
				continue
			}
			if aw.closed {
				aw.mu.Unlock()
				return
			}
			aw.mu.Unlock()
			select {
			case <-aw.wake:
			case <-tick.C:
				idleTick = true
			}
			continue
		}
		aw.writing = len(buf)
		aw.writeStart = monotime.Now()
		aw.mu.Unlock()

		err := aw.writeAll(buf)
		aw.report(err)

		aw.mu.Lock()
		aw.written += int64(len(buf))
		aw.writing = 0
		// Reused, so steady state allocates nothing; a buffer grown by
		// one huge entry is not kept. The bound on pending bytes bounds
		// how many buffers exist.
		switch {
		case cap(buf) <= 2*aw.size:
			aw.free = append(aw.free, buf[:0])
		case cap(buf) <= aw.maxPending && cap(buf) > cap(aw.big):
			aw.big = buf[:0]
		}
		aw.advanceLocked()
		aw.mu.Unlock()
	}
}

// syncNow syncs what has been written so far and marks it synced.
func (aw *Writer) syncNow() {
	aw.mu.Lock()
	covered := aw.written
	aw.mu.Unlock()
	// A sync that succeeds does not clear the health error of a failed
	// write before it: only a successful write does.
	if err := aw.sync(); err != nil {
		aw.report(err)
		aw.ledger.Lost(0, err)
	}
	aw.mu.Lock()
	aw.synced = covered
	aw.advanceLocked()
	aw.mu.Unlock()
}

func (aw *Writer) advanceLocked() { aw.progress.Broadcast() }

// report records the outcome of the latest write or sync for HealthCheck
// and passes a failure to the error handler, outside every lock.
func (aw *Writer) report(err error) {
	aw.state.Lock()
	aw.lastErr = err
	aw.state.Unlock()
	aw.reporter.Report(err)
}

func (aw *Writer) writeAll(buf []byte) error {
	n, err := aw.callWrite(buf)
	if err == nil && n < len(buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		// Whatever was not written is lost; a line cut short counts as
		// lost too.
		lost := bytes.Count(buf[max(0, min(n, len(buf))):], []byte{'\n'})
		err = aw.errorf("write: %w", err)
		aw.ledger.Lost(lost, err)
		return fmt.Errorf("%w (%d entries lost)", err, lost)
	}
	return nil
}

// sync pushes data below the io.Writer: a Flush method of a buffering writer
// first, then fsync where the target supports it. Pipes, terminals and
// character devices reject fsync with EINVAL or ENOTTY, which means there is
// nothing further to push, not a failure (zap's open issue #880).
func (aw *Writer) sync() error {
	err := aw.callSync()
	if errors.Is(err, ErrWriterPanicked) {
		return aw.errorf("sync: %w", err)
	}
	return err
}

// callSync is syncTarget as callWrite is Write: a panic is contained.
func (aw *Writer) callSync() (err error) {
	if aw.broken != nil {
		return aw.broken
	}
	defer aw.contain(&err)
	return aw.syncTarget()
}

// callWrite calls the destination's Write. The destination is the
// caller's (stdoutjson's WithWriter takes any io.Writer), and it runs on
// this package's goroutine, where a panic would end the program: a panic
// is contained instead, as a panicking sink's is, and the destination is
// not called again.
func (aw *Writer) callWrite(buf []byte) (n int, err error) {
	if aw.broken != nil {
		return 0, aw.broken
	}
	defer aw.contain(&err)
	return aw.w.Write(buf)
}

// contain turns a panic of the destination into *err and marks the
// destination broken. It must be deferred directly.
func (aw *Writer) contain(err *error) {
	if v := recover(); v != nil {
		aw.broken = fmt.Errorf("%w (%v)", ErrWriterPanicked, v)
		*err = aw.broken
	}
}

func (aw *Writer) syncTarget() error {
	if f, ok := aw.w.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			return aw.errorf("flush target: %w", err)
		}
	}
	s, ok := aw.w.(interface{ Sync() error })
	if !ok {
		return nil
	}
	if f, isFile := aw.w.(*os.File); isFile {
		if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
			return nil
		}
	}
	if err := s.Sync(); err != nil && !unsyncable(err) {
		return aw.errorf("sync: %w", err)
	}
	return nil
}

func unsyncable(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTTY) ||
		errors.Is(err, syscall.ENOTSUP) || errors.Is(err, os.ErrInvalid)
}
