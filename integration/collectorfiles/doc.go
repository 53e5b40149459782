// Package collectorfiles proves that the Collector reads our OTLP/JSON
// files: it reads rotating output (active, rotated and gzip-compressed
// files, across a restart of the writer) with the Collector's own file
// reading package (pkg/stanza's fileconsumer) and pdata's JSON unmarshaler,
// as the Collector's otlpjsonfile receiver does, and compares every record
// with what was emitted. It is a module of its own so that the Collector's
// dependencies stay out of every other module.
package collectorfiles
