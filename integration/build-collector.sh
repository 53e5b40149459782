#!/usr/bin/env bash
# Builds an OpenTelemetry Collector (OTLP receiver; debug and OTLP/HTTP
# exporters) with the Collector builder, into a cache directory, and prints
# the binary's path. A cached binary is reused. Exits non-zero, saying why,
# when the module proxy cannot provide what the build needs.
set -euo pipefail
version=0.165.0
cache="${FAPILOG_OTELCOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fapilog-otelcol/$version}"
bin="$cache/dist/otelcol-fapilog"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$cache"
cat > "$cache/builder.yaml" <<YAML
dist:
  name: otelcol-fapilog
  description: Collector for fapilog-otel integration tests
  output_path: $cache/dist
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver v$version
exporters:
  - gomod: go.opentelemetry.io/collector/exporter/debugexporter v$version
  - gomod: go.opentelemetry.io/collector/exporter/otlphttpexporter v$version
providers:
  - gomod: go.opentelemetry.io/collector/confmap/provider/fileprovider v1.47.0
  - gomod: go.opentelemetry.io/collector/confmap/provider/envprovider v1.47.0
YAML
GOBIN="$cache/bin" go install "go.opentelemetry.io/collector/cmd/builder@v$version" >&2
"$cache/bin/builder" --config "$cache/builder.yaml" >&2
echo "$bin"
