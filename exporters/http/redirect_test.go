package httpexporter

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fapilog/fapilog-otel/exporters/delivery"
)

// A 3xx never counts as delivered: net/http would turn a 301/302/303 POST
// into a bodiless GET that the target answers 200. The redirect is a
// failure naming the Location, and no request (with our credentials) ever
// reaches the other host, whatever client the user injected.
func TestRedirectIsAFailureAndNothingLeaks(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
	}))
	defer other.Close()
	for _, status := range []int{301, 302, 303, 307, 308} {
		for _, client := range []*http.Client{nil, {}, http.DefaultClient} {
			redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/steal?token=x", status)
			}))
			d := delivery.Options{Headers: http.Header{"Authorization": {"Bearer secret"}}}
			if client != nil {
				d.Client = client
			}
			s, err := NewSink(WithEndpoint(redirector.URL), fast(d))
			require.NoError(t, err)
			require.NoError(t, s.Write(context.Background(), []byte(`{"seq":0}`)))
			err = s.Flush(context.Background())
			require.Error(t, err, "status %d", status)
			assert.Contains(t, err.Error(), fmt.Sprintf("answered %d", status))
			assert.Contains(t, err.Error(), "redirect to "+other.URL+"/steal not followed")
			assert.NotContains(t, err.Error(), "token=x", "the Location's query is redacted")
			assert.EqualValues(t, 1, s.Lost())
			require.NoError(t, s.Stop(context.Background()))
			redirector.Close()
		}
	}
	assert.Zero(t, elsewhere.Load(), "a request reached the redirect target")
	assert.Nil(t, http.DefaultClient.CheckRedirect, "the caller's client was modified")
}

func TestInvalidHeadersFailAtConstruction(t *testing.T) {
	for _, h := range [][2]string{
		{"X-Key", "line1\r\nX-Injected: 1"},
		{"X-Key", "nul\x00"},
		{"Bad Name", "v"},
		{"", "v"},
		{"X-Key:", "v"},
	} {
		_, err := NewSink(WithEndpoint("http://127.0.0.1:1"), WithDelivery(delivery.Options{Headers: http.Header{h[0]: {h[1]}}}))
		require.Error(t, err, "%q", h)
		assert.Contains(t, err.Error(), "WithDelivery: Headers")
		if h[1] != "v" {
			assert.NotContains(t, err.Error(), h[1], "header values are not echoed")
		}
	}
	_, err := NewSink(WithEndpoint("http://127.0.0.1:1"), WithDelivery(delivery.Options{Headers: http.Header{"X-Api-Key": {"abc def\tghi"}}}))
	assert.NoError(t, err, "spaces and tabs are valid in values")
}

// Every batch carries an idempotency key, the same on each retry of it and
// different between batches.
func TestBatchIDStableAcrossRetries(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		ids = append(ids, r.Header.Get(HeaderBatchID))
		calls++
		if calls <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	s, err := NewSink(WithEndpoint(srv.URL), fast(delivery.Options{Batch: delivery.Batch{MaxEntries: 1}}))
	require.NoError(t, err)
	require.NoError(t, s.Write(context.Background(), []byte(`{"a":1}`)))
	require.NoError(t, s.Flush(context.Background()))
	require.NoError(t, s.Write(context.Background(), []byte(`{"a":2}`)))
	require.NoError(t, s.Flush(context.Background()))
	require.NoError(t, s.Stop(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, ids, 4)
	assert.NotEmpty(t, ids[0])
	assert.Equal(t, ids[0], ids[1], "a retry reuses its batch id")
	assert.Equal(t, ids[0], ids[2])
	assert.NotEqual(t, ids[0], ids[3], "a new batch has a new id")
	_ = time.Second
}
