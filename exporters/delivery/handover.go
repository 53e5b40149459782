package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fapilog/fapilog-otel/internal/engine"
	"github.com/fapilog/fapilog-otel/internal/spool"
)

// ErrSpoolInUse is wrapped by the error reported to otel.Handle when
// another process holds the spool's directory at NewSink (or a sink of
// this process that is still stopping), and again every minute while it
// does (see Spool.Dir).
var ErrSpoolInUse = spool.ErrInUse

// spoolWait is a sink's state when its spool's directory was held by
// another process at NewSink: a rolling deploy starts the new process
// while the old one still flushes, on a volume both mount. Failing NewSink
// would fail the new process's start, or leave it without the exporter,
// over a wait of seconds. So the sink sends from memory meanwhile (as
// without a spool: bounded by Pending, not crash-safe), tries the lock
// again every spoolRetry, and once it has it, writes go to the spool, whose
// engine first sends what the old process left. The memory engine keeps
// sending what it took, and Flush and Stop cover both.
type spoolWait struct {
	mem  *engine.Engine // the writes until the spool is taken
	cfg  engine.Config  // the spool's engine
	sink *Sink

	halted   chan struct{} // closed by halt: take the spool no more
	haltOnce sync.Once
	done     chan struct{} // closed when the goroutine trying the lock ends

	mu      sync.Mutex
	stopped bool
}

// spoolRetry is how often the lock is tried again, and spoolRemind how
// often the handler hears that it is still held; tests shorten them.
var (
	spoolRetry  = 250 * time.Millisecond
	spoolRemind = time.Minute
)

// waitForSpool starts the sink on an in-memory engine bounded by memBytes,
// held saying why the spool could not be opened, and a goroutine that
// takes the spool when its holder lets it go.
func (s *Sink) waitForSpool(cfg engine.Config, memBytes int, held error) error {
	memCfg := cfg
	memCfg.Spool = nil
	memCfg.MaxPendingBytes = memBytes
	mem, err := engine.New(memCfg, sender{s}, s.report)
	if err != nil {
		return err
	}
	w := &spoolWait{mem: mem, cfg: cfg, sink: s, halted: make(chan struct{}), done: make(chan struct{})}
	s.wait = w
	s.eng.Store(mem) // before the goroutine, which may replace it at once
	s.report(w.heldError(held))
	go w.run(spoolRetry, spoolRemind)
	return nil
}

func (w *spoolWait) heldError(held error) error {
	return fmt.Errorf("%w: sending from memory, not crash-safe, until it is free", held)
}

func (w *spoolWait) run(every, remind time.Duration) {
	defer close(w.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	start, reminded := time.Now(), time.Now()
	var said string
	for {
		select {
		case <-w.halted:
			return
		case <-tick.C:
		}
		eng, err := engine.New(w.cfg, sender{w.sink}, w.sink.report)
		if err != nil {
			// Another failure (the disk, the directory's mode) is said
			// once, and the lock tried again all the same. A holder that
			// does not let go (two replicas given one directory) is said
			// again every remind: HealthCheck does not say it.
			switch {
			case !errors.Is(err, spool.ErrInUse) && err.Error() != said:
				said = err.Error()
				w.sink.report(w.heldError(err))
			case time.Since(reminded) >= remind:
				reminded = time.Now()
				w.sink.report(fmt.Errorf("%w (for %v now)", w.heldError(err), time.Since(start).Round(time.Second)))
			}
			continue
		}
		w.mu.Lock()
		if w.stopped {
			w.mu.Unlock()
			// Stop came while the spool was opened: what it recovered
			// stays in it, for the next process.
			ended, cancel := context.WithCancel(context.Background())
			cancel()
			_ = eng.Close(ended)
			return
		}
		w.sink.eng.Store(eng)
		w.mu.Unlock()
		return
	}
}

// halt ends the tries: after it the sink's engine no longer changes. It
// waits for a try in progress (opening a spool reads what it holds) as
// long as ctx allows, and on an ended ctx still haltGrace, so that on a
// disk that answers the goroutine has ended when Stop returns; a try still
// running then closes the spool it opened itself.
func (w *spoolWait) halt(ctx context.Context) {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.haltOnce.Do(func() { close(w.halted) })
	select {
	case <-w.done:
		return
	case <-ctx.Done():
	}
	grace := time.NewTimer(haltGrace)
	defer grace.Stop()
	select {
	case <-w.done:
	case <-grace.C:
	}
}

// haltGrace is how long Stop waits for a try in progress past an ended
// context: the engine gives its own closing as long.
const haltGrace = 250 * time.Millisecond

// engines returns the engine taking writes and, when it is not the same,
// the memory engine that took them before the spool was the sink's.
func (s *Sink) engines() (cur, before *engine.Engine) {
	cur = s.eng.Load()
	if s.wait != nil && cur != s.wait.mem {
		before = s.wait.mem
	}
	return cur, before
}
