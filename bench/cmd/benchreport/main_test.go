package main

import (
	"strings"
	"testing"
)

func TestReportRatiosWithinPasses(t *testing.T) {
	raw := `BenchmarkEncodeWrite/fapilog/envelope-2  100  1000 ns/op  1500 cpu-ns/op  669 B/line  0 B/op  0 allocs/op
BenchmarkEncodeWrite/zap-json+context-2  100  800 ns/op  800 cpu-ns/op  386 B/line  0 B/op  0 allocs/op
BenchmarkEncodeWrite/fapilog/envelope-2  100  2000 ns/op  3000 cpu-ns/op  669 B/line  0 B/op  0 allocs/op
BenchmarkEncodeWrite/zap-json+context-2  100  1600 ns/op  1600 cpu-ns/op  386 B/line  0 B/op  0 allocs/op
`
	passes, order, err := parse(strings.NewReader(raw))
	if err != nil || len(passes) != 2 || len(order) != 2 {
		t.Fatalf("parse: %v, %d passes, %v", err, len(passes), order)
	}
	var b strings.Builder
	write(&b, passes, order, "0.1", "0.2")
	out := b.String()
	// Drift between passes (2x) cancels within each pass: 1.25x both times.
	if !strings.Contains(out, "| ns/op | 1.25–1.25 | **1.25×** | ≤ 0.70×: **not met** |") {
		t.Fatalf("ratio row missing:\n%s", out)
	}
	if !strings.Contains(out, "| EncodeWrite/fapilog/envelope | 1500 | 2250 | 669 |  |  | 0 | 0 |") {
		t.Fatalf("median row missing:\n%s", out)
	}
}
