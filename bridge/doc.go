// Package bridge turns a fapilog sink into an OpenTelemetry log exporter.
//
// A sink is anything with a Write method for finalized, encoded log entries.
// Everything else a sink may do is an optional capability, discovered by
// interface assertion the way net/http discovers http.Flusher: Starter,
// Flusher, Stopper and HealthChecker. A sink that implements none of them
// still works; the missing ones behave as no-ops.
//
// NewExporter wraps a sink in an Exporter that satisfies
// go.opentelemetry.io/otel/sdk/log.Exporter and owns that contract, so sink
// authors do not have to:
//
//   - every call into the sink is serialised: a sink never sees two calls at
//     once, and needs no locking of its own for the bridge's sake;
//   - Start runs before the first Write and, once it succeeds, never again;
//   - each record is encoded (fapilog envelope v1.1 by default, or OTLP/JSON)
//     into a buffer the bridge reuses, so a sink must copy an entry it keeps
//     past Write, as io.Writer implementations do;
//   - contexts are checked before every call and waiting for a busy sink ends
//     with the context, so ForceFlush and Shutdown return on time even when
//     the sink is stuck in a slow write, or in a Flush or Stop that ignores
//     its context (left running, holding the sink until it returns);
//   - ForceFlush calls the sink's Flush; Shutdown calls Flush, then Stop, once,
//     however many goroutines call it; after Shutdown, Export returns
//     sdklog.ErrExporterShutdown and ForceFlush and Shutdown return nil;
//   - a sink that implements BatchWriter gets each Export in one call, so a
//     record costs one lock; one that also implements BatchAppender gets a
//     large Export in parts, written while the rest is encoded;
//   - a panic in the sink is recovered and reported once, and disables the
//     sink (ErrSinkDisabled): see Sink.
//
// The exporter records its own metrics through the OpenTelemetry metrics API
// (entries written and failed, flushes and their duration), using the global
// MeterProvider unless WithMeterProvider gives another.
//
// The sinktest package holds a conformance suite that sink authors run from
// their own tests.
package bridge
