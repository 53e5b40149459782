package sinkopts_test

import (
	"fmt"

	"github.com/fapilog/fapilog-otel/internal/sinkopts"
)

// A NewSink given no exporter-level option goes on; one given any is
// refused, rather than silently ignoring it.
func ExampleRefuseExporterOptions() {
	fmt.Println(sinkopts.RefuseExporterOptions("stdoutjson", 0))
	fmt.Println(sinkopts.RefuseExporterOptions("stdoutjson", 1) != nil)
	// Output:
	// <nil>
	// true
}
