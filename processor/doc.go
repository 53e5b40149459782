// Package processor holds OpenTelemetry log processors (sdklog.Processor)
// for what fapilog users rely on and the Go SDK lacks.
//
// Two kinds, and the order matters:
//
//   - Redact and Enrich change the record in place. Register them before the
//     processors that export (sdklog.WithProcessor calls run in order), so
//     that every exporter after them sees the change, and none before.
//   - MinSeverity and FlushOnSeverity wrap a downstream processor (usually a
//     BatchProcessor) and decide what reaches it or when it flushes. They
//     forward Enabled, ForceFlush and Shutdown.
//
// A typical provider:
//
//	sdklog.NewLoggerProvider(
//		sdklog.WithProcessor(redact),                          // mask secrets first
//		sdklog.WithProcessor(enrich),                          // add service-wide fields
//		sdklog.WithProcessor(sdklog.NewBatchProcessor(files)), // everything to files
//		sdklog.WithProcessor(processor.NewFlushOnSeverity(     // errors to a webhook, at once
//			processor.NewMinSeverity(log.SeverityError, sdklog.NewBatchProcessor(hook)))),
//	)
package processor
