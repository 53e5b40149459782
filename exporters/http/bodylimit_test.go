package httpexporter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fapilog/fapilog-otel/exporters/delivery"
)

// Batch.MaxBytes is the body a receiver must accept: nginx's default
// client_max_body_size is 1 MiB, the default batch size. The separators and
// brackets of the layout count too, or a full batch of small entries is
// answered 413, which is not retried, and lost.
func TestBodyNeverExceedsBatchMaxBytes(t *testing.T) {
	const limit = 16 << 10
	for _, body := range []struct {
		name string
		f    BodyFormat
	}{{"ndjson", BodyNDJSON}, {"array", BodyArray}, {"wrapped", BodyWrapped}} {
		for _, spooled := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/spool=%v", body.name, spooled), func(t *testing.T) {
				var mu sync.Mutex
				var sizes []int
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					b, _ := io.ReadAll(req.Body)
					mu.Lock()
					sizes = append(sizes, len(b))
					mu.Unlock()
					if len(b) > limit {
						w.WriteHeader(http.StatusRequestEntityTooLarge)
					}
				}))
				defer srv.Close()
				d := delivery.Options{Batch: delivery.Batch{MaxEntries: 100000, MaxBytes: limit}}
				if spooled {
					d.Spool = delivery.Spool{Dir: t.TempDir()}
				}
				s, err := NewSink(WithEndpoint(srv.URL), fast(d), WithBodyFormat(body.f))
				require.NoError(t, err)
				// Entries of several sizes, so that batches end at every
				// distance from the limit.
				entries := make([][]byte, 3000)
				for i := range entries {
					entries[i] = fmt.Appendf(nil, `{"seq":%d,"pad":"%*s"}`, i, i%37, "")
				}
				_, err = s.WriteBatch(context.Background(), entries)
				require.NoError(t, err)
				require.NoError(t, s.Flush(context.Background()), "no batch refused")
				require.NoError(t, s.Stop(context.Background()))
				mu.Lock()
				defer mu.Unlock()
				require.Greater(t, len(sizes), 3)
				for i, n := range sizes {
					assert.LessOrEqual(t, n, limit, "request %d", i)
				}
				assert.Greater(t, sizes[0], limit*9/10, "batches still fill up to the limit")
			})
		}
	}
}

// Framing tells the engine what the layout adds to the entries: never
// less (a body would exceed Batch.MaxBytes), and at most one byte more.
func TestFramingCoversTheLayout(t *testing.T) {
	for _, f := range []BodyFormat{BodyNDJSON, BodyArray, BodyWrapped} {
		for _, key := range []string{"logs", `we"ird`} {
			c := newConfig([]Option{WithBodyFormat(f), WithWrapKey(key)})
			r, err := newRequest(c)
			require.NoError(t, err)
			perEntry, perBatch := r.Framing()
			var entries [][]byte
			sum := 0
			for n := 1; n <= 5; n++ {
				e := fmt.Appendf(nil, `{"n":%d}`, n)
				entries = append(entries, e)
				sum += len(e)
				got := len(r.layout(nil, entries))
				want := sum + n*perEntry + perBatch
				assert.LessOrEqual(t, got, want, "format %v, %d entries", f, n)
				assert.GreaterOrEqual(t, got, want-1, "format %v, %d entries", f, n)
			}
		}
	}
}

// A receiver whose body limit is below Batch.MaxBytes (here the default,
// 1 MiB, against 4 KiB) answers 413 without Retry-After: the batch goes
// out in halves until each part fits, every entry once and in order, each
// part under its own batch ID. An entry larger than the limit on its own is
// lost alone, counted, and named in the flush's error.
func TestTooLargeBatchesAreSplit(t *testing.T) {
	const limit = 4 << 10
	for _, spooled := range []bool{false, true} {
		t.Run(fmt.Sprintf("spool=%v", spooled), func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			ids := map[string]bool{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				b, _ := io.ReadAll(req.Body)
				if len(b) > limit {
					w.WriteHeader(http.StatusRequestEntityTooLarge)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				ids[req.Header.Get(HeaderBatchID)] = true
				got = append(got, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
			}))
			defer srv.Close()
			d := delivery.Options{}
			if spooled {
				d.Spool = delivery.Spool{Dir: t.TempDir()}
			}
			s, err := NewSink(WithEndpoint(srv.URL), fast(d))
			require.NoError(t, err)
			var want []string
			var entries [][]byte
			for i := range 400 {
				e := fmt.Sprintf(`{"seq":%d}`, i)
				if i == 200 {
					e = fmt.Sprintf(`{"seq":%d,"pad":"%s"}`, i, strings.Repeat("x", limit))
				} else {
					want = append(want, e)
				}
				entries = append(entries, []byte(e))
			}
			_, err = s.WriteBatch(context.Background(), entries)
			require.NoError(t, err)
			err = s.Flush(context.Background())
			require.Error(t, err)
			assert.ErrorContains(t, err, "413")
			assert.ErrorContains(t, err, "1 entries lost")
			assert.EqualValues(t, 1, s.Lost())
			require.NoError(t, s.Stop(context.Background()))
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, want, got)
			assert.Greater(t, len(ids), 2, "each part under its own batch ID")
		})
	}
}
