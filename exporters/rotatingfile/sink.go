package rotatingfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"

	"go.opentelemetry.io/otel"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/internal/asyncwrite"
	"github.com/fapilog/fapilog-otel/internal/onceerr"
	"github.com/fapilog/fapilog-otel/internal/sinkopts"
)

// Sink writes entries as lines to rotating files. It is safe for concurrent
// use.
type Sink struct {
	cfg config
	rot *rotator
	aw  *asyncwrite.Writer

	recoverOnce sync.Once
	sigOnce     sync.Once
	sigCh       chan os.Signal
	sigDone     chan struct{}
	// sigCtx bounds a Reopen started by a signal; Stop cancels it.
	sigCtx    context.Context
	sigCancel context.CancelFunc

	stopOnce onceerr.Once
	closed   chan struct{} // closed when the files are closed
}

var (
	_ bridge.Sink          = (*Sink)(nil)
	_ bridge.BatchWriter   = (*Sink)(nil)
	_ bridge.Starter       = (*Sink)(nil)
	_ bridge.Flusher       = (*Sink)(nil)
	_ bridge.Stopper       = (*Sink)(nil)
	_ bridge.HealthChecker = (*Sink)(nil)
	_ bridge.LossReporter  = (*Sink)(nil)
)

// NewSink returns a sink configured by opts, or an error naming the first
// invalid option. It creates the directory if it is missing and checks that
// a file can be created in it, so a read-only, misspelt or non-directory
// path fails here, naming the path and the system's reason, not at the
// first write. No log file is opened before the first write.
func NewSink(opts ...Option) (*Sink, error) {
	c, err := newConfig(opts)
	if err == nil {
		err = sinkopts.RefuseExporterOptions("rotatingfile", len(c.exporter))
	}
	if err == nil {
		err = probeDir(c)
	}
	if err != nil {
		return nil, err
	}
	return newSink(c), nil
}

// New returns an exporter writing to a new sink, named "rotatingfile" unless
// an exporter option names it otherwise.
func New(opts ...Option) (*bridge.Exporter, error) {
	c, err := newConfig(opts)
	if err == nil {
		err = probeDir(c)
	}
	if err != nil {
		return nil, err
	}
	return newExporterFor(newSink(c))
}

func newSink(c config) *Sink {
	rot := newRotator(c)
	aw := asyncwrite.New("rotatingfile", rot, c.buffer.Size, c.buffer.MaxBytes)
	// Writes happen on the sink's goroutine, after Export has returned:
	// their failures (disk full, permission denied) go to the OpenTelemetry
	// error handler as they happen, besides the next Flush's result.
	aw.SetErrorHandler(otel.Handle)
	ctx, cancel := context.WithCancel(context.Background())
	return &Sink{cfg: c, rot: rot, aw: aw, sigCtx: ctx, sigCancel: cancel, closed: make(chan struct{})}
}

// Start begins listening for the WithReopenOn signals. The bridge calls it
// before the first write; a sink used on its own calls it itself.
//
// Start also finishes what a crash of an earlier process left half done
// in the directory: a rotated file that has a complete compressed copy is
// removed, an incomplete temporary compressed file is removed, and rotated
// files left uncompressed are compressed (in the background).
func (s *Sink) Start(context.Context) error {
	s.recoverOnce.Do(s.rot.janitor.recover)
	if len(s.cfg.reopenOn) == 0 {
		return nil
	}
	s.sigOnce.Do(func() {
		s.sigCh = make(chan os.Signal, 1)
		s.sigDone = make(chan struct{})
		signal.Notify(s.sigCh, s.cfg.reopenOn...)
		go func() {
			defer close(s.sigDone)
			for range s.sigCh {
				if err := s.Reopen(s.sigCtx); err != nil {
					otel.Handle(err)
				}
			}
		}()
	})
	return nil
}

// Write buffers entry as one line. It waits, up to ctx, only when
// WithMaxBuffered bytes are already waiting for the disk.
func (s *Sink) Write(ctx context.Context, entry []byte) error { return s.aw.Write(ctx, entry) }

// WriteBatch appends entries as lines in order under one lock, as Write
// does each (bridge.BatchWriter). When one cannot be taken, neither are the
// ones after it.
func (s *Sink) WriteBatch(ctx context.Context, entries [][]byte) (failed int, err error) {
	return s.aw.WriteBatch(ctx, entries)
}

// AppendBatch takes entries as WriteBatch does, without waiting for them to
// be written (bridge.BatchAppender): the bridge hands over a large Export in
// parts as it encodes them, and the sink writes the first while the rest
// are encoded.
func (s *Sink) AppendBatch(ctx context.Context, entries [][]byte) (failed int, err error) {
	return s.aw.AppendBatch(ctx, entries)
}

// Flush writes every buffered line to the active file and applies the sync
// policy (fsync by default), returning nil when done. If ctx ends first it
// returns an error wrapping ctx.Err() and the lines stay queued.
func (s *Sink) Flush(ctx context.Context) error { return s.aw.Flush(ctx) }

// Reopen writes what is buffered, then closes the active file, so the next
// line opens it again by name: what logrotate (without copytruncate) needs
// after moving the file away. Moved or deleted files are also detected on
// the next write without a Reopen.
func (s *Sink) Reopen(ctx context.Context) error {
	flushErr := s.aw.Flush(ctx)
	return errors.Join(flushErr, s.rot.Reopen())
}

// Stop flushes, closes the active file, stops the background goroutines and
// waits for compression and retention to finish, all within ctx.
//
// If ctx ends first, or had already ended (a write stuck on a hung disk, a
// long compression, or the SDK's Shutdown after an export ran out of
// time), Stop returns an error wrapping ctx.Err() and the rest finishes in
// the background: every line accepted before Stop is still written to the
// file, then the file is closed, and Closed says when. A failure of that
// background work goes to the OpenTelemetry error handler. Nothing is ever
// written after the file is closed.
//
// Later or concurrent calls wait for the first one within their own ctx and
// return its result. Write after Stop fails.
func (s *Sink) Stop(ctx context.Context) error {
	return s.stopOnce.Do(ctx, "rotatingfile: stop", func() error { return s.stop(ctx) })
}

func (s *Sink) stop(ctx context.Context) error {
	// A Reopen in progress stops waiting for its flush.
	s.sigCancel()
	if s.sigCh != nil {
		signal.Stop(s.sigCh)
		close(s.sigCh)
	}
	err := s.aw.Close(ctx)

	// The files close only after the writer goroutine has written its
	// last line and the signal listener has ended.
	var (
		mu     sync.Mutex
		gaveUp bool
	)
	done := make(chan error, 1)
	go func() {
		defer close(s.closed)
		<-s.aw.Done()
		if s.sigDone != nil {
			<-s.sigDone
		}
		cerr := s.rot.Close()
		mu.Lock()
		defer mu.Unlock()
		if gaveUp {
			if cerr != nil {
				otel.Handle(fmt.Errorf("rotatingfile: stop, in the background: %w", cerr))
			}
			return
		}
		done <- cerr
	}()
	select {
	case cerr := <-done:
		err = errors.Join(err, cerr)
	case <-ctx.Done():
		mu.Lock()
		select {
		case cerr := <-done:
			err = errors.Join(err, cerr)
		default:
			gaveUp = true
			err = errors.Join(err, fmt.Errorf("closing files continues in the background: %w", ctx.Err()))
		}
		mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("rotatingfile: stop: %w", err)
	}
	return nil
}

// Closed is closed once Stop's work is complete, including the part that
// continued in the background after Stop's ctx ended: every accepted line
// is written, the files are closed and compression has finished.
func (s *Sink) Closed() <-chan struct{} { return s.closed }

// HealthCheck reports the error of the most recent write or sync, and
// otherwise whether the directory is still there and writable (it may be
// removed or made read-only while the sink runs); nil when all is well.
func (s *Sink) HealthCheck(context.Context) error {
	if err := s.aw.HealthCheck(); err != nil {
		return err
	}
	return checkDir(s.cfg)
}

// probeDir creates the directory if needed and creates and removes a file
// in it: the only sure test that the sink will be able to write there.
func probeDir(c config) error {
	if err := c.fs.MkdirAll(c.dir, c.dirMode); err != nil {
		return fmt.Errorf("rotatingfile: WithDirectory(%q): cannot create it: %w", c.dir, err)
	}
	if err := checkDir(c); err != nil {
		return err
	}
	probe := filepath.Join(c.dir, fmt.Sprintf(".%s-probe-%d", c.prefix, os.Getpid()))
	f, err := c.fs.OpenFile(probe, os.O_CREATE|os.O_EXCL|os.O_WRONLY|noFollow, c.fileMode)
	if err != nil {
		return fmt.Errorf("rotatingfile: WithDirectory(%q): cannot create files in it: %w", c.dir, err)
	}
	_ = f.Close()
	_ = c.fs.Remove(probe)
	return nil
}

// checkDir is the cheap part: the path is a directory we may write to.
func checkDir(c config) error {
	fi, err := c.fs.Stat(c.dir)
	if err != nil {
		return fmt.Errorf("rotatingfile: directory %q: %w", c.dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("rotatingfile: directory %q: is not a directory (mode %v)", c.dir, fi.Mode())
	}
	if err := writable(c.dir); err != nil {
		return fmt.Errorf("rotatingfile: directory %q: not writable: %w", c.dir, &os.PathError{Op: "access", Path: c.dir, Err: err})
	}
	return nil
}

// Lost returns how many entries failed writes have lost since the sink was
// created.
func (s *Sink) Lost() int64 { return s.aw.Lost() }

func newExporterFor(s *Sink) (*bridge.Exporter, error) {
	return bridge.NewExporter(s, append([]bridge.Option{bridge.WithName("rotatingfile")}, s.cfg.exporter...)...)
}
