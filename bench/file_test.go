package bench

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/fapilog/fapilog-otel/exporters/rotatingfile"
	"github.com/fapilog/fapilog-otel/internal/encoding"
)

// BenchmarkRotatingFile writes the shared record to files rotating at 10 MB
// with 5 backups, one record per operation: our exporter, zap on
// lumberjack (one write(2) per line; bare, and with the envelope's context
// fields), and the physical limit: the same line,
// encoded once beforehand, through a 256 KiB bufio.Writer on a plain file
// that is truncated every 4 MiB, so that dirty-page throttling does not
// decide the figure.
func BenchmarkRotatingFile(b *testing.B) {
	for _, c := range []struct {
		name  string
		batch int
	}{{"fapilog-rotatingfile", 1}, {"fapilog-rotatingfile-batch512", 512}} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			exp, err := rotatingfile.New(rotatingfile.WithDirectory(dir),
				rotatingfile.WithMaxSize(10<<20), rotatingfile.WithMaxFiles(5))
			if err != nil {
				b.Fatal(err)
			}
			exportBatched(b, exp, c.batch)
			reportFileLines(b, dir)
		})
	}
	// zap carries the envelope's service, host, trace and span fields
	// (With) in the +context case, as in BenchmarkEncodeWrite: the same
	// content. The bare case is beside it.
	for _, c := range []struct {
		name    string
		context []zap.Field
	}{{"zap-lumberjack", nil}, {"zap-lumberjack+context", contextZap()}} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			lj := &lumberjack.Logger{Filename: filepath.Join(dir, "zap.log"), MaxSize: 10, MaxBackups: 5}
			logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(lj), zapcore.DebugLevel)).With(c.context...)
			fields := zapFields()
			loop(b, func() { logger.Info(msg, fields...) })
			b.StopTimer()
			_ = lj.Close()
			reportFileLines(b, dir)
		})
	}
	b.Run("limit-bufio-256KiB", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "plain.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		w := bufio.NewWriterSize(f, 256<<10)
		rec := record()
		line := append(encoding.New(encoding.Envelope).Append(nil, &rec), '\n')
		written := 0
		loop(b, func() {
			if _, err := w.Write(line); err != nil {
				b.Fatal(err)
			}
			if written += len(line); written >= 4<<20 {
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
				if err := f.Truncate(0); err != nil {
					b.Fatal(err)
				}
				if _, err := f.Seek(0, 0); err != nil {
					b.Fatal(err)
				}
				written = 0
			}
		})
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(line)), "B/line")
	})
}

// reportFileLines reports the average line length in the files the
// benchmark left in dir (retention removed the older ones), after the
// timer stopped: what each logger really wrote, not what it was given.
func reportFileLines(b *testing.B, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	w := &countingDiscard{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = w.Write(data)
	}
	reportLine(b, w)
}

// BenchmarkRotationLatency reports the worst single-record Export latency
// while files rotate every 1 MB and are gzip-compressed in the background:
// compression must not stall writers.
func BenchmarkRotationLatency(b *testing.B) {
	exp, err := rotatingfile.New(rotatingfile.WithDirectory(b.TempDir()),
		rotatingfile.WithMaxSize(1<<20), rotatingfile.WithMaxFiles(3),
		rotatingfile.WithCompression(rotatingfile.CompressionGzip))
	if err != nil {
		b.Fatal(err)
	}
	recs := []sdklog.Record{record()}
	ctx := context.Background()
	lat := make([]time.Duration, 0, 1<<20)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if err := exp.Export(ctx, recs); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
	if err := exp.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}
