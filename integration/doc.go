// Package integration runs fapilog-otel against a real OpenTelemetry
// Collector built from the Go module proxy (see build-collector.sh). It is a
// module of its own so that the Collector's toolchain never touches the root
// module. Without a Collector binary (FAPILOG_OTELCOL unset or missing) the
// tests skip and say why.
package integration
