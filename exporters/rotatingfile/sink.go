package rotatingfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"

	"go.opentelemetry.io/otel"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/internal/asyncwrite"
)

// Sink writes entries as lines to rotating files. It is safe for concurrent
// use.
type Sink struct {
	cfg config
	rot *rotator
	aw  *asyncwrite.Writer

	sigOnce sync.Once
	sigCh   chan os.Signal
	sigDone chan struct{}
	stop    sync.Once
	stopErr error
}

var (
	_ bridge.Sink          = (*Sink)(nil)
	_ bridge.Starter       = (*Sink)(nil)
	_ bridge.Flusher       = (*Sink)(nil)
	_ bridge.Stopper       = (*Sink)(nil)
	_ bridge.HealthChecker = (*Sink)(nil)
	_ bridge.LossReporter  = (*Sink)(nil)
)

// NewSink returns a sink configured by opts, or an error naming the first
// invalid option. No file is opened before the first write.
func NewSink(opts ...Option) (*Sink, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return newSink(c), nil
}

// New returns an exporter writing to a new sink, named "rotatingfile" unless
// an exporter option names it otherwise.
func New(opts ...Option) (*bridge.Exporter, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return newExporterFor(newSink(c))
}

func newSink(c config) *Sink {
	rot := newRotator(c)
	aw := asyncwrite.New("rotatingfile", rot, c.bufferSize, c.maxBuf)
	// Writes happen on the sink's goroutine, after Export has returned:
	// their failures (disk full, permission denied) go to the OpenTelemetry
	// error handler as they happen, besides the next Flush's result.
	aw.SetErrorHandler(otel.Handle)
	return &Sink{cfg: c, rot: rot, aw: aw}
}

// Start begins listening for the WithReopenOn signals. The bridge calls it
// before the first write; a sink used on its own calls it itself.
func (s *Sink) Start(context.Context) error {
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
				_ = s.Reopen(context.Background())
			}
		}()
	})
	return nil
}

// Write buffers entry as one line. It waits, up to ctx, only when
// WithMaxBuffered bytes are already waiting for the disk.
func (s *Sink) Write(ctx context.Context, entry []byte) error { return s.aw.Write(ctx, entry) }

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
// waits for compression and retention to finish, all within ctx. If ctx ends
// first (a write stuck on a hung disk, a long compression) it returns an
// error wrapping ctx.Err() and the rest finishes in the background. Later
// calls return nil; Write after Stop fails.
func (s *Sink) Stop(ctx context.Context) error {
	first := false
	s.stop.Do(func() {
		first = true
		err := s.aw.Close(ctx)
		if s.sigCh != nil {
			signal.Stop(s.sigCh)
			close(s.sigCh)
			<-s.sigDone
		}
		done := make(chan error, 1)
		go func() { done <- s.rot.Close() }()
		select {
		case e := <-done:
			err = errors.Join(err, e)
		case <-ctx.Done():
			err = errors.Join(err, fmt.Errorf("closing files: %w", ctx.Err()))
		}
		if err != nil {
			s.stopErr = fmt.Errorf("rotatingfile: stop: %w", err)
		}
	})
	if !first {
		return nil
	}
	return s.stopErr
}

// HealthCheck reports the error of the most recent write or sync, nil if it
// succeeded.
func (s *Sink) HealthCheck(context.Context) error { return s.aw.HealthCheck() }

// Lost returns how many entries failed writes have lost since the sink was
// created.
func (s *Sink) Lost() int64 { return s.aw.Lost() }

func newExporterFor(s *Sink) (*bridge.Exporter, error) {
	return bridge.NewExporter(s, append([]bridge.Option{bridge.WithName("rotatingfile")}, s.cfg.exporter...)...)
}
