package httpexporter

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/internal/testdest"
)

func TestWithHTTPClientSendsThroughIt(t *testing.T) {
	r := newReceiver(t)
	tr := &testdest.CountingTransport{}
	s := newTestSink(t, r, delivery.Options{Client: &http.Client{Transport: tr}})
	add(t, s, 0, 3)
	require.NoError(t, s.Flush(context.Background()))
	require.NoError(t, s.Stop(context.Background()))
	assert.EqualValues(t, 1, tr.N.Load(), "the batch went through the injected client")
	requireExactlyOnce(t, r.entries(), 3)
}

func TestWithRetryableStatuses(t *testing.T) {
	for _, c := range []struct {
		name     string
		statuses []int
		status   int
		attempts int
	}{
		{"default: 503 is retried", nil, 503, 3},
		{"default: 400 is final", nil, 400, 1},
		{"none: even 503 is final", []int{}, 503, 1},
		{"400 made retryable", []int{400}, 400, 3},
		{"503 no longer retried", []int{400}, 503, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newReceiver(t)
			r.respond = func(n int, _ http.ResponseWriter) int {
				if n < 2 {
					return c.status
				}
				return http.StatusOK
			}
			s := newTestSink(t, r, delivery.Options{RetryableStatuses: c.statuses})
			add(t, s, 0, 1)
			err := s.Flush(context.Background())
			assert.Equal(t, c.attempts, r.count())
			if c.attempts == 1 {
				assert.Error(t, err)
			} else {
				assert.NoError(t, err)
			}
			require.NoError(t, s.Stop(context.Background()))
		})
	}
}

func TestWithWrapKey(t *testing.T) {
	var mu sync.Mutex
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	s, err := NewSink(WithEndpoint(srv.URL), WithBodyFormat(BodyWrapped), WithWrapKey("records"))
	require.NoError(t, err)
	require.NoError(t, s.Write(context.Background(), []byte(`{"n":1}`)))
	require.NoError(t, s.Flush(context.Background()))
	require.NoError(t, s.Stop(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	var got map[string][]map[string]int
	require.NoError(t, json.Unmarshal(body, &got), "%s", body)
	assert.Equal(t, map[string][]map[string]int{"records": {{"n": 1}}}, got)
}

func TestEmptyWrapKeyKeepsDefault(t *testing.T) {
	c := newConfig([]Option{WithWrapKey("")})
	assert.Equal(t, "logs", c.wrapKey)
}
