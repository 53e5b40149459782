package bench

import (
	"testing"

	"github.com/fapilog/fapilog-otel/exporters/delivery"
	httpexporter "github.com/fapilog/fapilog-otel/exporters/http"
)

// BenchmarkHTTPSpool measures what the crash-safe spool costs the http
// exporter: batches of 512 records, Export then ForceFlush (so each batch
// is answered before the next, as in BenchmarkHTTPBatch512), in memory and
// with a spool under each sync policy. ns/record is the figure to compare;
// the target is spool with sync-on-flush at most 1.5x in-memory.
func BenchmarkHTTPSpool(b *testing.B) {
	srv, _ := discardReceiver()
	defer srv.Close()
	recs := records(512)
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
			exportBatches(b, exp, recs, true)
		})
	}
}
