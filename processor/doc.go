// Package processor holds OpenTelemetry log processors (sdklog.Processor)
// for what fapilog users rely on and the Go SDK lacks.
//
// Three kinds, and the order matters:
//
//   - Batch (NewBatch) queues records and exports them in batches, like
//     sdklog.NewBatchProcessor with the same defaults, but without losing
//     any on its own: a full queue applies a policy and counts every drop,
//     a failed Export is retried (a string that is not UTF-8, which the
//     OTLP exporters refuse, is repaired first), a flush that runs out of
//     time keeps what it did not export. Use it in place of the SDK's
//     processor, in front of any exporter.
//   - Dedup, Redact and Enrich change the record in place. Register them
//     before the processors that export (sdklog.WithProcessor calls run in
//     order), so that every exporter after them sees the change, and none
//     before. Dedup goes first, with sdklog.WithAllowKeyDuplication: the
//     fast setup.
//   - MinSeverity and FlushOnSeverity wrap a downstream processor (usually a
//     Batch) and decide what reaches it or when it flushes. They forward
//     Enabled, ForceFlush and Shutdown (Shutdown once).
//
// A typical provider:
//
//	sdklog.NewLoggerProvider(
//		sdklog.WithAllowKeyDuplication(),
//		sdklog.WithProcessor(processor.NewDedup()),            // unique keys, cheaply
//		sdklog.WithProcessor(redact),                          // mask secrets
//		sdklog.WithProcessor(enrich),                          // add service-wide fields
//		sdklog.WithProcessor(processor.NewBatch(files)),       // everything to files
//		sdklog.WithProcessor(processor.NewFlushOnSeverity(     // errors to a webhook, at once
//			processor.NewMinSeverity(log.SeverityError, processor.NewBatch(hook)))),
//	)
package processor
