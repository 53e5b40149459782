package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/exporters/delivery"
	httpexporter "github.com/fapilog/fapilog-otel/exporters/http"
)

// BenchmarkHTTPSpool measures what the crash-safe spool costs the http
// exporter: batches of 512 records, Export then ForceFlush (so each batch
// is answered before the next, as in BenchmarkHTTPBatch512), in memory and
// with a spool under each sync policy. ns/record is the figure to compare;
// the target is spool with sync-on-flush at most 1.5x in-memory.
func BenchmarkHTTPSpool(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	recs := make([]sdklog.Record, 512)
	for i := range recs {
		recs[i] = record()
	}
	ctx := context.Background()
	cases := []struct {
		name  string
		spool bool
		sync  delivery.SpoolSync
	}{
		{"memory", false, 0},
		{"spool-sync-on-flush", true, delivery.SpoolSyncOnFlush},
		{"spool-sync-interval", true, delivery.SpoolSyncInterval},
		{"spool-sync-always", true, delivery.SpoolSyncAlways},
		{"spool-sync-never", true, delivery.SpoolSyncNever},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			o := delivery.Options{}
			if c.spool {
				o.Spool = delivery.Spool{Dir: b.TempDir(), Sync: c.sync}
			}
			exp, err := httpexporter.New(httpexporter.WithEndpoint(srv.URL), httpexporter.WithDelivery(o))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := exp.Export(ctx, recs); err != nil {
					b.Fatal(err)
				}
				if err := exp.ForceFlush(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
			b.StopTimer()
			if err := exp.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}
