// Package testdest is an in-memory io.Writer destination for tests: it
// records what reached it and can be told to stall or fail, so sinks can be
// tested against the flush contract without real files or terminals.
package testdest

import (
	"bytes"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
)

// ErrInjected is what Writer returns while failing.
var ErrInjected = errors.New("testdest: injected write failure")

// Writer is safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	cond    *sync.Cond
	buf     bytes.Buffer
	stalled bool
	failing bool
	writes  int
	// Entered is signalled (without blocking) each time a Write begins, so
	// tests can wait for a write to be in progress instead of sleeping.
	Entered chan struct{}
}

// New returns an empty Writer.
func New() *Writer {
	w := &Writer{Entered: make(chan struct{}, 1)}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// Write appends p, after waiting while the writer is stalled.
func (w *Writer) Write(p []byte) (int, error) {
	select {
	case w.Entered <- struct{}{}:
	default:
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.stalled {
		w.cond.Wait()
	}
	if w.failing {
		return 0, ErrInjected
	}
	w.writes++
	return w.buf.Write(p)
}

// Stall makes every Write block until the returned function is called.
func (w *Writer) Stall() (resume func()) {
	w.mu.Lock()
	w.stalled = true
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		w.stalled = false
		w.mu.Unlock()
		w.cond.Broadcast()
	}
}

// Fail makes every Write fail until the returned function is called.
func (w *Writer) Fail() (heal func()) {
	w.mu.Lock()
	w.failing = true
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		w.failing = false
		w.mu.Unlock()
	}
}

// Lines returns a copy of every complete line written so far, without the
// newlines.
func (w *Writer) Lines() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out [][]byte
	for _, l := range bytes.SplitAfter(w.buf.Bytes(), []byte("\n")) {
		if len(l) > 0 && l[len(l)-1] == '\n' {
			out = append(out, bytes.Clone(l[:len(l)-1]))
		}
	}
	return out
}

// Bytes returns a copy of everything written.
func (w *Writer) Bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.buf.Bytes())
}

// Writes returns how many Write calls succeeded.
func (w *Writer) Writes() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}

// CountingTransport is an http.RoundTripper that counts the requests it
// passes on to http.DefaultTransport: a test's proof that a sink sent
// through the client it was given.
type CountingTransport struct{ N atomic.Int32 }

// RoundTrip implements http.RoundTripper.
func (c *CountingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.N.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}
