package sinktest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/fapilog/fapilog-otel/bridge/sinktest"
	"github.com/fapilog/fapilog-otel/internal/testdest"
)

// batchSink is the sink from docs/sinks.md: it buffers entries and sends
// them as one batch on Flush. Running the suite on it keeps the guide honest.
type batchSink struct {
	buf     [][]byte
	send    func(ctx context.Context, batch [][]byte) error // honours ctx
	stopped bool
	stopErr error
}

func (s *batchSink) Write(_ context.Context, entry []byte) error {
	if s.stopped {
		return errors.New("batchSink: stopped")
	}
	s.buf = append(s.buf, bytes.Clone(entry)) // the bridge reuses entry
	return nil
}

func (s *batchSink) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err // an ended context starts no work
	}
	if len(s.buf) == 0 {
		return nil
	}
	if err := s.send(ctx, s.buf); err != nil {
		// Keep the batch: the next Flush tries again.
		return fmt.Errorf("batchSink: flush: %w", err)
	}
	s.buf = s.buf[:0]
	return nil
}

func (s *batchSink) Stop(ctx context.Context) error {
	if s.stopped {
		return s.stopErr // a later Stop repeats the first one's answer
	}
	s.stopped = true
	if err := s.Flush(ctx); err != nil {
		// ctx may have ended before Stop was even called: release
		// anyway, and say what is lost.
		s.stopErr = fmt.Errorf("batchSink: stop: %d entries not delivered: %w", len(s.buf), err)
	}
	s.buf = nil
	return s.stopErr
}

// remote is a fake receiver whose sends honour ctx, and which can stall
// (block until resumed) or fail.
type remote struct {
	mu      sync.Mutex
	got     [][]byte
	gate    testdest.Gate
	failing bool
}

func (r *remote) send(ctx context.Context, batch [][]byte) error {
	r.mu.Lock()
	failing := r.failing
	r.mu.Unlock()
	if err := r.gate.Wait(ctx); err != nil {
		return err
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

func (r *remote) Stall() func() { return r.gate.Stall() }

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
