package engine_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fapilog/fapilog-otel/internal/engine"
)

// printSender stands in for an HTTP request.
type printSender struct{}

func (printSender) Send(_ context.Context, key string, entries [][]byte) error {
	_, seq, _ := strings.Cut(key, "-") // keys are <random prefix>-<seq>
	fmt.Printf("batch %s: %d entries\n", seq, len(entries))
	return nil
}

func ExampleEngine() {
	e, err := engine.New(engine.Config{MaxBatchEntries: 2, MaxBatchAge: time.Hour}, printSender{}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, entry := range []string{`{"n":1}`, `{"n":2}`, `{"n":3}`} {
		_ = e.Add(context.Background(), []byte(entry))
	}
	// Flush sends the partial batch too, and returns once both are answered.
	fmt.Println(e.Flush(context.Background()))
	_ = e.Close(context.Background())
	// Output:
	// batch 0: 2 entries
	// batch 1: 1 entries
	// <nil>
}
