package testdest

import (
	"context"
	"sync"
)

// Gate lets a stand-in receiver stop answering: while it is stalled, Wait
// blocks until the stall is resumed or the caller's context ends. The zero
// value is open and ready to use; it is safe for concurrent use.
type Gate struct {
	mu sync.Mutex
	ch chan struct{} // closed to resume; nil while open
}

// Stall makes Wait block until the returned resume, or Open, is called.
// Stalling a stalled gate returns a resume for the same stall.
func (g *Gate) Stall() (resume func()) {
	g.mu.Lock()
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
	ch := g.ch
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.ch == ch {
			close(ch)
			g.ch = nil
		}
	}
}

// Open resumes any stall: what a test's cleanup calls, so no handler is
// left waiting when its server closes.
func (g *Gate) Open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
}

// Wait returns nil once the gate is open, or ctx.Err() if ctx ends first.
func (g *Gate) Wait(ctx context.Context) error {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
