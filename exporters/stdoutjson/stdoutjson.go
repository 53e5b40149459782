// Package stdoutjson is a sink that writes one JSON log entry per line to
// standard output, or to any io.Writer.
//
// Entries are buffered in memory and written by a goroutine of the sink's
// own, so a slow or blocked writer (a full pipe, a stalled terminal) never
// makes ForceFlush or Shutdown overrun their deadline. Flush writes the
// buffer and then syncs the target when it can be synced: a regular file is
// fsync'd, while a pipe or terminal, where fsync can only fail, is not, so
// Flush succeeds there. Memory is bounded: WithBuffer caps what may wait
// for a slow writer, after which Write applies back-pressure up to its
// context and reports what it could not take.
//
// Lines are written when a buffer's worth has collected, on Flush, or at
// the latest about a second after they were buffered, so a quiet service's
// lines still show up promptly.
//
// Use New for an exporter to put behind processor.NewBatch (or
// sdklog.NewBatchProcessor), or NewSink for the bare sink.
package stdoutjson

import (
	"context"
	"errors"
	"io"
	"os"

	"go.opentelemetry.io/otel"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/internal/asyncwrite"
	"github.com/fapilog/fapilog-otel/internal/sinkopts"
)

// Sink writes entries as lines. It is safe for concurrent use.
type Sink struct {
	aw *asyncwrite.Writer
}

var (
	_ bridge.Sink          = (*Sink)(nil)
	_ bridge.BatchWriter   = (*Sink)(nil)
	_ bridge.Flusher       = (*Sink)(nil)
	_ bridge.Stopper       = (*Sink)(nil)
	_ bridge.HealthChecker = (*Sink)(nil)
	_ bridge.LossReporter  = (*Sink)(nil)
)

// Option configures the sink and, through New, its exporter.
type Option interface {
	apply(*config)
}

type config struct {
	w        io.Writer
	buffer   delivery.Buffer
	exporter []bridge.Option
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithWriter sets where lines go. The default is os.Stdout; nil is an
// error. w is called from the sink's goroutine, one call at a time. If it
// panics, the panic is contained: its lines fail with an error saying the
// destination panicked, are counted lost, and w is not called again.
func WithWriter(w io.Writer) Option {
	return optionFunc(func(c *config) { c.w = w })
}

// WithBuffer sets how lines are gathered before they are written, and how
// many bytes may wait for a slow or blocked writer: the settings both line
// exporters share. The zero value of each field keeps its default.
func WithBuffer(b delivery.Buffer) Option {
	return optionFunc(func(c *config) { c.buffer = b })
}

// WithExporterOptions passes options (the line format, metrics, a name) to
// the bridge exporter New creates. NewSink refuses them.
func WithExporterOptions(opts ...bridge.Option) Option {
	return optionFunc(func(c *config) { c.exporter = append(c.exporter, opts...) })
}

func newConfig(opts []Option) (config, error) {
	c := config{w: os.Stdout}
	for _, o := range opts {
		o.apply(&c)
	}
	if c.w == nil {
		return c, errors.New("stdoutjson: WithWriter: nil writer")
	}
	var err error
	c.buffer, err = c.buffer.Resolve("stdoutjson: WithBuffer")
	return c, err
}

// NewSink returns a sink configured by opts. It fails when given an
// exporter option (WithFormat, WithExporterOptions): a bare sink has no
// encoder to apply it to.
func NewSink(opts ...Option) (*Sink, error) {
	c, err := newConfig(opts)
	if err == nil {
		err = sinkopts.RefuseExporterOptions("stdoutjson", len(c.exporter))
	}
	if err != nil {
		return nil, err
	}
	return newSink(c), nil
}

// New returns an exporter writing to a new sink, named "stdoutjson" unless
// an exporter option names it otherwise.
func New(opts ...Option) (*bridge.Exporter, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return bridge.NewExporter(newSink(c), append([]bridge.Option{bridge.WithName("stdoutjson")}, c.exporter...)...)
}

func newSink(c config) *Sink {
	aw := asyncwrite.New("stdoutjson", c.w, c.buffer.Size, c.buffer.MaxBytes)
	// Writes happen on the sink's goroutine, after Export has returned:
	// their failures go to the OpenTelemetry error handler as they happen.
	aw.SetErrorHandler(otel.Handle)
	return &Sink{aw: aw}
}

// Write buffers entry as one line. It waits, up to ctx, only when
// WithMaxBuffered bytes are already waiting for the writer.
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

// Flush writes every buffered line to the writer and syncs it where that is
// possible, returning nil when done. If ctx ends first it returns an error
// wrapping ctx.Err() and the lines stay queued.
func (s *Sink) Flush(ctx context.Context) error { return s.aw.Flush(ctx) }

// Stop flushes and ends the sink's goroutine. It does not close the writer.
// On an ended ctx (or one that ends first) it returns an error wrapping
// ctx.Err(), and the goroutine goes on writing what was accepted, then ends.
// Later calls return the first one's result; Write after Stop fails.
func (s *Sink) Stop(ctx context.Context) error { return s.aw.Close(ctx) }

// HealthCheck reports the error of the most recent write to the writer, nil
// if it succeeded.
func (s *Sink) HealthCheck(context.Context) error { return s.aw.HealthCheck() }

// Lost returns how many lines failed writes have lost since the sink was
// created.
func (s *Sink) Lost() int64 { return s.aw.Lost() }
