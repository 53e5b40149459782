package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/fapilog/fapilog-otel/internal/engine"
	"github.com/fapilog/fapilog-otel/internal/httppost"
	"github.com/fapilog/fapilog-otel/internal/spool"
)

// DefaultSpoolMaxBytes bounds a spool whose Spool.MaxBytes is 0.
const DefaultSpoolMaxBytes = 1 << 30

// ErrGone is wrapped by the errors of a sink whose endpoint answered
// 410 Gone. HTTP defines 410 as permanent, and the Standard Webhooks
// specification asks senders to stop: the sink is disabled, said once, and
// every later entry is counted as lost.
var ErrGone = errors.New("the sink is disabled after a 410 Gone")

// ErrDropped is wrapped by Write's error when the pending bound refused the
// entry.
var ErrDropped = engine.ErrDropped

// Request lays out the HTTP request for one batch: the http and webhook
// exporters are its two implementations.
type Request interface {
	// Encode appends the request body for entries to dst and sets the
	// request's headers in h. key identifies the batch: unique, and the
	// same on every retry of the batch (with a spool, in a later process
	// too), so it can serve as an idempotency key. entries and dst are not
	// retained.
	Encode(dst []byte, h http.Header, key string, entries [][]byte) ([]byte, error)
}

// Framer is implemented by a Request whose body adds bytes to its entries:
// perEntry for each entry (a newline, a comma) and perBatch once (brackets,
// a wrapping object). The sink counts them against Batch.MaxBytes, so an
// uncompressed body never exceeds it, however many small entries a batch
// holds. A receiver whose body limit is lower still answers 413, and the
// sink then sends the batch in parts that fit; a Batch.MaxBytes at the
// limit saves those refused requests. Counting a little more than the body
// adds is safe; less is not. Bytes that depend on an entry's content (a
// layout that escapes entries) cannot be said here: leave room for them in
// Batch.MaxBytes.
type Framer interface {
	Framing() (perEntry, perBatch int)
}

// Sink queues entries and POSTs them in batches. Write never waits on the
// network (unless Pending.Overflow is OverflowBlock and the bound is
// reached); goroutines of the sink's own send, from the first Write (or
// from NewSink, for what a spool holds from an earlier process) until Stop,
// and one tries the spool's lock while another process holds it. It is
// safe for concurrent use.
type Sink struct {
	// eng takes the writes: the spool's engine, or the in-memory one
	// while another process holds the spool's directory (handover.go).
	eng  atomic.Pointer[engine.Engine]
	wait *spoolWait // nil unless the directory was held at NewSink
	post *httppost.Poster
	req  Request
	bufs sync.Pool

	gone         atomic.Bool
	goneReported atomic.Bool

	// unobserve stops the spool's gauges; a no-op without a spool.
	unobserve func()
}

// NewSink returns a sink POSTing to endpoint with req's layout. name
// prefixes its errors (an exporter passes its package name). endpoint must
// be https unless its host is a loopback address or o.AllowInsecure is set.
// The error names the option and field that are wrong.
func NewSink(name, endpoint string, req Request, o Options) (*Sink, error) {
	if req == nil {
		return nil, fmt.Errorf("%s: nil Request", name)
	}
	if err := o.validate(name + ": WithDelivery"); err != nil {
		return nil, err
	}
	post, err := httppost.New(httppost.Config{
		Endpoint: endpoint, Insecure: o.AllowInsecure, Client: o.Client, TLS: o.TLS, Headers: o.Headers,
		Option: name + ": WithEndpoint", HeaderOption: name + ": WithDelivery: Headers",
	})
	if err != nil {
		return nil, err
	}
	s := &Sink{post: post, req: req}
	s.bufs.New = func() any { return new([]byte) }
	cfg := s.engineConfig(name, o)
	if f, ok := req.(Framer); ok {
		cfg.EntryOverhead, cfg.BatchOverhead = f.Framing()
	}
	eng, err := engine.New(cfg, sender{s}, s.report)
	switch {
	case errors.Is(err, spool.ErrInUse):
		err = s.waitForSpool(cfg, o.Pending.MaxBytes, err)
	case err == nil:
		s.eng.Store(eng)
	}
	if err != nil {
		return nil, err // validate caught what users can type; this is a backstop
	}
	s.unobserve = func() {}
	if o.Spool.Dir != "" {
		s.unobserve = observeSpool(name, s)
	}
	return s, nil
}

func (s *Sink) engineConfig(name string, o Options) engine.Config {
	eval := httppost.Evaluate(nil)
	if o.RetryableStatuses != nil {
		statuses := slices.Clone(o.RetryableStatuses)
		eval = httppost.Evaluate(func(status int) bool { return slices.Contains(statuses, status) })
	}
	var sp *spool.Config
	maxPending := o.Pending.MaxBytes
	if o.Spool.Dir != "" {
		sp = &spool.Config{Dir: o.Spool.Dir, MaxBytes: o.Spool.MaxBytes, Sync: spool.SyncPolicy(o.Spool.Sync), SyncEvery: o.Spool.SyncEvery}
		if sp.MaxBytes == 0 {
			sp.MaxBytes = DefaultSpoolMaxBytes
		}
		maxPending = int(sp.MaxBytes)
	}
	return engine.Config{
		Spool:           sp,
		Name:            name,
		MaxBatchEntries: o.Batch.MaxEntries,
		MaxBatchBytes:   o.Batch.MaxBytes,
		MaxBatchAge:     o.Batch.MaxAge,
		MaxPendingBytes: maxPending,
		Overflow:        engine.Overflow(o.Pending.Overflow),
		BlockTimeout:    o.Pending.BlockTimeout,
		InitialBackoff:  o.Retry.InitialInterval,
		MaxBackoff:      o.Retry.MaxInterval,
		RetryBudget:     o.Retry.MaxElapsedTime,
		RequestTimeout:  o.RequestTimeout,
		Concurrency:     o.Concurrency,
		TooLarge:        httppost.TooLarge,
		Evaluate: func(err error) (bool, time.Duration) {
			if o.Retry.Disabled || errors.Is(err, ErrGone) {
				return false, 0
			}
			return eval(err)
		},
	}
}

// sender keeps Send, the engine's side of the sink, out of Sink's methods.
type sender struct{ *Sink }

// Send makes one attempt at one batch.
func (s sender) Send(ctx context.Context, key string, entries [][]byte) error {
	if s.gone.Load() {
		return fmt.Errorf("%s: %w", s.post.Endpoint(), ErrGone)
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	h := http.Header{}
	body, err := s.req.Encode((*bp)[:0], h, key, entries)
	if err != nil {
		return fmt.Errorf("encoding a batch for %s: %w", s.post.Endpoint(), err)
	}
	*bp = body
	err = s.post.Post(ctx, body, h)
	var se *httppost.StatusError
	if errors.As(err, &se) && se.Status == http.StatusGone {
		s.gone.Store(true)
		return fmt.Errorf("%w: %w", ErrGone, err)
	}
	return err
}

func (s *Sink) report(err error) {
	if errors.Is(err, ErrGone) && s.goneReported.Swap(true) {
		return // said once; the count goes on in Lost and the metrics
	}
	otel.Handle(err)
}

// Write queues a copy of entry. At the pending bound it follows
// Pending.Overflow; a refused entry is counted and the error wraps
// ErrDropped. With a spool, the entry is in the spool's file when Write
// returns nil; if an earlier write to the spool's disk has not returned
// (a stalled volume), Write waits for it no longer than ctx allows and
// then refuses the entry the same way.
func (s *Sink) Write(ctx context.Context, entry []byte) error { return s.eng.Load().Add(ctx, entry) }

// WriteBatch queues a copy of each entry under one lock, as Write does
// each (bridge.BatchWriter). An entry refused at the pending bound does
// not stop the others; after Stop none is taken. It returns how many were
// not taken and the first reason.
func (s *Sink) WriteBatch(ctx context.Context, entries [][]byte) (failed int, err error) {
	return s.eng.Load().AddBatch(ctx, entries)
}

// Flush sends everything queued and returns nil once every batch was
// answered with a 2xx. With a spool, a flush that ends with entries still
// undelivered fsyncs it (SpoolSyncOnFlush), in the background. Otherwise the error says how many entries were not
// delivered, including any lost since the previous flush; if ctx ends
// first, they stay queued.
func (s *Sink) Flush(ctx context.Context) error {
	// Both engines as they are at the call: what was written before the
	// spool was taken is in the memory engine, what after in the spool's.
	cur, before := s.engines()
	if before == nil {
		return cur.Flush(ctx)
	}
	return errors.Join(before.Flush(ctx), cur.Flush(ctx))
}

// Stop flushes within ctx, then stops sending and closes idle connections
// of the sink's own client. Entries still undelivered when ctx ends are
// counted as lost and reported; with a spool they are not lost but left
// in it, for the next process to send first. Later calls return the first
// one's result.
func (s *Sink) Stop(ctx context.Context) error {
	if s.wait != nil {
		s.wait.halt(ctx)
	}
	cur, before := s.engines()
	var err error
	if before != nil {
		err = before.Close(ctx)
	}
	err = errors.Join(err, cur.Close(ctx))
	s.post.Close()
	s.unobserve()
	return err
}

// HealthCheck returns an error wrapping ErrGone once the endpoint is
// disabled, and otherwise the error of the most recent request (nil if it
// succeeded or none was made yet). A spool another process still holds
// (see Spool.Dir) is not an error here: a readiness probe tied to it would
// keep a surge rollout's new pod unready until the old one exits, which
// it does only once the new one is ready. With a spool, the error says how much
// the spool holds and how old its oldest undelivered entry is.
func (s *Sink) HealthCheck(context.Context) error {
	if s.gone.Load() {
		return fmt.Errorf("%s: %w", s.post.Endpoint(), ErrGone)
	}
	err := s.post.LastErr()
	if st, ok := s.SpoolStats(); ok && err != nil {
		age := "none undelivered"
		if !st.Oldest.IsZero() {
			age = "oldest undelivered entry " + time.Since(st.Oldest).Round(time.Second).String() + " old"
		}
		return fmt.Errorf("%w (spool: %d bytes in %d segments, %s)", err, st.Bytes, st.Segments, age)
	}
	return err
}

// SpoolStats describe a spool's state.
type SpoolStats struct {
	Bytes    int64     // in the spool's files, against Spool.MaxBytes
	Segments int       // files
	Oldest   time.Time // when the oldest undelivered batch began; zero when none
}

// SpoolStats returns the spool's state; ok is false without a spool.
func (s *Sink) SpoolStats() (st SpoolStats, ok bool) {
	raw, oldest, ok := s.eng.Load().SpoolStats()
	return SpoolStats{Bytes: raw.Bytes, Segments: raw.Segments, Oldest: oldest}, ok
}

// Lost returns how many entries were dropped at the pending bound or not
// delivered.
func (s *Sink) Lost() int64 {
	cur, before := s.engines()
	if before == nil {
		return cur.Lost()
	}
	return cur.Lost() + before.Lost()
}

// PendingBytes returns the bytes waiting to be delivered: never more than
// Pending.MaxBytes, or with a spool Spool.MaxBytes (plus, once a spool
// held by another process was taken, what was sent from memory before and
// is not delivered yet).
func (s *Sink) PendingBytes() int {
	cur, before := s.engines()
	if before == nil {
		return cur.PendingBytes()
	}
	return cur.PendingBytes() + before.PendingBytes()
}
