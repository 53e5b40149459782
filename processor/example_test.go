package processor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/processor"
)

func Example() {
	var out strings.Builder
	exp, _ := stdoutjson.New(stdoutjson.WithWriter(&out))
	provider := sdklog.NewLoggerProvider(
		sdklog.WithProcessor(processor.NewRedact(processor.WithPatterns(processor.BearerToken))),
		sdklog.WithProcessor(processor.NewEnrich(processor.WithAttributes(attribute.String("team", "payments")))),
		sdklog.WithProcessor(processor.NewFlushOnSeverity(
			processor.NewMinSeverity(log.SeverityInfo, processor.NewBatch(exp)))),
	)
	logger := slog.New(otelslog.NewHandler("checkout", otelslog.WithLoggerProvider(provider)))
	logger.Debug("not exported: below INFO")
	logger.Error("upstream refused", "password", "hunter2", "header", "Bearer abc.def")
	_ = provider.Shutdown(context.Background())

	line := out.String()
	fmt.Println(strings.Count(line, "\n"), strings.Contains(line, "hunter2"), strings.Contains(line, "abc.def"), strings.Contains(line, `"team":"payments"`))
	// Output: 1 false false true
}

// NewBatch takes the place of sdklog.NewBatchProcessor in front of any
// exporter. Here the exporter fails its first two exports (a Collector
// restarting): the SDK's processor would have dropped those batches; Batch
// retries them, and ForceFlush returns nil only once every record is out.
func ExampleNewBatch() {
	exp := &flakyExporter{failures: 2}
	batch := processor.NewBatch(exp,
		processor.WithQueueFullPolicy(processor.QueueFullBlock), // the default
		processor.WithBatchErrorHandler(func(error) {}),         // keep the example's output quiet
	)
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(batch))
	logger := slog.New(otelslog.NewHandler("checkout", otelslog.WithLoggerProvider(provider)))
	for i := range 100 {
		logger.Info("order placed", "seq", i)
	}
	err := provider.ForceFlush(context.Background())
	fmt.Println("flush:", err, "exported:", exp.exported, "dropped:", batch.Dropped())
	_ = provider.Shutdown(context.Background())
	// Output: flush: <nil> exported: 100 dropped: 0
}

type flakyExporter struct {
	failures, exported int
}

func (e *flakyExporter) Export(_ context.Context, recs []sdklog.Record) error {
	if e.failures > 0 {
		e.failures--
		return fmt.Errorf("collector unavailable")
	}
	e.exported += len(recs)
	return nil
}
func (e *flakyExporter) ForceFlush(context.Context) error { return nil }
func (e *flakyExporter) Shutdown(context.Context) error   { return nil }

// A string that is not UTF-8 makes the OTLP exporters refuse their whole
// batch (protobuf will not encode it). NewBatch repairs the strings of a
// batch whose Export failed, each stray byte becoming U+FFFD, and sends
// it again at once: no record is lost, and none waits for the retry
// budget. The exporter here refuses as otlploghttp does.
func ExampleNewBatch_notUTF8() {
	exp := &utf8Exporter{}
	batch := processor.NewBatch(exp, processor.WithBatchErrorHandler(func(err error) {
		fmt.Println("reported:", strings.Contains(err.Error(), "replaced by U+FFFD"))
	}))
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(batch))
	logger := slog.New(otelslog.NewHandler("upload", otelslog.WithLoggerProvider(provider)))
	logger.Info("stored", "name", "report.pdf")
	logger.Info("stored", "name", "r\xe9sum\xe9.pdf") // Latin-1 bytes from a client
	err := provider.ForceFlush(context.Background())
	fmt.Println("flush:", err)
	fmt.Printf("%+q\n", exp.names) // %+q: U+FFFD as an escape
	_ = provider.Shutdown(context.Background())
	// Output:
	// reported: true
	// flush: <nil>
	// ["report.pdf" "r\ufffdsum\ufffd.pdf"]
}

// utf8Exporter refuses a batch holding a string that is not UTF-8, and
// keeps the "name" attribute of the records it exports.
type utf8Exporter struct{ names []string }

func (e *utf8Exporter) Export(_ context.Context, recs []sdklog.Record) error {
	var names []string
	for _, r := range recs {
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			if kv.Key == "name" {
				names = append(names, kv.Value.AsString())
			}
			return true
		})
	}
	for _, n := range names {
		if !utf8.ValidString(n) {
			return errors.New("string field contains invalid UTF-8")
		}
	}
	e.names = append(e.names, names...)
	return nil
}
func (e *utf8Exporter) ForceFlush(context.Context) error { return nil }
func (e *utf8Exporter) Shutdown(context.Context) error   { return nil }

// RecordUID gives each record one id, the envelope's message_id in every
// fapilog sink and log.record.uid for OTLP, so a record can be followed
// from stdout to a file to a Collector.
func ExampleNewRecordUID() {
	var a, b bytes.Buffer
	expA, _ := stdoutjson.New(stdoutjson.WithWriter(&a))
	expB, _ := stdoutjson.New(stdoutjson.WithWriter(&b))
	provider := sdklog.NewLoggerProvider(
		sdklog.WithProcessor(processor.NewRecordUID()), // first: it changes the record
		sdklog.WithProcessor(sdklog.NewSimpleProcessor(expA)),
		sdklog.WithProcessor(sdklog.NewSimpleProcessor(expB)),
	)
	slog.New(otelslog.NewHandler("svc", otelslog.WithLoggerProvider(provider))).Info("paid")
	_ = provider.Shutdown(context.Background())

	id := func(line []byte) string {
		var env struct {
			Log struct {
				Context struct {
					MessageID string `json:"message_id"`
				}
			}
		}
		_ = json.Unmarshal(line, &env)
		return env.Log.Context.MessageID
	}
	fmt.Println(id(a.Bytes()) == id(b.Bytes()), id(a.Bytes())[14:15])
	// Output: true 7
}
