package rotatingfile

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/internal/flushacct"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/bridges/otelslog"
)

// handled collects what the sink sends to the error handler.
type handled struct {
	mu   sync.Mutex
	errs []error
}

func (h *handled) handle(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errs = append(h.errs, err)
}

func (h *handled) find(substr string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.errs {
		if strings.Contains(e.Error(), substr) {
			return true
		}
	}
	return false
}

// Stop on an ended context (what the SDK passes when its last export ran
// out of time) writes every accepted line in the background, then closes the
// files; it never writes into a closed file and leaks nothing.
func TestStopEndedContextFinishesInBackground(t *testing.T) {
	s, ffs, dir := testSink(t, nil)
	resume := ffs.stallWrites()
	for i := range 100 {
		write(t, s, entry(i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Stop(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "background")
	assert.Equal(t, err, s.Stop(context.Background()), "a later Stop returns the first one's result")
	assert.Error(t, s.Write(context.Background(), []byte(`{"late":1}`)))
	resume()
	select {
	case <-s.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("files never closed after the disk resumed")
	}
	assert.Len(t, readLines(t, dir), 100, "every line accepted before Stop is in the file")
}

func TestConcurrentStop(t *testing.T) {
	s, _, dir := testSink(t, nil)
	write(t, s, entry(1))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, s.Stop(context.Background()))
		}()
	}
	wg.Wait()
	assert.Len(t, readLines(t, dir), 1)
}

// A symlink planted where the sink opens its file is never written through.
func TestSymlinkAtActivePathRefused(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "victim")
	require.NoError(t, os.WriteFile(victim, []byte("precious\n"), 0o600))
	s, _, dir := testSink(t, nil, WithFixedName())
	require.NoError(t, os.MkdirAll(dir, 0o750))
	require.NoError(t, os.Symlink(victim, filepath.Join(dir, "fapilog.jsonl")))
	err := s.Write(context.Background(), []byte(entry(1)))
	if err == nil {
		err = s.Flush(context.Background())
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), "symbolic link")
	b, _ := os.ReadFile(victim)
	assert.Equal(t, "precious\n", string(b), "the link's target was written")
	_ = s.Stop(context.Background())
}

// The compressor's temporary file is not followed either.
func TestSymlinkAtCompressionTempRefused(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "victim")
	require.NoError(t, os.WriteFile(victim, []byte("precious\n"), 0o600))
	h := &handled{}
	s, _, dir := testSink(t, func(c *config) { c.handle = h.handle }, WithFixedName(), WithCompression(CompressionGzip), WithMaxSize(100))
	write(t, s, entry(1))
	flush(t, s)
	// The next rotation's name is predictable; plant links at its
	// compressed and temporary forms before it happens.
	entries, _ := os.ReadDir(dir)
	require.NotEmpty(t, entries)
	clockName := stamp("fapilog", time.Now()) + ".jsonl"
	for _, n := range []string{clockName + ".gz.tmp", clockName + ".gz"} {
		_ = os.Symlink(victim, filepath.Join(dir, n))
	}
	write(t, s, entry(2), entry(3))
	stop(t, s)
	b, _ := os.ReadFile(victim)
	assert.Equal(t, "precious\n", string(b), "compression wrote through a planted link")
}

func TestNamesCannotEscapeTheDirectory(t *testing.T) {
	for _, c := range []struct {
		opt    Option
		option string
	}{
		{WithPrefix("../etc/x"), "WithPrefix"},
		{WithPrefix("a/b"), "WithPrefix"},
		{WithPrefix("a\x00b"), "WithPrefix"},
		{WithExtension("/../../x"), "WithExtension"},
		{WithSymlink("/tmp/current"), "WithSymlink"},
		{WithSymlink(".."), "WithSymlink"},
		{WithSymlink("."), "WithSymlink"},
	} {
		_, err := New(WithDirectory(t.TempDir()), c.opt)
		require.Error(t, err, c.option)
		assert.Contains(t, err.Error(), c.option)
	}
}

func TestWorldWritableDirectoryWarnsOnce(t *testing.T) {
	h := &handled{}
	s, _, dir := testSink(t, func(c *config) { c.handle = h.handle })
	require.NoError(t, os.MkdirAll(dir, 0o750))
	require.NoError(t, os.Chmod(dir, 0o777))
	write(t, s, entry(1))
	flush(t, s)
	stop(t, s)
	assert.True(t, h.find("writable by others"), "no warning for a world-writable directory: %v", h.errs)

	h2 := &handled{}
	s2, _, dir2 := testSink(t, func(c *config) { c.handle = h2.handle })
	require.NoError(t, os.MkdirAll(dir2, 0o750))
	require.NoError(t, os.Chmod(dir2, 0o777|os.ModeSticky))
	write(t, s2, entry(1))
	flush(t, s2)
	stop(t, s2)
	assert.False(t, h2.find("writable by others"), "sticky directories (like /tmp) are fine")
}

// A compression that fails during a disk-full period is reported when it
// happens, not only at Stop, and retried on the next rotation.
func TestCompressionFailureReportedAndRetried(t *testing.T) {
	h := &handled{}
	s, ffs, dir := testSink(t, func(c *config) { c.handle = h.handle }, WithCompression(CompressionGzip), WithMaxSize(100))
	write(t, s, entry(1))
	flush(t, s)
	heal := ffs.diskFull()
	// Rotation opens a fresh file (no write yet fails); the compressor's
	// writes fail.
	s.rot.mu.Lock()
	s.rot.rotateLocked(false)
	s.rot.unlock()
	require.Eventually(t, func() bool { return h.find("compress") }, 5*time.Second, time.Millisecond,
		"compression failure not reported while running")
	heal()
	write(t, s, entry(2), entry(3)) // rotates again: the failed file is retried
	stop(t, s)
	gz := 0
	for _, f := range files(t, dir) {
		if strings.HasSuffix(f, ".gz") {
			gz++
		}
		assert.False(t, strings.HasSuffix(f, ".tmp"), "temporary file left: %s", f)
	}
	assert.GreaterOrEqual(t, gz, 2, "the failed compression was retried: %v", files(t, dir))
}

// A crash between renaming the compressed copy into place and removing the
// original leaves both; the next start removes the original, so a reader
// never counts those lines twice. An incomplete temporary file goes, and a
// rotated file left uncompressed is compressed.
func TestStartRecoversInterruptedCompression(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	require.NoError(t, os.MkdirAll(dir, 0o750))
	both := filepath.Join(dir, "fapilog-20260101-000000.jsonl")
	require.NoError(t, os.WriteFile(both, []byte(entry(1)+"\n"), 0o640))
	writeGzip(t, both+".gz", entry(1)+"\n")
	torn := filepath.Join(dir, "fapilog-20260101-000001.jsonl")
	require.NoError(t, os.WriteFile(torn, []byte(entry(2)+"\n"), 0o640))
	require.NoError(t, os.WriteFile(torn+".gz.tmp", []byte("partial"), 0o640))
	plain := filepath.Join(dir, "fapilog-20260101-000002.jsonl")
	require.NoError(t, os.WriteFile(plain, []byte(entry(3)+"\n"), 0o640))

	exp, err := New(WithDirectory(dir), WithCompression(CompressionGzip))
	require.NoError(t, err)
	sink := exp.Sink().(*Sink)
	require.NoError(t, sink.Start(context.Background()))
	require.NoError(t, exp.Shutdown(context.Background()))
	<-sink.Closed()
	got := files(t, dir)
	assert.Equal(t, []string{
		"fapilog-20260101-000000.jsonl.gz",
		"fapilog-20260101-000001.jsonl.gz",
		"fapilog-20260101-000002.jsonl.gz",
	}, got)
	assert.Len(t, readLines(t, dir), 3, "each line once")
}

// Compression never replaces an existing compressed file: it holds lines
// too. The uncompressed file stays, and the failure is reported.
func TestCompressNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	c, err := newConfig([]Option{WithDirectory(dir), WithCompression(CompressionGzip)})
	require.NoError(t, err)
	var ledger flushacct.Ledger
	j := newJanitor(c, func() string { return "" }, &ledger, c.handle)
	path := filepath.Join(dir, "fapilog-20261127-070000.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(entry(2)+"\n"), 0o600))
	writeGzip(t, path+".gz", entry(1)+"\n")
	require.ErrorContains(t, j.compress(path), "already exists")
	assert.Equal(t, entry(1)+"\n", string(readFile(t, path+".gz")), "the existing one untouched")
	assert.Equal(t, entry(2)+"\n", string(readFile(t, path)), "the file kept")
	assert.Equal(t, []string{"fapilog-20261127-070000.jsonl", "fapilog-20261127-070000.jsonl.gz"}, files(t, dir), "no temporary file left")
}

func writeGzip(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	zw := gzip.NewWriter(f)
	_, err = zw.Write([]byte(content))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
}

// A failed rename at rotation is reported to the handler and fails the next
// Flush, instead of vanishing.
func TestRotationErrorsReachFlush(t *testing.T) {
	h := &handled{}
	s, _, dir := testSink(t, func(c *config) {
		c.handle = h.handle
		c.fs = &renameFailFS{faultFS: &faultFS{}}
	}, WithFixedName(), WithMaxSize(100))
	write(t, s, entry(1), entry(2), entry(3))
	err := s.Flush(context.Background())
	require.Error(t, err)
	assert.True(t, errors.Is(err, syscall.EACCES), "%v", err)
	assert.True(t, h.find("rotate"))
	require.NoError(t, s.Flush(context.Background()), "reported once")
	stop(t, s)
	assert.Len(t, readLines(t, dir), 3, "no line lost")
}

// The fixed-name file that could not be renamed is still the active file:
// it must never be handed to the compressor, which would remove it (or
// overwrite the .gz of an earlier attempt) while lines are still appended.
func TestFailedFixedNameRotationIsNotCompressed(t *testing.T) {
	withRenameNeedsClose(t, func(t *testing.T) {
		h := &handled{}
		s, _, dir := testSink(t, func(c *config) {
			c.handle = h.handle
			c.fs = &renameFailFS{faultFS: &faultFS{}}
		}, WithFixedName(), WithMaxSize(100), WithCompression(CompressionGzip))
		for i := range 6 {
			write(t, s, entry(i))
			_ = s.Flush(context.Background()) // fails: the rename did
		}
		stop(t, s)
		assert.Equal(t, []string{entry(0), entry(1), entry(2), entry(3), entry(4), entry(5)}, readLines(t, dir))
		assert.Equal(t, []string{"fapilog.jsonl"}, files(t, dir), "nothing compressed, nothing renamed")
		assert.False(t, h.find("compress"), "the compressor was never given the active file")
	})
}

// withRenameNeedsClose runs f with the fixed-name file closed before its
// rename (as on Windows) and left open (elsewhere).
func withRenameNeedsClose(t *testing.T, f func(t *testing.T)) {
	for _, closeFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("close-before-rename=%v", closeFirst), func(t *testing.T) {
			saved := renameNeedsClose
			renameNeedsClose = closeFirst
			defer func() { renameNeedsClose = saved }()
			f(t)
		})
	}
}

// An idle fixed-name file whose time rotation could not rename it has lines
// not yet fsync'd: the next Flush must still sync them, although no write
// came to take the file up again (closed for its rename, the janitor syncs
// it by name).
func TestFailedFixedNameRotationStillSynced(t *testing.T) {
	withRenameNeedsClose(t, func(t *testing.T) {
		clock := newFakeClock(time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC))
		ffs := &faultFS{}
		s, _, dir := testSink(t, func(c *config) {
			clock.install(c)
			c.fs = &renameFailFS{faultFS: ffs}
		}, WithFixedName(), WithInterval(time.Hour))
		// Written through to the file (not yet fsync'd), as Export does.
		failed, err := s.WriteBatch(context.Background(), [][]byte{[]byte(entry(1))})
		require.NoError(t, err)
		require.Zero(t, failed)
		clock.advance(time.Hour)
		clock.tick <- clock.Now() // the rename fails while idle
		clock.tick <- clock.Now()
		s.rot.mu.Lock()
		due := s.rot.due
		s.rot.mu.Unlock()
		if !renameNeedsClose {
			// Still the active file: the timer must not spin on the
			// failing rename.
			assert.Equal(t, clock.Now().Add(rotateRetry), due, "tried again a second later")
		}
		before := ffs.syncs.Load()
		require.ErrorIs(t, s.Flush(context.Background()), syscall.EACCES)
		if renameNeedsClose {
			// By the janitor, by name: before the Flush or during it,
			// which waits for it.
			assert.Equal(t, []string{filepath.Join(dir, "fapilog.jsonl")}, ffs.synced())
		} else {
			assert.Equal(t, before+1, ffs.syncs.Load(), "still open: synced by the Flush")
		}
		stop(t, s)
		assert.Equal(t, []string{entry(1)}, readLines(t, dir))
	})
}

// A fixed-name file renamed at rotation whose successor cannot be created
// (inodes exhausted) goes on taking lines under its rotated name instead of
// losing them; the next write tries again.
func TestFixedNameKeepsRenamedFileWhenNextCannotOpen(t *testing.T) {
	withRenameNeedsClose(t, func(t *testing.T) {
		clock := newFakeClock(time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC))
		cfs := &createFailFS{faultFS: &faultFS{}}
		s, _, dir := testSink(t, func(c *config) {
			clock.install(c)
			c.fs = cfs
		}, WithFixedName(), WithMaxSize(100)) // one entry per file
		write(t, s, entry(1))
		flush(t, s)
		cfs.fail.Store(true)
		write(t, s, entry(2))
		write(t, s, entry(3))
		err := s.Flush(context.Background())
		require.ErrorIs(t, err, syscall.ENOSPC)
		assert.ErrorContains(t, err, "keeps taking lines")
		assert.Zero(t, s.Lost())
		assert.Equal(t, []string{"fapilog-20261127-070000.jsonl"}, files(t, dir), "renamed, and still written")

		cfs.fail.Store(false)
		write(t, s, entry(4))
		flush(t, s)
		assert.Equal(t, []string{"fapilog-20261127-070000.jsonl", "fapilog.jsonl"}, files(t, dir))
		stop(t, s)
		assert.Equal(t, []string{entry(1), entry(2), entry(3), entry(4)}, readLines(t, dir))
	})
}

// A Reopen (SIGHUP) while a fixed-name file goes on under its rotated name
// lets it go as a rotated file: it is compressed like one.
func TestReopenHandsRenamedFileToJanitor(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC))
	cfs := &createFailFS{faultFS: &faultFS{}}
	s, _, dir := testSink(t, func(c *config) {
		clock.install(c)
		c.fs = cfs
	}, WithFixedName(), WithMaxSize(100), WithCompression(CompressionGzip))
	write(t, s, entry(1))
	flush(t, s)
	cfs.fail.Store(true)
	write(t, s, entry(2))
	require.Error(t, s.Flush(context.Background())) // the rotation's failure
	cfs.fail.Store(false)
	require.NoError(t, s.Reopen(context.Background()))
	write(t, s, entry(3))
	stop(t, s)
	assert.Equal(t, []string{"fapilog-20261127-070000.jsonl.gz", "fapilog.jsonl"}, files(t, dir), "compressed as a rotated file")
	assert.Equal(t, []string{entry(1), entry(2), entry(3)}, readLines(t, dir))
}

// createFailFS refuses to create files (no inodes left) while fail is set;
// files that exist open as usual.
type createFailFS struct {
	*faultFS
	fail atomic.Bool
}

func (f *createFailFS) OpenFile(name string, flag int, perm os.FileMode) (file, error) {
	if flag&os.O_CREATE != 0 && f.fail.Load() {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.ENOSPC}
	}
	return f.faultFS.OpenFile(name, flag, perm)
}

type renameFailFS struct{ *faultFS }

func (f *renameFailFS) Rename(oldpath, newpath string) error {
	if strings.HasSuffix(oldpath, "fapilog.jsonl") {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: syscall.EACCES}
	}
	return f.faultFS.Rename(oldpath, newpath)
}

var _ = fmt.Sprint

// The file's default buffer takes a part of a large Export (the bridge's
// parts are about 256 KiB) in one write(2); delivery's 64 KiB default would
// take four. A Size given with WithBuffer still applies.
func TestDefaultBufferWritesLargeParts(t *testing.T) {
	entries := make([][]byte, 200) // 200 KiB in all
	for i := range entries {
		entries[i] = bytes.Repeat([]byte{'a' + byte(i%26)}, 1023)
	}
	writes := func(opts ...Option) []int {
		s, ffs, _ := testSink(t, nil, opts...)
		failed, err := s.WriteBatch(context.Background(), entries)
		require.NoError(t, err)
		require.Zero(t, failed)
		require.NoError(t, s.Stop(context.Background()))
		ffs.mu.Lock()
		defer ffs.mu.Unlock()
		return slices.Clone(ffs.writes)
	}
	assert.Equal(t, []int{200 << 10}, writes(), "one write for the whole part")
	assert.Len(t, writes(WithBuffer(delivery.Buffer{Size: 64 << 10})), 4, "64 KiB buffers: four writes")
}

// WithBuffer's MaxBytes bounds what waits for a stalled disk.
func TestWithBufferBoundsMemory(t *testing.T) {
	accepted := func(maxBytes int) int {
		s, ffs, _ := testSink(t, nil, WithBuffer(delivery.Buffer{Size: 16, MaxBytes: maxBytes}))
		resume := ffs.stallWrites()
		n := 0
		for ; n < 10000; n++ {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			err := s.Write(ctx, []byte("0123456789abcde"))
			cancel()
			if err != nil {
				break
			}
		}
		resume()
		_ = s.Stop(context.Background())
		<-s.Closed()
		return n
	}
	assert.Equal(t, 4, accepted(64))
	assert.Equal(t, 2, accepted(1), "never less than two buffers")
	assert.Equal(t, 10000, accepted(0), "the default (4 MiB) takes them all")
}

// A directory that cannot be used fails New, naming the path and the
// system's reason, instead of the first write.
func TestBadDirectoryFailsAtNew(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "a-file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	cases := map[string]struct {
		dir  string
		want string
	}{
		"a regular file":        {file, "not a directory"},
		"below a regular file":  {filepath.Join(file, "logs"), "cannot create it"},
		"in a read-only procfs": {"/proc/fapilog-test-logs", "cannot create it"},
	}
	if os.Geteuid() != 0 { // root writes anywhere; the check is for everyone else
		ro := filepath.Join(base, "ro")
		require.NoError(t, os.Mkdir(ro, 0o500))
		cases["read-only"] = struct{ dir, want string }{ro, "not writable"}
	}
	for name, c := range cases {
		_, err := New(WithDirectory(c.dir))
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), c.dir, name)
		assert.Contains(t, err.Error(), c.want, name)
		_, err = NewSink(WithDirectory(c.dir))
		assert.Error(t, err, name)
	}
}

// HealthCheck notices a directory removed while the sink runs, before any
// write fails.
func TestHealthCheckReportsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	s, err := NewSink(WithDirectory(dir))
	require.NoError(t, err)
	require.NoError(t, s.HealthCheck(context.Background()))
	require.NoError(t, os.RemoveAll(dir))
	err = s.HealthCheck(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), dir)
	require.NoError(t, s.Stop(context.Background()))
}

func TestZeroModesKeepDefaults(t *testing.T) {
	c, err := newConfig([]Option{WithDirectory(t.TempDir()), WithFileMode(0), WithDirMode(0)})
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(DefaultFileMode), c.fileMode)
	assert.Equal(t, os.FileMode(DefaultDirMode), c.dirMode)
}

// After Export returns nil its entries are in the file (in the kernel: a
// kill -9 cannot take them), without a flush: the SimpleProcessor path.
func TestExportWritesThrough(t *testing.T) {
	exp, dir := exporterOn(t, nil, WithFixedName())
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	logger := otelslog.NewLogger("svc", otelslog.WithLoggerProvider(provider))
	for i := range 5 {
		logger.Info("through", "seq", i)
		b, err := os.ReadFile(filepath.Join(dir, DefaultPrefix+DefaultExtension))
		require.NoError(t, err)
		assert.Equal(t, i+1, strings.Count(string(b), "\n"), "line %d is in the file when Emit returns", i)
	}
	require.NoError(t, provider.Shutdown(context.Background()))
}

// A stalled disk is not waited for beyond WriteThroughWait: Export
// returns nil (the entries stay accepted) and they are written once the
// disk answers.
func TestExportDoesNotHangOnAStalledDisk(t *testing.T) {
	s, ffs, dir := testSink(t, nil, WithFixedName())
	exp, err := newExporterFor(s)
	require.NoError(t, err)
	resume := ffs.stallWrites()
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	logger := otelslog.NewLogger("svc", otelslog.WithLoggerProvider(provider))
	done := make(chan struct{})
	go func() {
		logger.Info("stalled")
		logger.Info("stalled again") // the writer is known blocked: no wait
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Emit hung on a stalled disk")
	}
	resume()
	require.NoError(t, provider.Shutdown(context.Background()))
	assert.Len(t, readLines(t, dir), 2)
}

// A compression refused because the compressed name is taken is reported
// once and not tried again at every rotation: only an operator can settle
// which of the two files to keep. Stop still names it.
func TestCompressionRefusalNotRetried(t *testing.T) {
	prev := reportEvery
	reportEvery = time.Hour
	defer func() { reportEvery = prev }()
	clock := newFakeClock(time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC))
	h := &handled{}
	s, _, dir := testSink(t, func(c *config) { clock.install(c); c.handle = h.handle },
		WithMaxSize(100), WithCompression(CompressionGzip)) // one entry per file
	write(t, s, entry(0))
	flush(t, s)
	first := filepath.Join(dir, "fapilog-20261127-070000.jsonl")
	writeGzip(t, first+".gz", entry(100)+"\n") // put there by someone else
	for i := 1; i <= 5; i++ {
		write(t, s, entry(i))
		flush(t, s)
	}
	err := s.Stop(context.Background())
	require.Error(t, err)
	assert.ErrorContains(t, err, "already exists")
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.errs, 1, "reported once, not again at each of the four later rotations: %v", h.errs)
	assert.ErrorContains(t, h.errs[0], "already exists")
	assert.Equal(t, entry(100)+"\n", string(readFile(t, first+".gz")), "the other file untouched")
	assert.Equal(t, entry(0)+"\n", string(readFile(t, first)), "ours kept")
}

// With a fixed name, a file that goes on under its rotated name (its
// successor could not be created) is still the one being written:
// retention neither deletes nor counts it, even where no lock marks it.
func TestRetentionSkipsRenamedActiveFile(t *testing.T) {
	dir := t.TempDir()
	c, err := newConfig([]Option{WithDirectory(dir), WithFixedName(), WithMaxFiles(1)})
	require.NoError(t, err)
	older := filepath.Join(dir, "fapilog-20261127-060000.jsonl")
	live := filepath.Join(dir, "fapilog-20261127-070000.jsonl")
	for _, p := range []string{older, live} {
		require.NoError(t, os.WriteFile(p, []byte(entry(1)+"\n"), 0o640))
	}
	var ledger flushacct.Ledger
	j := newJanitor(c, func() string { return live }, &ledger, c.handle)
	files, _, err := j.scan()
	require.NoError(t, err)
	require.Len(t, files, 1)
	assert.Equal(t, older, files[0].path)
	require.NoError(t, j.enforceRetention())
	_, err = os.Stat(live)
	assert.NoError(t, err, "the file being written is kept")
}
