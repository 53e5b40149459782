package httpexporter_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/exporters/delivery"
	httpexporter "github.com/fapilog/fapilog-otel/exporters/http"
)

func Example() {
	// A stand-in for a log collector.
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Header.Get("Content-Type") + " " + fmt.Sprint(strings.Count(string(b), "\n")) + " line(s)"
	}))
	defer srv.Close()

	exp, err := httpexporter.New(
		httpexporter.WithEndpoint(srv.URL+"/ingest"), // https required off loopback
		httpexporter.WithDelivery(delivery.Options{
			Headers: http.Header{"Authorization": {"Bearer token"}},
			Batch:   delivery.Batch{MaxAge: 200 * time.Millisecond}, // the rest default
		}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	slog.New(otelslog.NewHandler("svc", otelslog.WithLoggerProvider(provider))).Error("payment failed")

	// nil means the collector answered 2xx for the line above.
	if err := provider.ForceFlush(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Println(<-got)
	_ = provider.Shutdown(context.Background())
	// Output: application/x-ndjson 1 line(s)
}
