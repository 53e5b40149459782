package main

import (
	"os"
	"path/filepath"
	"slices"
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

// A page shows only figures of the run: medians, within-pass ratios and
// verdicts are filled in, and a case the run lacks fails the rendering.
func TestPageFromOneRun(t *testing.T) {
	raw := `BenchmarkA-2 10 200 ns/op 1000 B/line
BenchmarkB-2 10 100 ns/op
BenchmarkA-2 10 330 ns/op 1000 B/line
BenchmarkB-2 10 300 ns/op
BenchmarkA-2 10 1500 ns/op 1000 B/line
BenchmarkB-2 10 1000 ns/op
`
	passes, _, err := parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page := dir + "/page.tmpl"
	out := dir + "/page.md"
	write := func(s string) {
		if err := os.WriteFile(page, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{{num (.Med "A" "ns/op")}} {{x (.Ratio "A" "B" "ns/op")}} {{.Span "A" "B" "ns/op"}} {{le (.Ratio "A" "B" "ns/op") 1.5}} {{le (.Ratio "A" "B" "ns/op") 1.4}} {{.Passes}} {{.Within "A" "B" "ns/op" 1.5}}`)
	if err := renderPage(page, out, newRun(passes, []byte(raw))); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	// Ratios per pass: 2, 1.1, 1.5; the median of A is 330.
	if want := "330 1.50× 1.10–2.00 met **not met** 3 2 of 3 passes"; string(got) != want {
		t.Fatalf("page = %q, want %q", got, want)
	}
	write(`{{num (.Med "C" "ns/op")}}`)
	if err := renderPage(page, out, newRun(passes, []byte(raw))); err == nil || !strings.Contains(err.Error(), `no "ns/op" for C`) {
		t.Fatalf("a missing case rendered: %v", err)
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{1234567: "1,234,567", 100: "100", 99.44: "99.4", 0.5: "0.5", -2500: "-2,500"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}

// docs/benchmarks.md is what the template makes of the newest run in
// docs/bench: no figure on the page was edited by hand or left from an
// earlier run. After editing the template, bench/render.sh refills it.
func TestCommittedPageIsTheNewestRun(t *testing.T) {
	runs, err := filepath.Glob("../../../docs/bench/*-run.txt")
	if err != nil || len(runs) == 0 {
		t.Fatalf("no runs in docs/bench: %v", err)
	}
	slices.Sort(runs) // dated names: the last is the newest
	newest := runs[len(runs)-1]
	in, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	passes, _, err := parse(strings.NewReader(string(in)))
	if err != nil {
		t.Fatal(err)
	}
	day := strings.TrimSuffix(filepath.Base(newest), "-run.txt")
	r := newRun(passes, in)
	r.Date = day
	r.Raw, r.Report = "bench/"+day+"-run.txt", "bench/"+day+"-run.md"
	out := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := renderPage("../../benchmarks.md.tmpl", out, r); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	committed, err := os.ReadFile("../../../docs/benchmarks.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(committed) {
		t.Fatalf("docs/benchmarks.md is not the template filled from %s: run bench/render.sh %s", newest, strings.TrimPrefix(newest, "../../../"))
	}
}
