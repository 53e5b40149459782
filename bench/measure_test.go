package bench

import (
	"bytes"
	"sync/atomic"
	"syscall"
	"testing"
)

// countingDiscard counts the bytes and lines written, for bytes per line.
// countingDiscard is io.Discard that counts bytes and lines, so each case
// can report its bytes per line. bytes.Count is vectorised: a byte loop
// here cost about 1 ns per byte, charged to whichever logger writes the
// longer lines.
type countingDiscard struct{ n, lines atomic.Int64 }

func (c *countingDiscard) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	c.lines.Add(int64(bytes.Count(p, newline)))
	return len(p), nil
}

var newline = []byte{'\n'}

// reportLine reports the average line length written to w.
func reportLine(b *testing.B, w *countingDiscard) {
	if l := w.lines.Load(); l > 0 {
		b.ReportMetric(float64(w.n.Load())/float64(l), "B/line")
	}
}

// cpuTime is the process's user and system CPU time so far, every goroutine
// included.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// startCPU starts measuring CPU time; the function it returns reports CPU
// nanoseconds per operation beside the wall time, since work handed to
// another goroutine is not free.
func startCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
