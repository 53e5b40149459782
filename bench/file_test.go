package bench

import (
	"bufio"
	"context"
	"fmt"
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
// fields), and two limits for the same line, encoded once beforehand and
// written through a 256 KiB bufio.Writer: on a plain file truncated every
// 4 MiB, so that dirty-page throttling does not decide the figure (the
// limit of the code), and on files rotating at 10 MB with 5 kept, as every
// rotating logger's are (the limit of the disk: kept files must reach it,
// and the kernel holds writers back to its speed).
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
		bufferedLines(b, 4<<20, func(f *os.File) (*os.File, error) {
			if err := f.Truncate(0); err != nil {
				return nil, err
			}
			_, err := f.Seek(0, 0)
			return f, err
		})
	})
	b.Run("limit-disk-rotating", func(b *testing.B) {
		rotated := 0
		bufferedLines(b, 10<<20, func(f *os.File) (*os.File, error) {
			if err := f.Close(); err != nil {
				return nil, err
			}
			// The sixth file replaces the first: 5 kept, as above.
			rotated++
			if err := os.Rename(f.Name(), fmt.Sprintf("%s.%d", f.Name(), rotated%5)); err != nil {
				return nil, err
			}
			return os.Create(f.Name())
		})
	})
}

// bufferedLines writes the shared record's envelope line, encoded once,
// through a 256 KiB bufio.Writer to a file in a new directory, one line per
// operation, and calls next with the file after every limit bytes to get
// the file to go on with.
func bufferedLines(b *testing.B, limit int, next func(*os.File) (*os.File, error)) {
	f, err := os.Create(filepath.Join(b.TempDir(), "plain.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	rec := record()
	line := append(encoding.New(encoding.Envelope).Append(nil, &rec), '\n')
	written := 0
	loop(b, func() {
		if _, err := w.Write(line); err != nil {
			b.Fatal(err)
		}
		if written += len(line); written >= limit {
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			if f, err = next(f); err != nil {
				b.Fatal(err)
			}
			w.Reset(f)
			written = 0
		}
	})
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(line)), "B/line")
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
