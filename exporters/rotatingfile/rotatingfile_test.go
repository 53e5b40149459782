package rotatingfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otel/bridge/sinktest"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/internal/envelopetest"
	"github.com/fapilog/fapilog-otel/internal/errlimit"
)

func TestMain(m *testing.M) {
	if runChild() {
		return
	}
	goleak.VerifyTestMain(m)
}

// testSink builds a sink on a temp directory with the fault file system and
// a controllable clock; mutate adjusts the config after the options.
func testSink(t *testing.T, mutate func(*config), opts ...Option) (*Sink, *faultFS, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "logs")
	c, err := newConfig(append([]Option{WithDirectory(dir)}, opts...))
	require.NoError(t, err)
	ffs := &faultFS{}
	c.fs = ffs
	if mutate != nil {
		mutate(&c)
	}
	return newSink(c), ffs, dir
}

func write(t *testing.T, s *Sink, lines ...string) {
	t.Helper()
	for _, l := range lines {
		require.NoError(t, s.Write(context.Background(), []byte(l)))
	}
}

func flush(t *testing.T, s *Sink) {
	t.Helper()
	require.NoError(t, s.Flush(context.Background()))
}

func stop(t *testing.T, s *Sink) {
	t.Helper()
	require.NoError(t, s.Stop(context.Background()))
}

// files returns our files in the directory, in name order.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// readLines returns every line of every file in dir (decompressing), oldest
// file first, and checks that no file holds a partial line.
func readLines(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	c := config{prefix: DefaultPrefix, ext: DefaultExtension}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.SortFunc(names, func(a, b string) int { return compareNames(a, b, c) })
	var lines []string
	for _, n := range names {
		data := readFile(t, filepath.Join(dir, n))
		if len(data) == 0 {
			continue
		}
		require.Equal(t, byte('\n'), data[len(data)-1], "%s ends in a partial line", n)
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
	}
	return lines
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	switch {
	case strings.HasSuffix(path, ".gz"):
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		require.NoError(t, err)
		out, err := io.ReadAll(zr)
		require.NoError(t, err)
		return out
	case strings.HasSuffix(path, ".zst"):
		zr, err := zstd.NewReader(bytes.NewReader(raw))
		require.NoError(t, err)
		defer zr.Close()
		out, err := io.ReadAll(zr)
		require.NoError(t, err)
		return out
	}
	return raw
}

func entry(i int) string { return fmt.Sprintf(`{"seq":%d,"pad":"%s"}`, i, strings.Repeat("x", 40)) }

func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		s, ffs, dir := testSink(t, nil, WithMaxSize(4096), WithBuffer(delivery.Buffer{Size: 512}))
		// Runs after the suite's Shutdown and before the directory is
		// removed: a Stop on an ended context finishes in the background.
		t.Cleanup(func() {
			select {
			case <-s.Closed():
			case <-time.After(10 * time.Second):
				t.Error("the sink never closed its files")
			}
		})
		return sinktest.Harness{
			Sink: s,
			Delivered: func() [][]byte {
				var out [][]byte
				for _, l := range readLines(t, dir) {
					out = append(out, []byte(l))
				}
				return out
			},
			Stall: ffs.stallWrites,
			Fail:  ffs.diskFull,
		}
	})
}

func TestSizeRotationKeepsLinesWhole(t *testing.T) {
	s, _, dir := testSink(t, nil, WithMaxSize(1000), WithBuffer(delivery.Buffer{Size: 300}))
	for i := range 200 {
		write(t, s, entry(i))
	}
	big := `{"big":"` + strings.Repeat("b", 3000) + `"}`
	write(t, s, big, entry(200))
	stop(t, s)

	lines := readLines(t, dir)
	require.Equal(t, 202, len(lines))
	for i := range 200 {
		assert.Equal(t, entry(i), lines[i])
	}
	assert.Equal(t, big, lines[200], "a line over the limit is written whole")
	for _, n := range files(t, dir) {
		data := readFile(t, filepath.Join(dir, n))
		if !bytes.Contains(data, []byte(`"big"`)) {
			assert.LessOrEqual(t, len(data), 1000, "%s exceeds the size limit", n)
		} else {
			assert.Equal(t, big+"\n", string(data), "the oversized line has a file of its own")
		}
	}
	assert.Greater(t, len(files(t, dir)), 5)
}

func TestNaming(t *testing.T) {
	at := time.Date(2026, 11, 27, 7, 34, 50, 0, time.UTC)
	s, _, dir := testSink(t, func(c *config) { c.now = func() time.Time { return at } }, WithMaxSize(60))
	write(t, s, entry(1), entry(2), entry(3))
	stop(t, s)
	assert.Equal(t, []string{
		"fapilog-20261127-073450-1.jsonl", "fapilog-20261127-073450-2.jsonl", "fapilog-20261127-073450.jsonl",
	}, files(t, dir), "same-second files get numeric suffixes")
	assert.Equal(t, []string{entry(1), entry(2), entry(3)}, readLines(t, dir))
}

// fakeClock drives time rotation without waiting: tests move now and fire
// the timer by hand.
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	tick chan time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t, tick: make(chan time.Time)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) after(time.Duration) (<-chan time.Time, func() bool) {
	return c.tick, func() bool { return true }
}

func (c *fakeClock) install(cfg *config) { cfg.now, cfg.after = c.Now, c.after }

func TestTimeRotationWithoutWrites(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC))
	s, _, dir := testSink(t, clock.install, WithInterval(time.Hour), WithFixedName())
	write(t, s, entry(1))
	flush(t, s)
	assert.Equal(t, []string{"fapilog.jsonl"}, files(t, dir))

	clock.advance(time.Hour)
	clock.tick <- clock.Now() // the timer fires with no write pending
	clock.tick <- clock.Now() // a second tick proves the first was handled
	assert.Equal(t, []string{"fapilog-20261127-070000.jsonl"}, files(t, dir), "rotated while idle")

	write(t, s, entry(2))
	flush(t, s)
	assert.Equal(t, []string{"fapilog-20261127-070000.jsonl", "fapilog.jsonl"}, files(t, dir))
	stop(t, s)
	assert.Equal(t, []string{entry(1), entry(2)}, readLines(t, dir))
}

func TestAlignedDue(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database")
	}
	cases := []struct {
		d    time.Duration
		loc  *time.Location
		now  time.Time
		want time.Time
	}{
		{time.Hour, time.UTC, time.Date(2026, 11, 27, 7, 34, 50, 0, time.UTC), time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)},
		{24 * time.Hour, time.UTC, time.Date(2026, 11, 27, 23, 59, 59, 0, time.UTC), time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)},
		{24 * time.Hour, ny, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 28, 0, 0, 0, 0, ny)},
		{6 * time.Hour, time.UTC, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		r := &rotator{cfg: config{interval: c.d, alignIn: c.loc}}
		assert.True(t, c.want.Equal(r.nextDue(c.now)), "d=%v now=%v: got %v want %v", c.d, c.now, r.nextDue(c.now), c.want)
	}
	r := &rotator{cfg: config{interval: time.Minute}}
	now := time.Date(2026, 11, 27, 7, 34, 50, 0, time.UTC)
	assert.Equal(t, now.Add(time.Minute), r.nextDue(now), "unaligned intervals count from the opening")
}

func TestFixedNameAndSymlink(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC))
	s, _, dir := testSink(t, clock.install, WithFixedName(), WithSymlink("current.jsonl"), WithMaxSize(60))
	write(t, s, entry(1))
	flush(t, s)
	target, err := os.Readlink(filepath.Join(dir, "current.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, "fapilog.jsonl", target)

	clock.advance(time.Second)
	write(t, s, entry(2)) // does not fit: fapilog.jsonl rotates away
	flush(t, s)
	assert.Contains(t, files(t, dir), "fapilog-20261127-070000.jsonl")
	target, err = os.Readlink(filepath.Join(dir, "current.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, "fapilog.jsonl", target)
	b, err := os.ReadFile(filepath.Join(dir, "current.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, entry(2)+"\n", string(b))
	stop(t, s)
}

func TestRetention(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC))
	step := func(c *config) { clock.install(c) }
	t.Run("MaxFiles", func(t *testing.T) {
		s, _, dir := testSink(t, step, WithMaxSize(60), WithMaxFiles(2))
		for i := range 6 {
			clock.advance(time.Second)
			write(t, s, entry(i))
		}
		stop(t, s)
		names := files(t, dir)
		require.Len(t, names, 3, "two rotated files and the active one")
		assert.Equal(t, []string{entry(3), entry(4), entry(5)}, readLines(t, dir), "the oldest go first")
	})
	t.Run("MaxTotalBytes", func(t *testing.T) {
		s, _, dir := testSink(t, step, WithMaxSize(60), WithMaxTotalBytes(150))
		for i := range 6 {
			clock.advance(time.Second)
			write(t, s, entry(i))
		}
		stop(t, s)
		total := 0
		for _, n := range files(t, dir) {
			total += len(readFile(t, filepath.Join(dir, n)))
		}
		assert.LessOrEqual(t, total, 150)
		assert.Equal(t, entry(5), readLines(t, dir)[len(readLines(t, dir))-1], "the active file is kept")
	})
	t.Run("MaxAge", func(t *testing.T) {
		s, _, dir := testSink(t, step, WithMaxSize(60), WithMaxAge(time.Hour))
		write(t, s, entry(0), entry(1))
		flush(t, s)
		var old string
		for _, n := range files(t, dir) {
			if string(readFile(t, filepath.Join(dir, n))) == entry(0)+"\n" {
				old = filepath.Join(dir, n)
			}
		}
		require.NotEmpty(t, old)
		ancient := clock.Now().Add(-2 * time.Hour)
		require.NoError(t, os.Chtimes(old, ancient, ancient))
		clock.advance(time.Second)
		write(t, s, entry(2)) // rotation runs retention
		stop(t, s)
		assert.NotContains(t, readLines(t, dir), entry(0))
		assert.Contains(t, readLines(t, dir), entry(2))
	})
}

func TestCompression(t *testing.T) {
	for _, comp := range []struct {
		c   Compression
		ext string
	}{{CompressionGzip, ".gz"}, {CompressionZstd, ".zst"}} {
		t.Run(comp.ext, func(t *testing.T) {
			clock := newFakeClock(time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC))
			exp, dir := exporterOn(t, clock.install, WithMaxSize(2000), WithCompression(comp.c))
			provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
			logger := otelslog.NewLogger("svc", otelslog.WithLoggerProvider(provider))
			for i := range 50 {
				clock.advance(time.Millisecond * 100)
				logger.Info("compressed", "seq", i)
			}
			require.NoError(t, provider.Shutdown(context.Background()))
			names := files(t, dir)
			compressed := 0
			for _, n := range names {
				assert.False(t, strings.HasSuffix(n, ".tmp"), "temporary file %s left behind", n)
				if strings.HasSuffix(n, comp.ext) {
					compressed++
				}
			}
			assert.Equal(t, len(names)-1, compressed, "every rotated file is compressed once Stop returns: %v", names)
			lines := readLines(t, dir)
			require.Equal(t, 50, len(lines))
			for i, l := range lines {
				envelopetest.RequireValid(t, []byte(l))
				var e struct {
					Log struct{ Data struct{ Seq int } }
				}
				require.NoError(t, json.Unmarshal([]byte(l), &e))
				assert.Equal(t, i, e.Log.Data.Seq)
			}
		})
	}
}

func exporterOn(t *testing.T, mutate func(*config), opts ...Option) (sdklog.Exporter, string) {
	t.Helper()
	s, _, dir := testSink(t, mutate, opts...)
	exp, err := newExporterFor(s)
	require.NoError(t, err)
	return exp, dir
}

func TestSyncPolicy(t *testing.T) {
	for _, c := range []struct {
		name  string
		p     SyncPolicy
		syncs int32
	}{{"OnFlush", SyncOnFlush, 2}, {"Never", SyncNever, 0}} {
		t.Run(c.name, func(t *testing.T) {
			s, ffs, _ := testSink(t, nil, WithSync(c.p))
			write(t, s, entry(1))
			flush(t, s)
			flush(t, s) // nothing new: no second fsync
			write(t, s, entry(2))
			flush(t, s)
			assert.Equal(t, c.syncs, ffs.syncs.Load())
			stop(t, s)
		})
	}
}

func TestMovedAwayFileIsReplaced(t *testing.T) {
	s, _, dir := testSink(t, nil, WithFixedName())
	write(t, s, entry(1))
	flush(t, s)
	// logrotate without copytruncate: move the file, then (maybe) SIGHUP.
	require.NoError(t, os.Rename(filepath.Join(dir, "fapilog.jsonl"), filepath.Join(dir, "fapilog.jsonl.1")))
	write(t, s, entry(2))
	flush(t, s)
	b, err := os.ReadFile(filepath.Join(dir, "fapilog.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, entry(2)+"\n", string(b), "a new file took the moved one's place")
	old, err := os.ReadFile(filepath.Join(dir, "fapilog.jsonl.1"))
	require.NoError(t, err)
	assert.Equal(t, entry(1)+"\n", string(old))

	require.NoError(t, s.Reopen(context.Background()))
	write(t, s, entry(3))
	flush(t, s)
	b, err = os.ReadFile(filepath.Join(dir, "fapilog.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, entry(2)+"\n"+entry(3)+"\n", string(b), "Reopen appends to the file at the path")

	require.NoError(t, os.RemoveAll(dir)) // the directory vanishes
	write(t, s, entry(4))
	flush(t, s)
	b, err = os.ReadFile(filepath.Join(dir, "fapilog.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, entry(4)+"\n", string(b), "directory and file are created again")
	stop(t, s)
}

func TestDiskFullThenRecovers(t *testing.T) {
	handled := make(chan error, 16)
	prev := otel.GetErrorHandler()
	// Never block: the global handler may outlive this test (restoring the
	// previous one is not guaranteed to take), and later tests' errors
	// must not wait on this channel.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		select {
		case handled <- err:
		default:
		}
	}))
	defer otel.SetErrorHandler(prev)

	s, ffs, dir := testSink(t, nil)
	write(t, s, entry(1))
	flush(t, s)
	heal := ffs.diskFull()
	write(t, s, entry(2), entry(3))
	err := s.Flush(context.Background())
	require.ErrorIs(t, err, syscall.ENOSPC)
	assert.ErrorContains(t, err, "2 entries lost")
	assert.ErrorIs(t, s.HealthCheck(context.Background()), syscall.ENOSPC)
	assert.EqualValues(t, 2, s.Lost())
	assert.Equal(t, []string{entry(1)}, readLines(t, dir), "the half-written chunk was truncated away")
	assert.ErrorIs(t, <-handled, syscall.ENOSPC, "the failure reached otel.Handle without waiting for a flush")

	heal()
	write(t, s, entry(4))
	flush(t, s)
	assert.NoError(t, s.HealthCheck(context.Background()))
	assert.Equal(t, []string{entry(1), entry(4)}, readLines(t, dir))
	stop(t, s)
}

func TestPermissionDeniedThenRecovers(t *testing.T) {
	s, ffs, dir := testSink(t, nil)
	ffs.set(func(f *faultFS) { f.openErr = syscall.EACCES })
	write(t, s, entry(1))
	err := s.Flush(context.Background())
	require.ErrorIs(t, err, syscall.EACCES)
	assert.ErrorContains(t, err, "rotatingfile: open")
	ffs.set(func(f *faultFS) { f.openErr = nil })
	write(t, s, entry(2))
	flush(t, s)
	assert.Equal(t, []string{entry(2)}, readLines(t, dir))
	stop(t, s)
}

// A rotation whose next file cannot be opened (the directory made
// read-only, descriptors or inodes exhausted) keeps the active file: its
// lines go there, over the size limit, instead of being lost until the
// fault clears. The failure is reported and fails the next Flush; the next
// write tries again.
func TestRotationKeepsFileWhenNextCannotOpen(t *testing.T) {
	h := &handled{}
	s, ffs, dir := testSink(t, func(c *config) { c.handle = h.handle }, WithMaxSize(100)) // one entry per file
	write(t, s, entry(1))
	flush(t, s)
	require.Len(t, files(t, dir), 1)

	ffs.set(func(f *faultFS) { f.openErr = syscall.EACCES })
	write(t, s, entry(2))
	write(t, s, entry(3))
	err := s.Flush(context.Background())
	require.ErrorIs(t, err, syscall.EACCES)
	assert.ErrorContains(t, err, "keeps taking lines")
	assert.Zero(t, s.Lost(), "nothing lost")
	assert.True(t, h.find("rotate"), "reported as it happened")
	assert.Len(t, files(t, dir), 1, "still the one file")
	assert.Equal(t, []string{entry(1), entry(2), entry(3)}, readLines(t, dir))

	ffs.set(func(f *faultFS) { f.openErr = nil })
	write(t, s, entry(4))
	flush(t, s)
	assert.Len(t, files(t, dir), 2, "rotation resumed")
	stop(t, s)
	assert.Equal(t, []string{entry(1), entry(2), entry(3), entry(4)}, readLines(t, dir))
}

// The same for a time rotation: the active file keeps taking lines, the
// rotation waits a second before it is tried again (so the timer does not
// spin on a failing open), and an idle sink's timer leaves no empty file.
func TestTimeRotationKeepsFileWhenNextCannotOpen(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC))
	s, ffs, dir := testSink(t, clock.install, WithInterval(time.Hour))
	write(t, s, entry(1))
	flush(t, s)

	clock.advance(time.Hour)
	ffs.set(func(f *faultFS) { f.openErr = syscall.EACCES })
	write(t, s, entry(2))
	require.ErrorIs(t, s.Flush(context.Background()), syscall.EACCES)
	opens := ffs.opens.Load()
	write(t, s, entry(3))
	flush(t, s)
	assert.Equal(t, opens, ffs.opens.Load(), "no new attempt within the second")
	assert.Equal(t, []string{"fapilog-20261127-070000.jsonl"}, files(t, dir))

	ffs.set(func(f *faultFS) { f.openErr = nil })
	clock.advance(time.Second)
	write(t, s, entry(4))
	flush(t, s)
	assert.Equal(t, []string{"fapilog-20261127-070000.jsonl", "fapilog-20261127-080001.jsonl"}, files(t, dir))

	clock.advance(time.Hour)
	clock.tick <- clock.Now() // the timer rotates the idle file...
	clock.tick <- clock.Now() // ...and the second tick proves it was handled
	assert.Len(t, files(t, dir), 2, "no empty file opened for the next hour")
	stop(t, s)
	assert.Equal(t, []string{entry(1), entry(2), entry(3), entry(4)}, readLines(t, dir))
}

func TestPermissions(t *testing.T) {
	s, _, dir := testSink(t, nil)
	write(t, s, entry(1))
	stop(t, s)
	di, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o750), di.Mode().Perm())
	fi, err := os.Stat(filepath.Join(dir, files(t, dir)[0]))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())

	s, _, dir = testSink(t, nil, WithFileMode(0o600), WithDirMode(0o700))
	write(t, s, entry(1))
	stop(t, s)
	di, err = os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	fi, err = os.Stat(filepath.Join(dir, files(t, dir)[0]))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestSyncEvery(t *testing.T) {
	s, ffs, _ := testSink(t, nil, WithSync(SyncEvery(10*time.Millisecond)))
	write(t, s, entry(1))
	flush(t, s)
	assert.Zero(t, ffs.syncs.Load(), "Flush leaves fsync to the background interval")
	require.Eventually(t, func() bool { return ffs.syncs.Load() >= 1 }, 5*time.Second, time.Millisecond,
		"the background syncer fsyncs dirty data")
	stop(t, s)
}

func TestOptionsValidated(t *testing.T) {
	cases := map[string][]Option{
		"WithDirectory":        {},
		"WithMaxSize":          {WithDirectory("d"), WithMaxSize(-1)},
		"WithInterval":         {WithDirectory("d"), WithInterval(500 * time.Millisecond)},
		"WithAlignedInterval":  {WithDirectory("d"), WithAlignedInterval(7*time.Hour, time.UTC)},
		"WithMaxFiles":         {WithDirectory("d"), WithMaxFiles(-2)},
		"WithCompression":      {WithDirectory("d"), WithCompression(9)},
		"WithSync":             {WithDirectory("d"), WithSync(SyncEvery(time.Microsecond))},
		"WithBuffer: MaxBytes": {WithDirectory("d"), WithBuffer(delivery.Buffer{MaxBytes: -1})},
	}
	for name, opts := range cases {
		_, err := NewSink(opts...)
		assert.ErrorContains(t, err, name)
	}
}

// Several goroutines log through a real provider while size rotation and
// compression run; every record is read back exactly once.
func TestNoLossAcrossRotations(t *testing.T) {
	exp, dir := exporterOn(t, nil, WithMaxSize(8<<10), WithCompression(CompressionGzip), WithBuffer(delivery.Buffer{Size: 2048}))
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp,
		sdklog.WithMaxQueueSize(1<<16), sdklog.WithExportMaxBatchSize(64))))
	const goroutines, each = 4, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			logger := otelslog.NewLogger("svc", otelslog.WithLoggerProvider(provider))
			for i := range each {
				logger.Info("record", "g", g, "i", i)
				if i%100 == 0 {
					assert.NoError(t, provider.ForceFlush(context.Background()))
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, provider.Shutdown(context.Background()))

	seen := map[string]int{}
	for _, l := range readLines(t, dir) {
		var e struct {
			Log struct{ Data struct{ G, I int } }
		}
		require.NoError(t, json.Unmarshal([]byte(l), &e))
		seen[fmt.Sprint(e.Log.Data.G, "/", e.Log.Data.I)]++
	}
	require.Equal(t, goroutines*each, len(seen))
	for k, n := range seen {
		require.Equal(t, 1, n, "record %s written %d times", k, n)
	}
	assert.Greater(t, len(files(t, dir)), 3, "rotation happened")
}

// A rotated file is fsync'd (by the janitor, or by the next Flush) unless
// the policy is SyncNever: one Flush after a rotation syncs two files.
func TestRotationSyncsTheRotatedFile(t *testing.T) {
	for _, c := range []struct {
		p     SyncPolicy
		syncs int32
	}{{SyncOnFlush, 2}, {SyncNever, 0}} {
		s, ffs, dir := testSink(t, nil, WithSync(c.p), WithMaxSize(60))
		write(t, s, entry(1), entry(2)) // the second does not fit: the first file rotates
		flush(t, s)
		require.Len(t, files(t, dir), 2)
		assert.Equal(t, c.syncs, ffs.syncs.Load())
		stop(t, s)
	}
}

// Rotation leaves the rotated file's fsync to the janitor, so a slow disk
// does not hold up writing; a Flush still covers the lines rotation moved
// out of the active file, by waiting for those syncs.
func TestRotatedFilesSyncedOffTheWritePath(t *testing.T) {
	s, ffs, dir := testSink(t, nil, WithMaxSize(60))
	// No fsync can finish, and the rotated files' cannot even start.
	gate := make(chan struct{})
	ffs.set(func(f *faultFS) { f.beforeRotatedSync = func(string) { <-gate } })
	resume := ffs.stallSyncs()
	ctx := context.Background()
	// Each entry fills a file: three rotations.
	batch := [][]byte{[]byte(entry(1)), []byte(entry(2)), []byte(entry(3)), []byte(entry(4))}
	failed, err := s.WriteBatch(ctx, batch)
	require.NoError(t, err)
	require.Zero(t, failed)
	// WriteBatch waits (up to a second) for its lines to be written: they
	// are, although no fsync can finish.
	assert.Len(t, readLines(t, dir), 4)
	names := files(t, dir)
	require.Len(t, names, 4)

	// The active file can be synced again; the rotated ones still cannot,
	// and a Flush waits for them.
	resume()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.Flush(short), context.DeadlineExceeded, "a Flush waits for the rotated files' syncs")
	close(gate)
	flush(t, s)
	var synced []string
	for _, p := range ffs.synced() {
		synced = append(synced, filepath.Base(p))
	}
	// The three rotated files, each once; the active one is synced by
	// its own handle.
	active := filepath.Base(s.rot.activePath())
	rotated := slices.DeleteFunc(names, func(n string) bool { return n == active })
	require.Len(t, rotated, 3)
	assert.ElementsMatch(t, rotated, synced)
	stop(t, s)
}

// A rotated file whose fsync fails fails the next Flush, once.
func TestRotatedFileSyncFailureFailsFlush(t *testing.T) {
	s, ffs, _ := testSink(t, func(c *config) { c.handle = func(error) {} }, WithMaxSize(60))
	ffs.set(func(f *faultFS) { f.rotatedSyncErr = syscall.EIO })
	write(t, s, entry(1), entry(2)) // the second rotates the first file
	err := s.Flush(context.Background())
	require.ErrorIs(t, err, syscall.EIO)
	assert.Contains(t, err.Error(), "after rotating")
	ffs.set(func(f *faultFS) { f.rotatedSyncErr = nil })
	flush(t, s)
	stop(t, s)
}

// A rotated file removed before the janitor got to sync it (by retention,
// compression or an operator) leaves nothing to sync and is no failure.
func TestRotatedFileGoneBeforeSync(t *testing.T) {
	// A second per file opened: the name of a removed file is never
	// taken again by the next one, which would then be synced in its place.
	var tick atomic.Int64
	start := time.Now()
	s, ffs, dir := testSink(t, func(c *config) {
		c.now = func() time.Time { return start.Add(time.Duration(tick.Add(1)) * time.Second) }
	}, WithMaxSize(60))
	ffs.set(func(f *faultFS) { f.beforeRotatedSync = func(name string) { _ = os.Remove(name) } })
	write(t, s, entry(1), entry(2), entry(3))
	flush(t, s)
	assert.Empty(t, ffs.synced())
	assert.Len(t, files(t, dir), 1, "the rotated files were removed; the active one stays")
	stop(t, s)
}

// Lines written to a file that is then moved away (logrotate without
// copytruncate) are fsync'd through the handle they were written with,
// since a Flush can no longer reach the file by name; the janitor does it,
// so the writer does not wait, and the next Flush waits for it.
func TestMovedAwayFileSynced(t *testing.T) {
	s, ffs, dir := testSink(t, nil, WithFixedName())
	ctx := context.Background()
	fixed := filepath.Join(dir, "fapilog.jsonl")
	write(t, s, entry(1))
	flush(t, s)
	// Written through (WriteBatch waits for the write), not yet synced.
	_, err := s.WriteBatch(ctx, [][]byte{[]byte(entry(2))})
	require.NoError(t, err)
	require.NoError(t, os.Rename(fixed, fixed+".1"))
	before := ffs.syncs.Load()
	resume := ffs.stallSyncs()
	_, err = s.WriteBatch(ctx, [][]byte{[]byte(entry(3))}) // finds the file moved
	require.NoError(t, err)
	b, err := os.ReadFile(fixed)
	require.NoError(t, err)
	assert.Equal(t, entry(3)+"\n", string(b), "written although no fsync can finish")

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.Flush(short), context.DeadlineExceeded)
	resume()
	flush(t, s)
	assert.Equal(t, before+2, ffs.syncs.Load(), "the moved file through its old handle, and the new file")
	old, err := os.ReadFile(fixed + ".1")
	require.NoError(t, err)
	assert.Equal(t, entry(1)+"\n"+entry(2)+"\n", string(old))
	stop(t, s)
}

// Under SyncEvery the periodic fsync also syncs rotated files the janitor
// has not reached: here the janitor is stuck on the first rotated file,
// and the second is synced all the same.
func TestSyncEveryReachesRotatedFiles(t *testing.T) {
	s, ffs, _ := testSink(t, nil, WithMaxSize(60), WithSync(SyncEvery(10*time.Millisecond)))
	gate := make(chan struct{})
	var stuck atomic.Bool
	ffs.set(func(f *faultFS) {
		f.beforeRotatedSync = func(string) {
			if stuck.CompareAndSwap(false, true) {
				<-gate // the first rotated file's sync, whoever runs it
			}
		}
	})
	ctx := context.Background()
	// Each entry fills a file: WriteBatch returns once it is written.
	for i := range 3 {
		_, err := s.WriteBatch(ctx, [][]byte{[]byte(entry(i))})
		require.NoError(t, err)
	}
	require.Eventually(t, stuck.Load, 5*time.Second, time.Millisecond, "a sync of the first rotated file began")
	require.Eventually(t, func() bool { return len(ffs.synced()) == 1 }, 5*time.Second, time.Millisecond,
		"the second rotated file is synced while the first one's sync is stuck")
	close(gate)
	stop(t, s)
	assert.Len(t, ffs.synced(), 2)
}

// A rotation that cannot open its next file is tried again at every
// write; the error handler hears of the first failure, not of every retry,
// and of the count held back when the sink stops. Every Flush still fails
// while the fault lasts.
func TestRepeatedRotationFailuresCoalesced(t *testing.T) {
	s, ffs, dir, h := holdingSink(t)
	write(t, s, entry(0))
	flush(t, s)
	ffs.set(func(f *faultFS) { f.openErr = syscall.EACCES })
	for i := 1; i <= 20; i++ {
		write(t, s, entry(i))
		require.ErrorIs(t, s.Flush(context.Background()), syscall.EACCES, "write %d", i)
	}
	h.mu.Lock()
	require.Len(t, h.errs, 1, "20 failed rotations, one report")
	assert.ErrorIs(t, h.errs[0], syscall.EACCES)
	h.mu.Unlock()

	stop(t, s)
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.errs, 2, "the held failures are reported at Stop")
	assert.ErrorIs(t, h.errs[1], errlimit.ErrHeld)
	assert.Contains(t, h.errs[1].Error(), "19 failures")
	assert.Len(t, readLines(t, dir), 21, "no line lost")
}

// A file moved away behind our back (logrotate without copytruncate) when
// no file can be opened in its place: the moved file keeps taking lines
// rather than losing them, the failure fails the Flush, and the next write
// after the fault clears opens the new file and syncs the moved one
// through its handle. A file deleted instead cannot keep anything: its
// lines are lost, and counted.
func TestMovedAwayKeepsTakingLinesWhenNextCannotOpen(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []Option
	}{{"timestamped", nil}, {"fixed name", []Option{WithFixedName()}}} {
		t.Run(mode.name, func(t *testing.T) {
			s, ffs, dir := testSink(t, nil, mode.opts...)
			write(t, s, entry(1))
			flush(t, s)
			active := files(t, dir)
			require.Len(t, active, 1)
			moved := filepath.Join(t.TempDir(), "moved.jsonl")
			require.NoError(t, os.Rename(filepath.Join(dir, active[0]), moved))

			ffs.set(func(f *faultFS) { f.openErr = syscall.EACCES })
			write(t, s, entry(2))
			err := s.Flush(context.Background())
			require.ErrorIs(t, err, syscall.EACCES)
			assert.ErrorContains(t, err, "moved file keeps taking lines")
			_, err = s.WriteBatch(context.Background(), [][]byte{[]byte(entry(3))}) // written through, not synced
			require.NoError(t, err)
			assert.Zero(t, s.Lost(), "nothing lost")
			b, err := os.ReadFile(moved)
			require.NoError(t, err)
			assert.Equal(t, entry(1)+"\n"+entry(2)+"\n"+entry(3)+"\n", string(b))

			ffs.set(func(f *faultFS) { f.openErr = nil })
			before := ffs.syncs.Load()
			write(t, s, entry(4))
			require.ErrorIs(t, s.Flush(context.Background()), syscall.EACCES, "entry 3's write failed to replace the file")
			assert.Equal(t, before+2, ffs.syncs.Load(), "the moved file through its handle, and the new file")
			flush(t, s)
			assert.Equal(t, []string{entry(4)}, readLines(t, dir), "the new file at the path")

			// Deleted, not moved: nothing can keep the lines.
			require.NoError(t, os.Remove(filepath.Join(dir, files(t, dir)[0])))
			ffs.set(func(f *faultFS) { f.openErr = syscall.EACCES })
			write(t, s, entry(5))
			require.ErrorIs(t, s.Flush(context.Background()), syscall.EACCES)
			assert.EqualValues(t, 1, s.Lost(), "the line is counted lost")
			ffs.set(func(f *faultFS) { f.openErr = nil })
			stop(t, s)
		})
	}
}

// A time rotation due while the moved-away file keeps taking lines does
// not rename or retire whatever is at its old path: it tries to open the
// next file, and keeps the moved one while it cannot.
func TestTimeRotationOfMovedAwayFile(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC))
	s, ffs, dir := testSink(t, clock.install, WithInterval(time.Hour))
	write(t, s, entry(1))
	flush(t, s)
	moved := filepath.Join(t.TempDir(), "moved.jsonl")
	require.NoError(t, os.Rename(filepath.Join(dir, "fapilog-20261127-070000.jsonl"), moved))

	ffs.set(func(f *faultFS) { f.openErr = syscall.EACCES })
	write(t, s, entry(2))
	require.ErrorIs(t, s.Flush(context.Background()), syscall.EACCES)
	clock.advance(time.Hour)
	opens := ffs.opens.Load()
	write(t, s, entry(3))
	require.ErrorIs(t, s.Flush(context.Background()), syscall.EACCES)
	assert.Equal(t, opens+1, ffs.opens.Load(), "one attempt to open the next file per write, not one for the rotation and one for the move")
	b, err := os.ReadFile(moved)
	require.NoError(t, err)
	assert.Equal(t, entry(1)+"\n"+entry(2)+"\n"+entry(3)+"\n", string(b), "the rotation kept the moved file")
	assert.Empty(t, files(t, dir))

	ffs.set(func(f *faultFS) { f.openErr = nil })
	write(t, s, entry(4))
	flush(t, s)
	assert.Equal(t, []string{"fapilog-20261127-080000.jsonl"}, files(t, dir))
	stop(t, s)
	assert.Equal(t, []string{entry(4)}, readLines(t, dir))
}

// With a fixed name, logrotate's "create" puts a new file at the path
// after moving ours. A rotation due while our moved file keeps taking lines
// must not rename that new file as if it were ours: it opens it and goes on
// there.
func TestFixedNameRotationLeavesReplacementAlone(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC))
	s, ffs, dir := testSink(t, clock.install, WithInterval(time.Hour), WithFixedName())
	fixed := filepath.Join(dir, "fapilog.jsonl")
	write(t, s, entry(1))
	flush(t, s)
	moved := filepath.Join(t.TempDir(), "moved.jsonl")
	require.NoError(t, os.Rename(fixed, moved))
	require.NoError(t, os.WriteFile(fixed, nil, 0o644)) // logrotate's create

	ffs.set(func(f *faultFS) { f.openErr = syscall.EACCES })
	write(t, s, entry(2))
	require.ErrorIs(t, s.Flush(context.Background()), syscall.EACCES)
	ffs.set(func(f *faultFS) { f.openErr = nil })
	clock.advance(time.Hour)
	write(t, s, entry(3))
	flush(t, s)
	stop(t, s)

	assert.Equal(t, []string{"fapilog.jsonl"}, files(t, dir), "no rotated file made of logrotate's")
	b, err := os.ReadFile(moved)
	require.NoError(t, err)
	assert.Equal(t, entry(1)+"\n"+entry(2)+"\n", string(b))
	b, err = os.ReadFile(fixed)
	require.NoError(t, err)
	assert.Equal(t, entry(3)+"\n", string(b))
}

// The janitor's failures repeat at every rotation while their cause lasts
// (here every rotated file's fsync fails): they go through the same
// reporter, one report and then a count, while every Flush still fails.
func TestRepeatedJanitorFailuresCoalesced(t *testing.T) {
	s, ffs, dir, h := holdingSink(t)
	ffs.set(func(f *faultFS) { f.rotatedSyncErr = syscall.EIO })
	for i := range 20 {
		write(t, s, entry(i))
	}
	err := s.Flush(context.Background())
	require.ErrorIs(t, err, syscall.EIO)
	assert.ErrorContains(t, err, "(and 16 more causes)", "19 rotated files failed their fsync; the flush has them all")
	h.mu.Lock()
	require.Len(t, h.errs, 1, "19 failed syncs of rotated files, one report")
	h.mu.Unlock()
	stop(t, s)
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.errs, 2)
	assert.ErrorIs(t, h.errs[1], errlimit.ErrHeld)
	assert.ErrorIs(t, h.errs[1], syscall.EIO)
	assert.Len(t, readLines(t, dir), 20)
}

// A wall clock stepped backwards (a VM restored from a snapshot, NTP
// correcting a wrong clock) names the next files earlier than the ones
// before the step. Retention must still remove the oldest data first: by
// name alone, each file rotated after the step was the "oldest" and was
// removed at once, until the clock caught up.
func TestRetentionAfterClockStepsBack(t *testing.T) {
	for name, comp := range map[string]Compression{"plain": CompressionNone, "gzip": CompressionGzip} {
		t.Run(name, func(t *testing.T) {
			clock := newFakeClock(time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC))
			s, _, dir := testSink(t, clock.install, WithMaxSize(100), WithMaxFiles(3), WithCompression(comp)) // one entry per file
			for i := range 5 {
				write(t, s, entry(i))
				flush(t, s)
				clock.advance(time.Second)
			}
			clock.advance(-24 * time.Hour)
			for i := 5; i < 9; i++ {
				write(t, s, entry(i))
				flush(t, s)
				clock.advance(time.Second)
			}
			stop(t, s)
			var seqs []int
			for _, l := range readLines(t, dir) {
				var e struct{ Seq int }
				require.NoError(t, json.Unmarshal([]byte(l), &e))
				seqs = append(seqs, e.Seq)
			}
			slices.Sort(seqs)
			assert.Equal(t, []int{5, 6, 7, 8}, seqs, "the three newest rotated files and the active one")
		})
	}
}

// The rotation order retention keeps is pruned as files go, and not kept
// at all without a retention limit: it never grows with the process's age.
func TestRotationOrderStaysBounded(t *testing.T) {
	for name, opts := range map[string][]Option{
		"max files": {WithMaxSize(100), WithMaxFiles(2)},
		"no limit":  {WithMaxSize(100)},
	} {
		t.Run(name, func(t *testing.T) {
			s, _, _ := testSink(t, nil, opts...) // one entry per file
			for i := range 50 {
				write(t, s, entry(i))
				flush(t, s)
			}
			stop(t, s)
			s.rot.janitor.mu.Lock()
			defer s.rot.janitor.mu.Unlock()
			assert.LessOrEqual(t, len(s.rot.janitor.order), 3)
		})
	}
}

// holdingSink is a test sink with one entry per file whose error reports
// go to h, with repeats held back for an hour: whatever is held is
// reported at Stop.
func holdingSink(t *testing.T) (*Sink, *faultFS, string, *handled) {
	t.Helper()
	prev := reportEvery
	reportEvery = time.Hour
	t.Cleanup(func() { reportEvery = prev })
	h := &handled{}
	s, ffs, dir := testSink(t, func(c *config) { c.handle = h.handle }, WithMaxSize(100))
	return s, ffs, dir, h
}

// logrotate's copytruncate empties the file under us: lines go on at its
// new end (O_APPEND), and a failed write after it is undone back to where
// the file really ended, not to the size the sink last knew, which would
// fill the file with NUL bytes up to that size.
func TestCopytruncateThenFailedWrite(t *testing.T) {
	s, ffs, dir := testSink(t, nil, WithFixedName())
	path := filepath.Join(dir, "fapilog.jsonl")
	for i := range 3 {
		write(t, s, entry(i))
	}
	flush(t, s)
	require.NoError(t, os.Truncate(path, 0)) // copytruncate

	heal := ffs.diskFull() // the next write lands half, then fails
	write(t, s, entry(3))
	require.ErrorIs(t, s.Flush(context.Background()), syscall.ENOSPC)
	heal()
	write(t, s, entry(4))
	flush(t, s)
	stop(t, s)
	assert.Equal(t, entry(4)+"\n", string(readFile(t, path)), "no NUL bytes, no torn line")
}
