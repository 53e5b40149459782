#!/usr/bin/env bash
# Fills docs/benchmarks.md again from a run's raw output, without running
# the benchmarks: for edits to bench/benchmarks.md.tmpl.
#
#   bench/render.sh docs/bench/2026-11-29-run.txt "0.17 0.82 0.96" "1.32 1.11 1.05"
set -euo pipefail
cd "$(dirname "$0")"
raw=$(cd .. && realpath "$1")
day=$(basename "$raw" -run.txt)
go run ./cmd/benchreport -load-before "${2:-}" -load-after "${3:-}" \
  -page benchmarks.md.tmpl -out ../docs/benchmarks.md -date "$day" \
  -raw "bench/$day-run.txt" -report "bench/$day-run.md" < "$raw" > /dev/null
