package webhook_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/exporters/webhook"
)

func Example() {
	secret, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		fmt.Println(err)
		return
	}
	// The receiving service verifies what it gets.
	replays := webhook.NewReplayWindow(webhook.DefaultTolerance)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println("verified:", webhook.Verify(r.Header, body, []webhook.Secret{secret}, webhook.WithReplayGuard(replays)) == nil)
	}))
	defer srv.Close()

	exp, err := webhook.New(webhook.WithEndpoint(srv.URL), webhook.WithSecrets(secret))
	if err != nil {
		fmt.Println(err)
		return
	}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	slog.New(otelslog.NewHandler("billing", otelslog.WithLoggerProvider(provider))).Error("charge failed")
	_ = provider.Shutdown(context.Background())
	// Output: verified: true
}
