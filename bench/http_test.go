package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
	httpexporter "github.com/fapilog/fapilog-otel/exporters/http"
)

// BenchmarkHTTPBatch512 sends batches of 512 records to a loopback receiver
// that reads and discards bodies: our HTTP exporter (NDJSON, plain and gzip;
// Export then ForceFlush, so every batch is answered before the next) against
// otlploghttp v0.23.0 (whose Export sends synchronously). One operation is
// one batch; ns/record is the figure to compare.
func BenchmarkHTTPBatch512(b *testing.B) {
	srv, received := discardReceiver()
	defer srv.Close()
	recs := records(512)
	ctx := context.Background()
	// B/record is what went on the wire: request bodies, compressed or not.
	run := func(b *testing.B, exp sdklog.Exporter, flush bool) {
		received.Store(0)
		exportBatches(b, exp, recs, flush)
		b.ReportMetric(float64(received.Load())/float64(b.N*len(recs)), "B/record")
	}
	for _, c := range []struct {
		name string
		comp httpexporter.Compression
	}{{"fapilog-ndjson", httpexporter.CompressionNone}, {"fapilog-ndjson-gzip", httpexporter.CompressionGzip}} {
		b.Run(c.name, func(b *testing.B) {
			exp, err := httpexporter.New(httpexporter.WithEndpoint(srv.URL), httpexporter.WithCompression(c.comp))
			if err != nil {
				b.Fatal(err)
			}
			run(b, exp, true)
		})
	}
	for _, c := range []struct {
		name string
		comp otlploghttp.Compression
	}{{"otlploghttp", otlploghttp.NoCompression}, {"otlploghttp-gzip", otlploghttp.GzipCompression}} {
		b.Run(c.name, func(b *testing.B) {
			exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpointURL(srv.URL), otlploghttp.WithInsecure(), otlploghttp.WithCompression(c.comp))
			if err != nil {
				b.Fatal(err)
			}
			run(b, exp, false)
		})
	}
}

// BenchmarkHTTPReceiverDown writes while the receiver never answers: memory
// must stay within the pending bound (4 MiB here), the rest is dropped and
// counted. It reports the peak of pending bytes and the heap in use.
func BenchmarkHTTPReceiverDown(b *testing.B) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	const bound = 4 << 20
	sink, err := httpexporter.NewSink(httpexporter.WithEndpoint(srv.URL),
		httpexporter.WithDelivery(delivery.Options{Pending: delivery.Pending{MaxBytes: bound}}))
	if err != nil {
		b.Fatal(err)
	}
	exp, err := bridge.NewExporter(sink)
	if err != nil {
		b.Fatal(err)
	}
	recs := []sdklog.Record{record()}
	ctx := context.Background()
	peak := 0
	var ms runtime.MemStats
	var heapPeak uint64
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		_ = exp.Export(ctx, recs) // drops are expected once the bound is reached
		if p := sink.PendingBytes(); p > peak {
			peak = p
		}
		if i%10000 == 0 {
			runtime.ReadMemStats(&ms)
			heapPeak = max(heapPeak, ms.HeapInuse)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(peak), "peak-pending-B")
	b.ReportMetric(float64(heapPeak), "peak-heap-B")
	b.ReportMetric(float64(sink.Lost()), "dropped")
	stopCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_ = exp.Shutdown(stopCtx)
}

// discardReceiver is a loopback receiver that reads and discards bodies,
// counting their bytes as they came (compressed, if they were).
func discardReceiver() (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := io.Copy(io.Discard, r.Body)
		n.Add(c)
	})), &n
}

// records returns n copies of the benchmark record.
func records(n int) []sdklog.Record {
	recs := make([]sdklog.Record, n)
	for i := range recs {
		recs[i] = record()
	}
	return recs
}

// exportBatches exports recs once per operation, with a ForceFlush after
// each when flush is set (so every batch is answered before the next), and
// reports ns/record.
func exportBatches(b *testing.B, exp sdklog.Exporter, recs []sdklog.Record, flush bool) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := exp.Export(ctx, recs); err != nil {
			b.Fatal(err)
		}
		if flush {
			if err := exp.ForceFlush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
	b.StopTimer()
	if err := exp.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}
