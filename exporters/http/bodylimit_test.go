package httpexporter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
