#!/usr/bin/env bash
# Runs the comparison benchmarks as interleaved passes (every case once per
# pass, PASSES times) and writes the raw output and a markdown report with
# medians and within-pass ratios, from this one run:
#
#   bench/run.sh            # 6 passes
#   PASSES=10 bench/run.sh
#
# Output: docs/bench/<date>-run.txt (raw), docs/bench/<date>-run.md
# (report) and docs/benchmarks.md (the page, from benchmarks.md.tmpl). Run
# it on a quiet machine; the load average is recorded.
set -euo pipefail
cd "$(dirname "$0")"
passes="${PASSES:-6}"
pattern="${BENCH:-EncodeWrite|RotatingFile\$|RotationLatency|ProcessorOnEmit|PipelineProcessors|FlushAfter1000|OTLPLines|HTTPSpool|HTTPBatch512|HTTPReceiverDown}"
day=$(date -u +%Y-%m-%d)
docs="$(cd .. && pwd)/docs/bench"
raw="$docs/$day-run.txt"
report="$docs/$day-run.md"
page="$(cd .. && pwd)/docs/benchmarks.md"
tmp=$(mktemp -d)
bin=$tmp/bench.test
go test -c -o "$bin" .
# Benchmarks of internal or main-module packages live beside them; each is
# run in every pass too, its names prefixed so they stay apart.
main=(
  "internal/spool|Append|Recover|Spool"
  "exporters/stdoutjson|ForceFlush|Stdoutjson"
  "processor|Emit|Processor"
)
for m in "${main[@]}"; do
  IFS='|' read -r dir _ <<< "$m"
  (cd "../$dir" && go test -c -o "$tmp/$(basename "$dir").test" .)
done
before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)
{
  echo "# cpus: $(getconf _NPROCESSORS_ONLN)"
  echo "# platform: $(go env GOOS)/$(go env GOARCH)"
  echo "# go: $(go env GOVERSION)"
  echo "# load-before: $before"
} > "$raw"
for i in $(seq "$passes"); do
  echo "pass $i of $passes" >&2
  "$bin" -test.run '^$' -test.bench "$pattern" -test.benchmem -test.count 1 | grep '^Benchmark' >> "$raw"
  for m in "${main[@]}"; do
    dir=${m%%|*}; rest=${m#*|}; prefix=${rest##*|}; pat=${rest%|*}
    (cd "../$dir" && "$tmp/$(basename "$dir").test" -test.run '^$' -test.bench "$pat" -test.benchmem -test.count 1 |
      sed "s/^Benchmark/Benchmark$prefix/" | grep '^Benchmark' >> "$raw")
  done
done
after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)
echo "# load-after: $after" >> "$raw"
# One run, two outputs: the report (every case, every comparison) and
# docs/benchmarks.md, filled from bench/benchmarks.md.tmpl with figures of
# this run only.
go run ./cmd/benchreport -load-before "$before" -load-after "$after" \
  -page benchmarks.md.tmpl -out "$page" -date "$day" \
  -raw "bench/$day-run.txt" -report "bench/$day-run.md" < "$raw" > "$report"
echo "raw: $raw" >&2
echo "report: $report" >&2
echo "page: $page" >&2
