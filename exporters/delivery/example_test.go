package delivery_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"time"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
)

// csv is a receiver-specific layout: one request per batch, entries as
// lines of a CSV column, the batch id as an idempotency key.
type csv struct{}

func (csv) Encode(dst []byte, h http.Header, key string, entries [][]byte) ([]byte, error) {
	h.Set("Content-Type", "text/csv")
	h.Set("Idempotency-Key", key)
	dst = append(dst, "entry\n"...)
	for _, e := range entries {
		dst = strconv.AppendQuote(dst, string(e))
		dst = append(dst, '\n')
	}
	return dst, nil
}

// A sink for a receiver with its own layout gets the same batching,
// bounds, retries and flush promise as the built-in network exporters.
func ExampleNewSink() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Printf("key set: %v\n%s", r.Header.Get("Idempotency-Key") != "", b)
	}))
	defer srv.Close()

	sink, err := delivery.NewSink("csvsink", srv.URL, csv{}, delivery.Options{
		Batch: delivery.Batch{MaxAge: 100 * time.Millisecond},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	exp, err := bridge.NewExporter(sink) // an sdklog.Exporter
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = sink.Write(context.Background(), []byte(`{"message":"hello"}`))
	_ = exp.ForceFlush(context.Background())
	_ = exp.Shutdown(context.Background())
	// Output:
	// key set: true
	// entry
	// "{\"message\":\"hello\"}"
}

// Options name only what they change; the rest keep their defaults.
func ExampleOptions() {
	o := delivery.Options{
		Headers: http.Header{"Authorization": {"Bearer token"}},
		Pending: delivery.Pending{MaxBytes: 64 << 20, Overflow: delivery.OverflowBlock},
		Retry:   delivery.Retry{MaxElapsedTime: time.Minute},
	}
	fmt.Println(o.Pending.Overflow, o.Batch.MaxEntries == 0)
	// Output: block true
}

// With a spool, every entry is on disk from Write until the receiver
// acknowledges it; a process that starts on the same directory sends what
// an earlier one left, first, under the same idempotency keys.
func ExampleSpool() {
	dir, _ := os.MkdirTemp("", "spool")
	defer os.RemoveAll(dir)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()

	sink, err := delivery.NewSink("example", srv.URL, csv{}, delivery.Options{
		Spool: delivery.Spool{Dir: dir, MaxBytes: 64 << 20, Sync: delivery.SpoolSyncOnFlush},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = sink.Write(context.Background(), []byte(`{"message":"kept on disk until acknowledged"}`))
	st, _ := sink.SpoolStats()
	fmt.Println("undelivered:", !st.Oldest.IsZero())
	_ = sink.Flush(context.Background())
	st, _ = sink.SpoolStats()
	fmt.Println("undelivered after the flush:", !st.Oldest.IsZero())
	_ = sink.Stop(context.Background())
	// Output:
	// undelivered: true
	// undelivered after the flush: false
}
