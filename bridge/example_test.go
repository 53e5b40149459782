package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/bridge"
)

// memorySink keeps entries in memory. Write copies the entry because the
// bridge reuses it; Flush would push a buffer out, here there is none.
type memorySink struct {
	mu    sync.Mutex
	lines [][]byte
}

func (s *memorySink) Write(_ context.Context, entry []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, bytes.Clone(entry))
	return nil
}

func (s *memorySink) Flush(ctx context.Context) error { return ctx.Err() }

func ExampleNewExporter() {
	sink := &memorySink{}
	exp, err := bridge.NewExporter(sink, bridge.WithName("memory"))
	if err != nil {
		panic(err)
	}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))

	var rec log.Record
	rec.SetBody(attribute.StringValue("hello"))
	rec.SetSeverity(log.SeverityWarn)
	provider.Logger("example").Emit(context.Background(), rec)

	if err := provider.ForceFlush(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println(len(sink.lines), bytes.Contains(sink.lines[0], []byte(`"level":"WARNING"`)))
	_ = provider.Shutdown(context.Background())
	// Output: 1 true
}
