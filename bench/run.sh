#!/usr/bin/env bash
# Runs the comparison benchmarks as interleaved passes (every case once per
# pass, PASSES times) and writes the raw output and a markdown report with
# medians and within-pass ratios, from this one run:
#
#   bench/run.sh            # 6 passes
#   PASSES=10 bench/run.sh
#
# Output: docs/bench/<date>-run.txt (raw) and docs/bench/<date>-run.md
# (report). Run it on a quiet machine; the load average is recorded.
set -euo pipefail
cd "$(dirname "$0")"
passes="${PASSES:-6}"
pattern="${BENCH:-EncodeWrite|RotatingFile\$|ProcessorOnEmit|PipelineProcessors|FlushAfter1000|OTLPLines|HTTPSpool}"
day=$(date -u +%Y-%m-%d)
docs="$(cd .. && pwd)/docs/bench"
raw="$docs/$day-run.txt"
report="$docs/$day-run.md"
bin=$(mktemp -d)/bench.test
go test -c -o "$bin" .
# The spool's own benchmarks live beside it in the main module (internal
# packages cannot be imported from here).
spoolbin=$(dirname "$bin")/spool.test
(cd ../internal/spool && go test -c -o "$spoolbin" .)
before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)
: > "$raw"
for i in $(seq "$passes"); do
  echo "pass $i of $passes" >&2
  "$bin" -test.run '^$' -test.bench "$pattern" -test.benchmem -test.count 1 | grep '^Benchmark' >> "$raw"
  (cd ../internal/spool && "$spoolbin" -test.run '^$' -test.bench 'Append|Recover' -test.benchmem -test.count 1 | sed 's/^Benchmark/BenchmarkSpool/' | grep '^Benchmark' >> "$raw")
done
after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)
go run ./cmd/benchreport -load-before "$before" -load-after "$after" < "$raw" > "$report"
echo "raw: $raw" >&2
echo "report: $report" >&2
