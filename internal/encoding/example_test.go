package encoding_test

import (
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"

	"github.com/fapilog/fapilog-otel/internal/encoding"
)

func ExampleEncoder_Append() {
	rec := logtest.RecordFactory{
		Timestamp: time.Date(2026, 11, 27, 7, 34, 50, 0, time.UTC),
		Severity:  log.SeverityInfo,
		Body:      attribute.StringValue("hello"),
	}.NewRecord()
	line := encoding.New(encoding.OTLPJSON).Append(nil, &rec)
	fmt.Println(string(line))
	// Output:
	// {"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"timeUnixNano":"1795764890000000000","severityNumber":9,"body":{"stringValue":"hello"}}]}]}]}
}
