// Package sinkopts holds the rules the built-in sinks share about their
// options.
package sinkopts

import "fmt"

// RefuseExporterOptions is what each package's NewSink returns when given
// n exporter-level options (WithFormat, WithExporterOptions): a bare sink
// has no encoder, so such an option would be silently ignored.
func RefuseExporterOptions(pkg string, n int) error {
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%s: NewSink: WithFormat and WithExporterOptions configure the exporter, which NewSink does not make: use New, or pass them to bridge.NewExporter with this sink", pkg)
}
