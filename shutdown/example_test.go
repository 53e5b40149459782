package shutdown_test

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/shutdown"
)

// A service that wants nothing more than "lose no logs on SIGTERM": flush,
// then exit as the signal would have.
func ExampleNotify() {
	exp, _ := stdoutjson.New()
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	stop := shutdown.Notify(provider, shutdown.WithTimeout(10*time.Second))
	defer stop()

	slog.New(otelslog.NewHandler("svc", otelslog.WithLoggerProvider(provider))).Info("serving")
}

// A server that drains its connections itself: the context ends after the
// logs of everything so far are flushed, and the server shuts down in order.
func ExampleNotifyContext() {
	exp, _ := stdoutjson.New()
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	ctx, stop := shutdown.NotifyContext(context.Background(), provider)
	defer stop()

	srv := &http.Server{Addr: "127.0.0.1:0"}
	go func() { _ = srv.ListenAndServe() }()
	go func() { time.Sleep(10 * time.Millisecond); stop() }() // stands in for SIGTERM here

	<-ctx.Done()
	drain, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = srv.Shutdown(drain)
	_ = shutdown.FlushAndShutdown(drain, provider)
}

func ExampleFlush() {
	exp, _ := stdoutjson.New()
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown.FlushAndShutdown(ctx, provider)
	}()
	slog.New(otelslog.NewHandler("job", otelslog.WithLoggerProvider(provider))).Info("batch job done")
}
