package sinktest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/fapilog/fapilog-otel/bridge/sinktest"
)

// batchSink is the sink from docs/sinks.md: it buffers entries and sends
// them as one batch on Flush. Running the suite on it keeps the guide honest.
type batchSink struct {
	mu      sync.Mutex
	buf     [][]byte
	send    func(ctx context.Context, batch [][]byte) error
	stopped bool
}

func (s *batchSink) Write(_ context.Context, entry []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("batchSink: stopped")
	}
	s.buf = append(s.buf, bytes.Clone(entry))
	return nil
}

func (s *batchSink) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) == 0 {
		return nil
	}
	if err := s.send(ctx, s.buf); err != nil {
		return fmt.Errorf("batchSink: flush: %w", err)
	}
	s.buf = s.buf[:0]
	return nil
}

func (s *batchSink) Stop(ctx context.Context) error {
	err := s.Flush(ctx)
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	return err
}

// remote is a fake receiver whose sends honour ctx, and which can stall
// (block until resumed) or fail.
type remote struct {
	mu      sync.Mutex
	got     [][]byte
	stall   chan struct{}
	failing bool
}

func (r *remote) send(ctx context.Context, batch [][]byte) error {
	r.mu.Lock()
	stall, failing := r.stall, r.failing
	r.mu.Unlock()
	if stall != nil {
		select {
		case <-stall:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if failing {
		return errors.New("remote: 503")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range batch {
		r.got = append(r.got, bytes.Clone(e))
	}
	return nil
}

func (r *remote) entries() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.got...)
}

func (r *remote) Stall() func() {
	r.mu.Lock()
	ch := make(chan struct{})
	r.stall = ch
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.stall = nil
		r.mu.Unlock()
		close(ch)
	}
}

func (r *remote) Fail() func() {
	r.mu.Lock()
	r.failing = true
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.failing = false
		r.mu.Unlock()
	}
}

func TestGuideSinkConforms(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		r := &remote{}
		return sinktest.Harness{
			Sink:      &batchSink{send: r.send},
			Delivered: r.entries,
			Stall:     r.Stall,
			Fail:      r.Fail,
		}
	})
}
