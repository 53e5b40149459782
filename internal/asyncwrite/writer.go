// Package asyncwrite buffers newline-terminated entries in memory and writes
// them to an io.Writer from one goroutine of its own.
//
// The point is the flush contract: I/O on an io.Writer cannot be cancelled,
// so a caller that must honour a deadline cannot make the write itself. Here
// the caller hands a buffer over and waits for the result or for its
// context, whichever comes first; what it handed over is written later if
// the writer was only slow, never dropped.
//
// Memory is bounded: entries collect in chunks of a configured size, and at
// most a configured number of bytes (rounded up to whole chunks, each of
// which may exceed its size by one entry) wait for the writer. When that
// bound is reached, Write waits, up to its context, for the writer to catch
// up; an entry it then refuses is reported to the caller, never silently
// dropped.
package asyncwrite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fapilog/fapilog-otel/internal/ctxsync"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("closed")

// Writer is safe for concurrent use.
type Writer struct {
	name string // prefixes every error, as the sink's own package would
	w    io.Writer
	size int

	// mu guards the fields below it and orders hand-offs, so buffers reach
	// the goroutine in the order their entries were written.
	mu      *ctxsync.Mutex
	cur     []byte
	started bool
	closed  bool

	free      chan []byte // written chunks, ready to be filled again
	allocated int         // chunks in existence; guarded by mu
	jobs      chan job
	exited    chan struct{}

	// state is written by the goroutine and read by HealthCheck.
	state   sync.Mutex
	lastErr error
	// pending holds write errors not yet reported by a flush; only the
	// goroutine touches it.
	pending error
	// lost counts entries (lines) that a failed write did not deliver.
	lost atomic.Int64
	// onError, when set, hears of every failed write or sync as it
	// happens, so a failure is not kept waiting for the next Flush.
	onError func(error)
	// maxDelay bounds how long a line waits for its chunk to fill.
	maxDelay time.Duration
}

// SetErrorHandler makes every failed write or sync known to f as it happens
// (sinks pass otel.Handle), in addition to the next Flush's result. Call it
// before the first Write.
func (aw *Writer) SetErrorHandler(f func(error)) { aw.onError = f }

type job struct {
	buf []byte
	// res, when set, makes this job a flush: after writing buf the
	// goroutine syncs the target and sends every error since the previous
	// flush.
	res chan error
}

// New returns a Writer that writes to w in chunks of about size bytes and
// lets at most maxPending bytes wait for w (at least two chunks: one filling,
// one being written). No goroutine starts until the first Write.
func New(name string, w io.Writer, size, maxPending int) *Writer {
	if size <= 0 {
		size = 64 << 10
	}
	chunks := max(2, (maxPending+size-1)/size)
	return &Writer{
		name:      name,
		w:         w,
		size:      size,
		mu:        ctxsync.NewMutex(),
		cur:       make([]byte, 0, size),
		allocated: 1,
		free:      make(chan []byte, chunks),
		// Room for every chunk plus flush jobs, so a hand-off of a chunk
		// never blocks.
		jobs:     make(chan job, chunks+2),
		exited:   make(chan struct{}),
		maxDelay: DefaultMaxDelay,
	}
}

// Write appends entry and a newline. It blocks only when both buffers are
// waiting on the underlying writer, and then no longer than ctx allows; an
// entry that returns an error was not accepted.
func (aw *Writer) Write(ctx context.Context, entry []byte) error {
	// An ended ctx only refuses entries that would have to wait for the
	// writer: taking the lock from a brief holder and a free chunk does not.
	if err := aw.mu.LockAccepting(ctx); err != nil {
		return aw.errorf("write: %w", err)
	}
	defer aw.mu.Unlock()
	if aw.closed {
		return aw.errorf("write: %w", ErrClosed)
	}
	if !aw.started {
		aw.started = true
		go aw.run()
	}
	if len(aw.cur) > 0 && len(aw.cur)+len(entry)+1 > aw.size {
		if err := aw.handOff(ctx, nil); err != nil {
			return aw.errorf("write: waiting for room: %w", err)
		}
	}
	aw.cur = append(aw.cur, entry...)
	aw.cur = append(aw.cur, '\n')
	return nil
}

// Flush hands everything written so far to the goroutine and waits until it
// is written and synced. If ctx ends first, Flush returns an error wrapping
// ctx.Err() and the data stays queued.
func (aw *Writer) Flush(ctx context.Context) error {
	if err := aw.mu.Lock(ctx); err != nil {
		return aw.errorf("flush: %w", err)
	}
	if aw.closed || !aw.started {
		aw.mu.Unlock()
		return nil
	}
	res, err := aw.requestFlush(ctx)
	aw.mu.Unlock()
	if err != nil {
		return aw.errorf("flush: %w", err)
	}
	return aw.wait(ctx, res)
}

// requestFlush queues a flush job; aw.mu must be held.
func (aw *Writer) requestFlush(ctx context.Context) (chan error, error) {
	res := make(chan error, 1)
	if len(aw.cur) > 0 {
		return res, aw.handOff(ctx, res)
	}
	select {
	case aw.jobs <- job{res: res}:
		return res, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// errorf formats an error prefixed with the writer's name.
func (aw *Writer) errorf(format string, a ...any) error {
	return fmt.Errorf(aw.name+": "+format, a...)
}

func (aw *Writer) wait(ctx context.Context, res chan error) error {
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return aw.errorf("flush: waiting for the writer: %w", ctx.Err())
	}
}

// handOff queues the current chunk and takes a free one, allocating while
// under the bound; aw.mu must be held.
func (aw *Writer) handOff(ctx context.Context, res chan error) error {
	var next []byte
	select {
	case next = <-aw.free:
	default:
		if aw.allocated < cap(aw.free) {
			aw.allocated++
			next = make([]byte, 0, aw.size)
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		select {
		case next = <-aw.free:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// A chunk is either being filled, queued, or free, and jobs has room
	// for all of them, so this send cannot block.
	aw.jobs <- job{buf: aw.cur, res: res}
	aw.cur = next
	return nil
}

// Close flushes, then ends the goroutine once everything queued is written.
// It returns early with an error wrapping ctx.Err() if the underlying writer
// is still blocked when ctx ends; the goroutine then ends as soon as the
// writer returns. Calls after the first return nil.
func (aw *Writer) Close(ctx context.Context) error {
	if err := aw.mu.Lock(ctx); err != nil {
		return aw.errorf("close: %w", err)
	}
	if aw.closed {
		aw.mu.Unlock()
		return nil
	}
	if !aw.started {
		aw.closed = true
		aw.mu.Unlock()
		return nil
	}
	res := make(chan error, 1)
	select {
	case aw.jobs <- job{buf: aw.cur, res: res}:
	case <-ctx.Done():
		aw.mu.Unlock()
		return aw.errorf("close: %w", ctx.Err())
	}
	aw.closed = true
	aw.cur = nil
	close(aw.jobs)
	aw.mu.Unlock()
	if err := aw.wait(ctx, res); err != nil {
		return err
	}
	select {
	case <-aw.exited:
		return nil
	case <-ctx.Done():
		return aw.errorf("close: %w", ctx.Err())
	}
}

// HealthCheck returns the error of the most recent write or sync, nil when it
// succeeded.
func (aw *Writer) HealthCheck() error {
	aw.state.Lock()
	defer aw.state.Unlock()
	return aw.lastErr
}

func (aw *Writer) run() {
	defer close(aw.exited)
	tick := time.NewTicker(aw.maxDelay)
	defer tick.Stop()
	for {
		select {
		case j, ok := <-aw.jobs:
			if !ok {
				return
			}
			aw.do(j)
		case <-tick.C:
			aw.handOffIdle()
		}
	}
}

// handOffIdle queues a partly filled chunk, so lines reach the writer within
// about maxDelay even when traffic is too light to fill a chunk and nobody
// flushes. It never waits: when a writer holds the lock or no chunk is free,
// the next tick tries again.
func (aw *Writer) handOffIdle() {
	if !aw.mu.TryLock() {
		return
	}
	defer aw.mu.Unlock()
	if aw.closed || len(aw.cur) == 0 {
		return
	}
	var next []byte
	select {
	case next = <-aw.free:
	default:
		if aw.allocated >= cap(aw.free) {
			return
		}
		aw.allocated++
		next = make([]byte, 0, aw.size)
	}
	select {
	case aw.jobs <- job{buf: aw.cur}:
		aw.cur = next
	default:
		aw.free <- next
	}
}

// do writes one job's chunk, syncs for a flush job, and reports the result.
func (aw *Writer) do(j job) {
	err := aw.writeAll(j.buf)
	if j.res != nil {
		err = errors.Join(err, aw.sync())
	}
	aw.state.Lock()
	aw.lastErr = err
	aw.state.Unlock()
	if err != nil {
		if aw.pending == nil {
			aw.pending = err
		}
		if aw.onError != nil {
			aw.onError(err)
		}
	}
	if j.res != nil {
		j.res <- aw.pending
		aw.pending = nil
	}
	if j.buf != nil {
		aw.recycle(j.buf)
	}
}

// DefaultMaxDelay is how long a line may wait in a partly filled chunk.
const DefaultMaxDelay = time.Second

// SetMaxDelay sets how long a line may wait in a partly filled chunk before
// it is written without a Flush. Call it before the first Write.
func (aw *Writer) SetMaxDelay(d time.Duration) {
	if d > 0 {
		aw.maxDelay = d
	}
}

func (aw *Writer) recycle(buf []byte) {
	// One huge entry must not keep a huge buffer alive.
	if cap(buf) > 4*aw.size {
		buf = make([]byte, 0, aw.size)
	}
	select {
	case aw.free <- buf[:0]:
	default: // the buffer taken over by Close has no place to return to
	}
}

func (aw *Writer) writeAll(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	n, err := aw.w.Write(buf)
	if err == nil && n < len(buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		// Whatever was not written is lost; a line cut short counts as
		// lost too.
		lost := int64(bytes.Count(buf[max(0, min(n, len(buf))):], []byte{'\n'}))
		aw.lost.Add(lost)
		return aw.errorf("write: %d entries lost: %w", lost, err)
	}
	return nil
}

// Lost returns how many entries failed writes have lost since New.
func (aw *Writer) Lost() int64 { return aw.lost.Load() }

// sync pushes data below the io.Writer: a Flush method of a buffering writer
// first, then fsync where the target supports it. Pipes, terminals and
// character devices reject fsync with EINVAL or ENOTTY, which means there is
// nothing further to push, not a failure (zap's open issue #880).
func (aw *Writer) sync() error {
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
