#!/usr/bin/env bash
# Fills docs/benchmarks.md again from a run's raw output, without running
# the benchmarks: for edits to bench/benchmarks.md.tmpl.
#
#   bench/render.sh docs/bench/2026-11-29-run.txt
set -euo pipefail
cd "$(dirname "$0")"
raw=$(cd .. && realpath "$1")
day=$(basename "$raw" -run.txt)
go run ./cmd/benchreport -page benchmarks.md.tmpl -out ../docs/benchmarks.md -date "$day" \
  -raw "bench/$day-run.txt" -report "bench/$day-run.md" < "$raw" > /dev/null
