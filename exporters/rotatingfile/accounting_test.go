package rotatingfile

import (
	"context"
	"os"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
)

// Faults while a real provider logs and flushes: the disk fills up and
// frees again, and the directory is removed mid-run. Nothing may be lost
// silently: what is in the files plus what the sink counted as lost is
// exactly what was emitted, and nothing is written twice.
func TestFaultAccountingThroughProvider(t *testing.T) {
	for _, fault := range []string{"disk-full", "directory-removed"} {
		t.Run(fault, func(t *testing.T) {
			s, ffs, dir := testSink(t, nil, WithMaxSize(16<<10), WithBuffer(delivery.Buffer{Size: 1024}))
			exp, err := bridge.NewExporter(s)
			require.NoError(t, err)
			provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp,
				sdklog.WithMaxQueueSize(1<<16))))
			logger := otelslog.NewLogger("faults", otelslog.WithLoggerProvider(provider))
			var emitted atomic.Int64
			var destroyed int64 // written, then deleted with the directory by the "operator"
			emit := func(n int) {
				for range n {
					logger.Info("record", "seq", emitted.Add(1))
				}
				_ = provider.ForceFlush(context.Background()) // fails while the fault lasts
			}

			emit(500)
			switch fault {
			case "disk-full":
				heal := ffs.diskFull()
				emit(500)
				heal()
			case "directory-removed":
				destroyed = emitted.Load() // flushed above, so on disk when removed
				require.NoError(t, os.RemoveAll(dir))
				emit(500)
			}
			emit(500)
			require.NoError(t, provider.Shutdown(context.Background()))

			seen := map[string]int{}
			for _, l := range readLines(t, dir) {
				seen[l[:min(len(l), 200)]]++
			}
			lines := readLines(t, dir)
			for l, n := range seen {
				require.Equal(t, 1, n, "written twice: %s", l)
			}
			t.Logf("%s: emitted %d, in files %d, counted lost %d", fault, emitted.Load(), len(lines), s.Lost())
			assert.Equal(t, emitted.Load()-destroyed, int64(len(lines))+s.Lost(), "in files + counted lost = emitted (less what the removal destroyed)")
			if fault == "disk-full" {
				assert.Positive(t, s.Lost(), "the full disk lost something, and said so")
			} else {
				assert.Zero(t, s.Lost(), "a removed directory is recreated: nothing after it is lost")
			}
		})
	}
}
