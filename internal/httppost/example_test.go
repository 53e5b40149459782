package httppost_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/fapilog/fapilog-otel/internal/httppost"
)

func ExamplePoster() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	p, err := httppost.New(httppost.Config{Endpoint: srv.URL + "/ingest?token=secret", Option: "WithEndpoint"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	err = p.Post(context.Background(), []byte(`{"n":1}`), nil)
	var se *httppost.StatusError
	if errors.As(err, &se) {
		fmt.Println(se.Status, se.RetryAfter, se.Endpoint == srv.URL+"/ingest")
	}
	retry, after := httppost.Evaluate(nil)(err)
	fmt.Println(retry, after)
	// Output:
	// 429 30s true
	// true 30s
}
