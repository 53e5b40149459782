package autoexport_test

import (
	"context"
	"fmt"
	"os"

	contrib "go.opentelemetry.io/contrib/exporters/autoexport"

	"github.com/fapilog/fapilog-otel/bridge"
)

func Example() {
	// In a deployment these come from the environment of the process.
	os.Setenv("OTEL_LOGS_EXPORTER", "fapilog_stdoutjson") // autoexport.NameStdoutJSON
	defer os.Unsetenv("OTEL_LOGS_EXPORTER")

	exp, err := contrib.NewLogExporter(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(exp.(*bridge.Exporter).Name())
	_ = exp.Shutdown(context.Background())
	// Output: stdoutjson
}
