// Command benchreport turns interleaved benchmark passes (the output of
// several `-count 1` runs, one after another) into markdown: medians per
// case and, for each comparison, the ratio taken within every pass (range
// and median), so that drift between passes cancels out.
//
//	benchreport -load-before "0.5 0.9 1.1" -load-after "0.8 1.0 1.1" < raw.txt
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// comparisons are the ratios the project tracks: ours first, the peer
// second, with the target the issue set (0 when there is none).
var comparisons = []struct {
	ours, theirs, metric string
	target               float64
}{
	{"EncodeWrite/fapilog/envelope", "EncodeWrite/zap-json+context", "ns/op", 0.7},
	{"EncodeWrite/fapilog/envelope", "EncodeWrite/zap-json+context", "cpu-ns/op", 0.9},
	{"EncodeWrite/fapilog/envelope", "EncodeWrite/zap-json", "ns/op", 0.85},
	{"EncodeWrite/fapilog/envelope", "EncodeWrite/slog-json+context", "ns/op", 1},
	{"EncodeWrite/fapilog/envelope", "EncodeWrite/otel-stdoutlog", "ns/op", 0.07},
	{"RotatingFile/fapilog-rotatingfile", "RotatingFile/zap-lumberjack", "ns/op", 0.4},
	{"RotatingFile/fapilog-rotatingfile", "RotatingFile/limit-bufio-256KiB", "ns/op", 3},
	{"EncodeWrite/fapilog/envelope-batch512", "EncodeWrite/zap-json+context", "ns/op", 0},
	{"EncodeWrite/fapilog/envelope-batch512", "EncodeWrite/zap-json+context", "cpu-ns/op", 0},
	{"RotatingFile/fapilog-rotatingfile-batch512", "RotatingFile/zap-lumberjack", "ns/op", 0},
	{"RotatingFile/fapilog-rotatingfile-batch512", "RotatingFile/limit-bufio-256KiB", "ns/op", 0},
	{"RotatingFile/fapilog-rotatingfile-batch512", "RotatingFile/limit-disk-rotating", "ns/op", 0},
	{"RotatingFile/limit-disk-rotating", "RotatingFile/zap-lumberjack", "ns/op", 0},
	{"RotatingFile/limit-disk-rotating", "RotatingFile/zap-lumberjack+context", "ns/op", 0},
	{"ProcessorOnEmit/fapilog-NewBatch", "ProcessorOnEmit/sdk-BatchProcessor", "ns/op", 0.5},
	{"PipelineProcessors/fast-path", "PipelineProcessors/sdk-default", "ns/op", 0.5},
	{"PipelineProcessors/fast-path-noop", "PipelineProcessors/sdk-default-noop", "ns/op", 0},
	{"PipelineProcessors/fast-path-noop", "PipelineProcessors/sdk-default", "ns/op", 0},
	{"PipelineProcessors/NewBatch", "PipelineProcessors/sdk-default", "ns/op", 0},
	{"OTLPLines/batch-per-line", "OTLPLines/record-per-line", "ns/record", 0},
	{"FlushAfter1000/NewBatch/stdoutjson", "FlushAfter1000/NewBatch/noop", "flush-ns/op", 1.3},
	{"FlushAfter1000/sdk-BatchProcessor/stdoutjson", "FlushAfter1000/sdk-BatchProcessor/noop", "flush-ns/op", 1.3},
	{"HTTPSpool/spool-sync-on-flush", "HTTPSpool/memory", "ns/record", 1.5},
	{"HTTPSpool/spool-sync-interval", "HTTPSpool/memory", "ns/record", 0},
	{"HTTPSpool/spool-sync-always", "HTTPSpool/memory", "ns/record", 0},
	{"HTTPSpool/spool-sync-never", "HTTPSpool/memory", "ns/record", 0},
}

var line = regexp.MustCompile(`^Benchmark(\S+?)(-\d+)?\s+\d+\s+(.*)$`)

func main() {
	before := flag.String("load-before", "", "load average before the run")
	after := flag.String("load-after", "", "load average after the run")
	page := flag.String("page", "", "a text/template page to fill with this run's figures")
	out := flag.String("out", "", "where the filled page goes")
	date := flag.String("date", "", "the run's date, for the page")
	raw := flag.String("raw", "", "the raw output's path, relative to the page")
	report := flag.String("report", "", "the report's path, relative to the page")
	flag.Parse()
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	passes, order, err := parse(bytes.NewReader(in))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	// run.sh records the machine and the load in the raw output, so the
	// page can be filled again from the raw output alone.
	if *before == "" {
		*before = header(in, "load-before")
	}
	if *after == "" {
		*after = header(in, "load-after")
	}
	write(os.Stdout, passes, order, *before, *after)
	if *page != "" {
		r := newRun(passes, in)
		r.Date, r.LoadBefore, r.LoadAfter, r.Raw, r.Report = *date, *before, *after, *raw, *report
		if err := renderPage(*page, *out, r); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport: page:", err)
			os.Exit(1)
		}
	}
}

type pass map[string]map[string]float64 // case -> unit -> value

// parse reads benchmark lines; a case seen again starts a new pass.
func parse(r io.Reader) ([]pass, []string, error) {
	var passes []pass
	cur := pass{}
	var order []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := line.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		name, fields := m[1], strings.Fields(m[3])
		if _, dup := cur[name]; dup {
			passes = append(passes, cur)
			cur = pass{}
		}
		if !slices.Contains(order, name) {
			order = append(order, name)
		}
		vals := map[string]float64{}
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err == nil {
				vals[fields[i+1]] = v
			}
		}
		cur[name] = vals
	}
	if len(cur) > 0 {
		passes = append(passes, cur)
	}
	if len(passes) == 0 {
		return nil, nil, fmt.Errorf("no benchmark lines on standard input")
	}
	return passes, order, sc.Err()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func values(passes []pass, name, unit string) []float64 {
	var out []float64
	for _, p := range passes {
		if v, ok := p[name][unit]; ok {
			out = append(out, v)
		}
	}
	return out
}

func write(w io.Writer, passes []pass, order []string, before, after string) {
	fmt.Fprintf(w, "%d interleaved passes on %d CPUs (%s/%s, %s); load average before %q, after %q.\n\n",
		len(passes), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), before, after)
	fmt.Fprintln(w, "| case | wall ns/op | CPU ns/op | B/line | ns/record | B/record | B/op | allocs/op |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	cell := func(name, unit string) string {
		xs := values(passes, name, unit)
		if len(xs) == 0 {
			return ""
		}
		return strconv.FormatFloat(math.Round(median(xs)*10)/10, 'f', -1, 64)
	}
	for _, name := range order {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", name,
			cell(name, "ns/op"), cell(name, "cpu-ns/op"), cell(name, "B/line"), cell(name, "ns/record"), cell(name, "B/record"),
			cell(name, "B/op"), cell(name, "allocs/op"))
	}
	fmt.Fprintln(w, "\n| ours ÷ theirs | metric | per pass (min–max) | median | target |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, c := range comparisons {
		var rs []float64
		for _, p := range passes {
			a, okA := p[c.ours][c.metric]
			b, okB := p[c.theirs][c.metric]
			if okA && okB && b > 0 {
				rs = append(rs, a/b)
			}
		}
		if len(rs) == 0 {
			continue
		}
		target := "—"
		if c.target > 0 {
			verdict := "met"
			if median(rs) > c.target {
				verdict = "**not met**"
			}
			target = fmt.Sprintf("≤ %.2f×: %s", c.target, verdict)
		}
		fmt.Fprintf(w, "| %s ÷ %s | %s | %.2f–%.2f | **%.2f×** | %s |\n",
			c.ours, c.theirs, c.metric, slices.Min(rs), slices.Max(rs), median(rs), target)
	}
}

// header returns the value of a "# key: value" line of raw, or "".
func header(raw []byte, key string) string {
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "# "+key+": "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
