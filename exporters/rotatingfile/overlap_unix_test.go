//go:build unix

package rotatingfile

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fapilog/fapilog-otel/internal/testdest"
)

// newOverlapSink is a sink on dir as a second process would have it: its
// own configuration, the same directory and prefix.
func newOverlapSink(t *testing.T, dir string, opts ...Option) *Sink {
	t.Helper()
	c, err := newConfig(append([]Option{WithDirectory(dir)}, opts...))
	require.NoError(t, err)
	return newSink(c)
}

// A rolling deploy overlaps two processes on one directory: the old one
// still writing (its last lines, its shutdown flush), the new one
// starting. The new one's Start must not compress and remove, nor cut, the
// file the old one writes; its retention must not delete it. Each process
// holds a lock on its active file, which the other respects.
func TestOverlappingProcessesLeaveEachOthersFileAlone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	opts := []Option{WithCompression(CompressionGzip), WithMaxFiles(1)}
	old := newOverlapSink(t, dir, opts...)
	require.NoError(t, old.Start(context.Background()))
	write(t, old, entry(1))
	flush(t, old)
	oldFile := old.rot.activePath()

	// The new process starts while the old one writes; its retention
	// runs at each of its rotations.
	newer := newOverlapSink(t, dir, append(opts, WithMaxSize(100))...) // one entry per file
	require.NoError(t, newer.Start(context.Background()))
	for i := 100; i < 104; i++ {
		write(t, newer, entry(i))
		flush(t, newer)
	}
	// The old process's shutdown flush.
	write(t, old, entry(2))
	flush(t, old)
	assert.Equal(t, entry(1)+"\n"+entry(2)+"\n", string(readFile(t, oldFile)),
		"neither compressed, cut nor deleted while the old process writes it")
	stop(t, old)

	// Let go, it is an ordinary file: compressed at the new process's next
	// rotation, or retired by its retention (it is the oldest) before
	// that. Either way no uncompressed copy is left. Its name may be
	// taken again meanwhile, by the new process's next file.
	write(t, newer, entry(104))
	flush(t, newer)
	stop(t, newer)
	for _, name := range files(t, dir) {
		if !strings.HasSuffix(name, ".gz") {
			assert.NotContains(t, string(readFile(t, filepath.Join(dir, name))), entry(1), "%s: the old process's file, left uncompressed", name)
		}
	}
}

// The active file is locked while it is written, so another process can
// tell it is in use; a rotated file is not.
func TestActiveFileIsLocked(t *testing.T) {
	s, _, dir := testSink(t, nil, WithMaxSize(100))
	write(t, s, entry(1))
	flush(t, s)
	write(t, s, entry(2)) // rotates
	flush(t, s)
	names := files(t, dir)
	require.Len(t, names, 2)
	c := config{prefix: DefaultPrefix, ext: DefaultExtension}
	slices.SortFunc(names, func(a, b string) int { return compareNames(a, b, c) })
	assert.False(t, inUse(filepath.Join(dir, names[0])), "rotated")
	assert.True(t, inUse(filepath.Join(dir, names[1])), "active")
	stop(t, s)
	assert.False(t, inUse(filepath.Join(dir, names[1])), "closed at Stop")
}

// On NFS an exclusive flock needs the file open for writing, and the
// files another process's lock is looked for on are opened read-only: the
// probe must still see the active file held.
func TestActiveFileIsLockedOnNFS(t *testing.T) {
	real := flock
	flock = func(fd int, how int) error {
		fl, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFL, 0)
		if errno != 0 {
			return errno
		}
		if how&syscall.LOCK_EX != 0 && fl&syscall.O_ACCMODE == syscall.O_RDONLY {
			return syscall.EBADF
		}
		return real(fd, how)
	}
	t.Cleanup(func() { flock = real })
	TestActiveFileIsLocked(t)
}

// Start cuts a torn last line only in a file nobody holds, and removes
// only a temporary compressed file nobody writes: held, they are another
// process's active file and compression in progress, not a crash's
// leftovers.
func TestStartLeavesHeldFilesAlone(t *testing.T) {
	torn := entry(1) + "\n" + `{"seq":2,"pa`
	for _, c := range []struct {
		name string
		file string
		opts []Option
	}{
		{"timestamped", "fapilog-20261127-070000.jsonl", nil},
		{"fixed name", "fapilog.jsonl", []Option{WithFixedName()}},
		{"compression in progress", "fapilog-20261127-070000.jsonl.gz.tmp", []Option{WithCompression(CompressionGzip)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "logs")
			require.NoError(t, os.MkdirAll(dir, 0o750))
			path := filepath.Join(dir, c.file)
			require.NoError(t, os.WriteFile(path, []byte(torn), 0o640))
			testdest.HoldLock(t, path)
			s := newOverlapSink(t, dir, c.opts...)
			require.NoError(t, s.Start(context.Background()))
			stop(t, s)
			assert.Equal(t, torn, string(readFile(t, path)))
		})
	}
}

// Compression waits for a held file to be let go, and is not a failure
// meanwhile.
func TestCompressionWaitsForHeldFile(t *testing.T) {
	h := &handled{}
	s, _, dir := testSink(t, func(c *config) { c.handle = h.handle }, WithMaxSize(100), WithCompression(CompressionGzip))
	require.NoError(t, os.MkdirAll(dir, 0o750))
	foreign := filepath.Join(dir, "fapilog-20261127-070000.jsonl")
	require.NoError(t, os.WriteFile(foreign, []byte(entry(0)+"\n"), 0o640))
	f, err := os.Open(foreign)
	require.NoError(t, err)
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))
	require.NoError(t, s.Start(context.Background()))
	write(t, s, entry(1))
	flush(t, s)
	write(t, s, entry(2)) // a rotation: the held file is tried again
	flush(t, s)
	assert.Contains(t, files(t, dir), filepath.Base(foreign), "held: left alone")

	require.NoError(t, f.Close()) // the other process stops
	write(t, s, entry(3))         // the next rotation compresses it
	flush(t, s)
	stop(t, s)
	assert.Contains(t, files(t, dir), filepath.Base(foreign)+".gz")
	assert.NotContains(t, files(t, dir), filepath.Base(foreign))
	assert.Empty(t, h.errs, "waiting is not a failure")
	assert.Len(t, readLines(t, dir), 4)
}

// Retention neither deletes nor counts another process's active file.
func TestRetentionLeavesHeldFile(t *testing.T) {
	s, _, dir := testSink(t, nil, WithMaxSize(100), WithMaxFiles(1))
	require.NoError(t, os.MkdirAll(dir, 0o750))
	foreign := filepath.Join(dir, "fapilog-20261127-070000.jsonl")
	require.NoError(t, os.WriteFile(foreign, []byte(entry(0)+"\n"), 0o640))
	testdest.HoldLock(t, foreign)
	for i := 1; i <= 4; i++ {
		write(t, s, entry(i))
		flush(t, s)
	}
	stop(t, s)
	names := files(t, dir)
	assert.Contains(t, names, filepath.Base(foreign))
	assert.Len(t, names, 3, "the held file, one rotated file of ours, the active one")
}

// The other process is killed in the middle of a write (a pod past its
// grace period gets SIGKILL) after this one started: its file, let go, is
// cut back to its whole lines at this process's next rotation, and then
// compressed if that is configured; the cut is reported.
func TestHeldFileTornAfterStartIsCutWhenLetGo(t *testing.T) {
	for name, comp := range map[string]Compression{"plain": CompressionNone, "gzip": CompressionGzip} {
		t.Run(name, func(t *testing.T) {
			h := &handled{}
			s, _, dir := testSink(t, func(c *config) { c.handle = h.handle }, WithMaxSize(100), WithCompression(comp))
			require.NoError(t, os.MkdirAll(dir, 0o750))
			foreign := filepath.Join(dir, "fapilog-20261127-070000.jsonl")
			require.NoError(t, os.WriteFile(foreign, []byte(entry(0)+"\n"+`{"seq":1,"pa`), 0o640))
			f, err := os.Open(foreign)
			require.NoError(t, err)
			require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))
			require.NoError(t, s.Start(context.Background())) // held: not cut
			require.NoError(t, f.Close())                     // killed: the lock goes
			write(t, s, entry(2))
			flush(t, s)
			write(t, s, entry(3)) // a rotation: the let-go file is looked at
			flush(t, s)
			stop(t, s)
			got := foreign
			if comp == CompressionGzip {
				got += ".gz"
			}
			assert.Equal(t, entry(0)+"\n", string(readFile(t, got)))
			assert.True(t, h.find("incomplete line"), "the torn line is reported")
		})
	}
}

// Start cuts only the newest file's torn tail; an older one can be torn
// too when two processes sharing the directory were both killed. Its
// compressed copy takes whole lines only.
func TestOlderTornFileIsCompressedWhole(t *testing.T) {
	h := &handled{}
	s, _, dir := testSink(t, func(c *config) { c.handle = h.handle }, WithCompression(CompressionGzip))
	require.NoError(t, os.MkdirAll(dir, 0o750))
	older := filepath.Join(dir, "fapilog-20261127-070000.jsonl")
	newer := filepath.Join(dir, "fapilog-20261127-070001.jsonl")
	require.NoError(t, os.WriteFile(older, []byte(entry(0)+"\n"+`{"seq":1,"pa`), 0o640))
	require.NoError(t, os.WriteFile(newer, []byte(entry(2)+"\n"), 0o640))
	require.NoError(t, s.Start(context.Background()))
	stop(t, s)
	assert.Equal(t, entry(0)+"\n", string(readFile(t, older+".gz")))
	assert.Equal(t, entry(2)+"\n", string(readFile(t, newer+".gz")))
	assert.True(t, h.find("were left out of"), "the torn line is reported")
}

// Two processes with WithFixedName on one directory write the same file
// and rename it under each other: the second is told so, once.
func TestSharedFixedNameIsReported(t *testing.T) {
	h := &handled{}
	s, _, dir := testSink(t, func(c *config) { c.handle = h.handle }, WithFixedName(), WithMaxSize(100))
	require.NoError(t, os.MkdirAll(dir, 0o750))
	path := filepath.Join(dir, DefaultPrefix+DefaultExtension)
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	testdest.HoldLock(t, path) // the other process's active file
	write(t, s, entry(1))
	flush(t, s)
	write(t, s, entry(2), entry(3)) // rotations open the fixed name again
	flush(t, s)
	stop(t, s)
	n := 0
	for _, err := range h.errs {
		if strings.Contains(err.Error(), "written by another process too") {
			n++
		}
	}
	assert.Equal(t, 1, n, "said once: %v", h.errs)
	assert.Len(t, readLines(t, dir), 3, "and written all the same")

	h2 := &handled{}
	s2, _, _ := testSink(t, func(c *config) { c.handle = h2.handle }, WithFixedName())
	write(t, s2, entry(1))
	flush(t, s2)
	stop(t, s2)
	assert.False(t, h2.find("another process"), "a file of its own: nothing to say")
}
