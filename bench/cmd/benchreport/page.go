package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// run is what a page template sees: the passes of one run and where they
// came from. Every number a page shows goes through its methods, so a
// page cannot quote a figure the run did not produce: a case or unit the
// run lacks fails the rendering instead of printing a stale number.
type run struct {
	passes     []pass
	Date       string
	Passes     int
	CPUs       int
	OS, Arch   string
	Go         string
	LoadBefore string
	LoadAfter  string
	Raw        string // the raw output's path, relative to the page
	Report     string // the generated report's path, relative to the page
}

// newRun describes passes from raw, the output run.sh wrote: its header
// lines say on what machine it ran (this process's, when they are
// missing) and under what load.
func newRun(passes []pass, raw []byte) *run {
	r := &run{passes: passes, Passes: len(passes), CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, Go: runtime.Version()}
	if v, err := strconv.Atoi(header(raw, "cpus")); err == nil {
		r.CPUs = v
	}
	if v := header(raw, "platform"); v != "" {
		r.OS, r.Arch, _ = strings.Cut(v, "/")
	}
	if v := header(raw, "go"); v != "" {
		r.Go = v
	}
	r.LoadBefore, r.LoadAfter = header(raw, "load-before"), header(raw, "load-after")
	return r
}

// Med returns the median over passes of name's unit.
func (r *run) Med(name, unit string) (float64, error) {
	xs := values(r.passes, name, unit)
	if len(xs) == 0 {
		return 0, fmt.Errorf("no %q for %s in this run", unit, name)
	}
	return median(xs), nil
}

// ratios returns ours÷theirs of unit, taken within each pass.
func (r *run) ratios(ours, theirs, unit string) ([]float64, error) {
	var rs []float64
	for _, p := range r.passes {
		a, okA := p[ours][unit]
		b, okB := p[theirs][unit]
		if okA && okB && b > 0 {
			rs = append(rs, a/b)
		}
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("no pass has %q for both %s and %s", unit, ours, theirs)
	}
	return rs, nil
}

// Ratio returns the median of the within-pass ratios ours÷theirs.
func (r *run) Ratio(ours, theirs, unit string) (float64, error) {
	rs, err := r.ratios(ours, theirs, unit)
	if err != nil {
		return 0, err
	}
	return median(rs), nil
}

// Span returns the range of the within-pass ratios, "0.68–0.90".
func (r *run) Span(ours, theirs, unit string) (string, error) {
	rs, err := r.ratios(ours, theirs, unit)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%.2f–%.2f", slices.Min(rs), slices.Max(rs)), nil
}

// Within says in how many passes ours÷theirs was at most target, "7 of 10
// passes", so that a median at the edge of a target reads as such.
func (r *run) Within(ours, theirs, unit string, target float64) (string, error) {
	rs, err := r.ratios(ours, theirs, unit)
	if err != nil {
		return "", err
	}
	n := 0
	for _, x := range rs {
		if x <= target {
			n++
		}
	}
	return fmt.Sprintf("%d of %d passes", n, len(rs)), nil
}

// Range returns the range of name's unit over the passes, formatted.
func (r *run) Range(name, unit string) (string, error) {
	xs := values(r.passes, name, unit)
	if len(xs) == 0 {
		return "", fmt.Errorf("no %q for %s in this run", unit, name)
	}
	return num(slices.Min(xs)) + "–" + num(slices.Max(xs)), nil
}

var funcs = template.FuncMap{
	// num formats a figure for prose: thousands separators from 100 up,
	// three significant digits below.
	"num": num,
	// x formats a ratio, "0.73×".
	"x": func(v float64) string { return fmt.Sprintf("%.2f×", v) },
	// le and ge judge a figure against a target.
	"le": func(v, target float64) string { return verdict(v <= target) },
	"ge": func(v, target float64) string { return verdict(v >= target) },
	"div": func(a, b float64) float64 {
		if b == 0 {
			return math.NaN()
		}
		return a / b
	},
	"mul": func(a, b float64) float64 { return a * b },
	"pct": func(v float64) string { return fmt.Sprintf("%+.0f%%", (v-1)*100) },
	"f":   func(format string, v float64) string { return fmt.Sprintf(format, v) },
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "**not met**"
}

func num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case math.Abs(v) >= 100:
		s := strconv.FormatInt(int64(math.Round(v)), 10)
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		if neg {
			return "-" + b.String()
		}
		return b.String()
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// renderPage executes the template at path with r and writes the result
// to out, only if every figure could be filled in.
func renderPage(path, out string, r *run) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	t, err := template.New(path).Funcs(funcs).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, r); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}
