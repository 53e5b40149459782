package spool

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, cfg Config) (*Spool, []Batch) {
	t.Helper()
	s, bs, err := Open(cfg)
	require.NoError(t, err)
	return s, bs
}

func entries(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf(`{"%s":%d}`, prefix, i))
	}
	return out
}

func read(t *testing.T, s *Spool, b Batch) []string {
	t.Helper()
	es, _, missing, err := s.Read(b, nil)
	require.NoError(t, err)
	assert.Zero(t, missing)
	var out []string
	for _, e := range es {
		out = append(out, string(e))
	}
	return out
}

func strs(bs [][]byte) []string {
	var out []string
	for _, b := range bs {
		out = append(out, string(b))
	}
	return out
}

func TestAppendSealReadAck(t *testing.T) {
	dir := t.TempDir()
	s, rec := open(t, Config{Dir: dir})
	assert.Empty(t, rec)
	require.NoError(t, s.Append(entries("a", 3)))
	a, err := s.Seal("key-a")
	require.NoError(t, err)
	assert.Equal(t, 3, a.N)
	assert.Equal(t, strs(entries("a", 3)), read(t, s, a))
	require.NoError(t, s.Append(entries("b", 2)))
	b, err := s.Seal("key-b")
	require.NoError(t, err)
	require.NoError(t, s.Ack(a))
	require.NoError(t, s.Close())

	// A later process finds b, with its key, and not a.
	s, rec = open(t, Config{Dir: dir})
	require.Len(t, rec, 1)
	assert.Equal(t, "key-b", rec[0].Key)
	assert.Equal(t, b.Start, rec[0].Start)
	assert.Equal(t, strs(entries("b", 2)), read(t, s, rec[0]))
	require.NoError(t, s.Close())
}

func TestFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	s, _ := open(t, Config{Dir: dir})
	require.NoError(t, s.Append(entries("a", 1)))
	_, err := s.Seal("k")
	require.NoError(t, err)
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		st, err := os.Stat(f)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), f)
	}
	require.NoError(t, s.Close())
}

// One process per directory: the second opener is told which directory
// and which pid holds it.

// Entries appended and never sealed (the process died between the two)
// are sealed at Open with a new key, on disk, so the next Open agrees.
func TestUnsealedTailIsSealedAtOpen(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, Config{Dir: dir})
	require.NoError(t, s.Append(entries("a", 4)))
	s.abandon()
	s, rec := open(t, Config{Dir: dir, NewKey: func() string { return "fresh" }})
	require.Len(t, rec, 1)
	assert.Equal(t, "fresh", rec[0].Key)
	assert.Equal(t, strs(entries("a", 4)), read(t, s, rec[0]))
	s.abandon()
	s, rec = open(t, Config{Dir: dir, NewKey: func() string { return "other" }})
	require.Len(t, rec, 1)
	assert.Equal(t, "fresh", rec[0].Key, "the key given at the first Open was kept")
	require.NoError(t, s.Close())
}

func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	require.NotEmpty(t, segs)
	return segs[len(segs)-1]
}

// A torn tail (the process died inside a write) is cut off; what came
// before it is intact.
func TestTornTailIsCut(t *testing.T) {
	for cut := 1; cut < frameSize(len(`{"b":0}`)); cut++ { // within the last frame
		dir := t.TempDir()
		s, _ := open(t, Config{Dir: dir})
		require.NoError(t, s.Append(entries("a", 2)))
		_, err := s.Seal("a")
		require.NoError(t, err)
		require.NoError(t, s.Append(entries("b", 1)))
		require.NoError(t, s.Close())
		seg := lastSegment(t, dir)
		st, _ := os.Stat(seg)
		require.NoError(t, os.Truncate(seg, st.Size()-int64(cut)))

		s, rec := open(t, Config{Dir: dir})
		require.Len(t, rec, 1, "cut %d", cut)
		assert.Equal(t, "a", rec[0].Key)
		assert.Equal(t, strs(entries("a", 2)), read(t, s, rec[0]))
		require.NoError(t, s.Append(entries("c", 1)), "appending after the cut works")
		c, err := s.Seal("c")
		require.NoError(t, err)
		assert.Equal(t, []string{`{"c":0}`}, read(t, s, c))
		require.NoError(t, s.Close())
	}
}

// A bit flipped anywhere in a frame makes that frame count as lost; every
// other entry is still read, and Open neither fails nor stalls.
func TestBitFlipIsSkippedAndCounted(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, Config{Dir: dir})
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, s.Append(entries(k, 3)))
		_, err := s.Seal(k)
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	seg := lastSegment(t, dir)
	data, err := os.ReadFile(seg)
	require.NoError(t, err)
	for i := range data {
		flipped := bytes.Clone(data)
		flipped[i] ^= 0x10
		require.NoError(t, os.WriteFile(seg, flipped, 0o600))
		s, rec, err := Open(Config{Dir: dir, NewKey: func() string { return "new" }})
		require.NoError(t, err, "byte %d", i)
		got, lost := 0, 0
		for _, b := range rec {
			es, _, missing, err := s.Read(b, nil)
			require.NoError(t, err)
			got += len(es)
			lost += b.Lost + missing
			for _, e := range es {
				assert.True(t, strings.HasPrefix(string(e), `{"`), "a corrupt entry came back: %q", e)
			}
		}
		assert.LessOrEqual(t, got, 9)
		assert.GreaterOrEqual(t, got, 6, "byte %d: one flip costs at most a batch's worth", i)
		assert.GreaterOrEqual(t, got+lost, 8, "byte %d: what is not read is counted", i)
		s.abandon()
		require.NoError(t, os.WriteFile(seg, data, 0o600))
	}
}

// Segments the cursor has passed are removed; the bound counts only live
// segments.
func TestAckRemovesSegments(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, Config{Dir: dir, SegmentBytes: 50})
	var bs []Batch
	for i := range 5 {
		require.NoError(t, s.Append(entries(fmt.Sprint(i), 3)))
		b, err := s.Seal(fmt.Sprint(i))
		require.NoError(t, err)
		bs = append(bs, b)
	}
	assert.Equal(t, 6, s.Stats().Segments, "each batch filled a segment; a new one is active")
	before := s.Bytes()
	require.NoError(t, s.Ack(bs[2]))
	assert.Equal(t, 3, s.Stats().Segments)
	assert.Less(t, s.Bytes(), before)
	require.NoError(t, s.Close())
	s, rec := open(t, Config{Dir: dir, SegmentBytes: 50})
	require.Len(t, rec, 2)
	assert.Equal(t, "3", rec[0].Key)
	assert.Equal(t, "4", rec[1].Key)
	require.NoError(t, s.Close())
}

// A cursor that does not check out sends everything again: duplicates,
// never a loss.
func TestCorruptCursorRedeliversEverything(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, Config{Dir: dir})
	require.NoError(t, s.Append(entries("a", 1)))
	a, _ := s.Seal("a")
	require.NoError(t, s.Append(entries("b", 1)))
	_, _ = s.Seal("b")
	require.NoError(t, s.Ack(a))
	require.NoError(t, s.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, cursorFile), bytes.Repeat([]byte("garbage!"), 8), 0o600))
	s, rec := open(t, Config{Dir: dir})
	require.Len(t, rec, 2)
	require.NoError(t, s.Close())
}

type crashed struct{ step string }

// Every step of append, seal, the cursor update and segment removal is
// interrupted in turn; Open then finds every batch that was not
// acknowledged, whole, and never a corrupt one.
func TestCrashAtEveryStep(t *testing.T) {
	steps := []string{"append.before", "append.after", "seal.before", "seal.after",
		"cursor.before", "cursor.after", "remove.before", "remove.after"}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := open(t, Config{Dir: dir, SegmentBytes: 150})
			acked := map[string]bool{}
			written := map[string][]string{}
			crashHook = func(at string) {
				if at == step {
					panic(crashed{at})
				}
			}
			defer func() { crashHook = nil }()
			func() {
				defer func() {
					if v := recover(); v != nil {
						if _, ok := v.(crashed); !ok {
							panic(v)
						}
					}
				}()
				for i := range 6 {
					key := fmt.Sprint(i)
					es := entries(key, 3)
					require.NoError(t, s.Append(es))
					written[key] = strs(es)
					b, err := s.Seal(key)
					require.NoError(t, err)
					if i%2 == 1 {
						// Delivered: from here on, losing these is
						// allowed (Ack is called after delivery).
						for k := range written {
							if k <= key {
								acked[k] = true
							}
						}
						require.NoError(t, s.Ack(b))
					}
				}
			}()
			crashHook = nil
			s.abandon()

			s, rec := open(t, Config{Dir: dir, SegmentBytes: 150, NewKey: func() string { return "unsent" }})
			found := map[string][]string{}
			entriesFound := map[string]bool{}
			for _, b := range rec {
				found[b.Key] = read(t, s, b)
				for _, e := range found[b.Key] {
					entriesFound[e] = true
				}
				assert.Zero(t, b.Lost, "nothing is corrupt after a crash")
			}
			for key, es := range written {
				if acked[key] {
					continue
				}
				for _, e := range es {
					assert.True(t, entriesFound[e], "entry %s of batch %s was not acknowledged and must survive", e, key)
				}
				if got, ok := found[key]; ok {
					assert.Equal(t, es, got, "batch %s keeps its key and its entries", key)
				}
			}
			for key, es := range found {
				if key == "unsent" { // sealed at Open: its seal never reached the file
					assert.NotEmpty(t, es)
					continue
				}
				assert.Equal(t, written[key], es, "batch %s came back changed", key)
			}
			require.NoError(t, s.Close())
		})
	}
}

// A full disk fails Append without leaving a partial frame; once there is
// room again, appending goes on and a later Open sees no corruption.
func TestDiskFullThenSpaceFreed(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, Config{Dir: dir})
	require.NoError(t, s.Append(entries("a", 1)))
	full := true
	writeFile = func(f *os.File, b []byte) (int, error) {
		if full {
			n, _ := f.Write(b[:len(b)/2])
			return n, syscall.ENOSPC
		}
		return f.Write(b)
	}
	defer func() { writeFile = func(f *os.File, b []byte) (int, error) { return f.Write(b) } }()
	err := s.Append(entries("b", 2))
	require.ErrorIs(t, err, syscall.ENOSPC)
	full = false
	require.NoError(t, s.Append(entries("c", 1)))
	b, err := s.Seal("k")
	require.NoError(t, err)
	assert.Equal(t, []string{`{"a":0}`, `{"c":0}`}, read(t, s, b))
	require.NoError(t, s.Close())
	s, rec := open(t, Config{Dir: dir})
	require.Len(t, rec, 1)
	assert.Zero(t, rec[0].Lost)
	assert.Equal(t, 2, rec[0].N)
	require.NoError(t, s.Close())
}

func TestSyncPolicies(t *testing.T) {
	for _, p := range []SyncPolicy{SyncOnFlush, SyncInterval, SyncAlways, SyncNever} {
		dir := t.TempDir()
		s, _ := open(t, Config{Dir: dir, Sync: p})
		require.NoError(t, s.Append(entries("a", 1)))
		_, err := s.Seal("a")
		require.NoError(t, err)
		require.NoError(t, s.Sync())
		s.mu.Lock()
		dirty := s.dirty
		s.mu.Unlock()
		assert.Equal(t, p == SyncNever, dirty, "policy %d: Sync fsyncs unless SyncNever", p)
		require.NoError(t, s.Close())
	}
}

// A cursor write torn by a crash spoils one slot; the other, older one is
// used: a few batches are sent again, none is lost.
func TestTornCursorFallsBackToTheOtherSlot(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, Config{Dir: dir})
	var bs []Batch
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, s.Append(entries(k, 1)))
		b, err := s.Seal(k)
		require.NoError(t, err)
		bs = append(bs, b)
	}
	require.NoError(t, s.Ack(bs[0])) // slot 1
	require.NoError(t, s.Ack(bs[1])) // slot 0
	require.NoError(t, s.Close())
	c, err := os.ReadFile(filepath.Join(dir, cursorFile))
	require.NoError(t, err)
	c[5] ^= 0xff // the newer slot (0), as if its write was torn
	require.NoError(t, os.WriteFile(filepath.Join(dir, cursorFile), c, 0o600))
	s, rec := open(t, Config{Dir: dir})
	require.Len(t, rec, 2, "b is sent again (the older cursor), c is pending")
	assert.Equal(t, "b", rec[0].Key)
	assert.Equal(t, "c", rec[1].Key)
	require.NoError(t, s.Close())
}

// A segment closed by rotation is fsync'd by the next Sync, not at
// rotation: a segment delivered and removed first never is.
func TestRotatedSegmentsSyncLater(t *testing.T) {
	s, _ := open(t, Config{Dir: t.TempDir(), SegmentBytes: 50})
	require.NoError(t, s.Append(entries("a", 3)))
	a, err := s.Seal("a")
	require.NoError(t, err)
	require.NoError(t, s.Append(entries("b", 3)))
	_, err = s.Seal("b")
	require.NoError(t, err)
	s.mu.Lock()
	assert.Len(t, s.unsynced, 2, "two rotated segments wait for an fsync")
	s.mu.Unlock()
	require.NoError(t, s.Ack(a))
	s.mu.Lock()
	assert.Len(t, s.unsynced, 1, "the delivered one was removed without one")
	s.mu.Unlock()
	require.NoError(t, s.Sync())
	s.mu.Lock()
	assert.Empty(t, s.unsynced)
	s.mu.Unlock()
	require.NoError(t, s.Close())
}

// Close may be called twice and concurrently (with the interval fsync
// goroutine running): one does the work, the others return, no goroutine
// stays (goleak).
func TestCloseTwiceAndConcurrently(t *testing.T) {
	s, _ := open(t, Config{Dir: t.TempDir(), Sync: SyncInterval, SyncEvery: time.Millisecond})
	require.NoError(t, s.Append(entries("a", 1)))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { assert.NoError(t, s.Close()) })
	}
	wg.Wait()
	assert.NoError(t, s.Close())
	assert.Error(t, s.Append(entries("b", 1)), "closed")
}

// SyncInterval fsyncs by itself, every SyncEvery, without a Sync call.
func TestSyncIntervalFsyncsOnItsOwn(t *testing.T) {
	s, _ := open(t, Config{Dir: t.TempDir(), Sync: SyncInterval, SyncEvery: time.Millisecond})
	require.NoError(t, s.Append(entries("a", 1)))
	require.Eventually(t, func() bool { return !s.Dirty() }, 10*time.Second, time.Millisecond)
	require.NoError(t, s.Close())
}

// Bytes and Stats answer while a write is stuck in the kernel (a stalled
// disk holds the spool's lock): health checks and the spool's gauges must
// not hang with it.
func TestStatsDoNotWaitForAStalledWrite(t *testing.T) {
	s, _ := open(t, Config{Dir: t.TempDir()})
	require.NoError(t, s.Append(entries("a", 2)))
	before := s.Stats()
	inWrite, release := make(chan struct{}), make(chan struct{})
	crashHook = func(at string) {
		if at == "append.before" {
			close(inWrite)
			<-release
		}
	}
	defer func() { crashHook = nil }()
	appended := make(chan error, 1)
	go func() { appended <- s.Append(entries("b", 1)) }()
	<-inWrite

	answered := make(chan Stats, 1)
	go func() {
		_ = s.Bytes()
		answered <- s.Stats()
	}()
	select {
	case st := <-answered:
		assert.Equal(t, before, st, "the stalled write is not counted yet")
	case <-time.After(10 * time.Second): // a failure guard, not a sleep: the answer is immediate
		t.Fatal("Stats waited for a stalled write")
	}
	close(release)
	require.NoError(t, <-appended)
	assert.Greater(t, s.Stats().Bytes, before.Bytes)
}

// Files in the directory that only look like segments (a name that is not
// the 16 hex digits we write, a directory, a link) are not ours: they are left
// alone, and the spool opens and delivers as usual.
func TestForeignSegmentNamesIgnored(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, Config{Dir: dir})
	appendSealed(t, s, "key-a", entries("a", 3))
	require.NoError(t, s.Close())
	for _, name := range []string{"1.seg", "ABC.seg", "00000000000000000000001.seg"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("not a segment"), 0o600))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "0000000000000009.seg"), 0o700))
	require.NoError(t, os.Symlink(filepath.Join(dir, "1.seg"), filepath.Join(dir, "000000000000000a.seg")))
	s, bs := open(t, Config{Dir: dir})
	require.Len(t, bs, 1)
	assert.Equal(t, "key-a", bs[0].Key)
	assert.Equal(t, strs(entries("a", 3)), read(t, s, bs[0]))
	require.NoError(t, s.Close())
	for _, name := range []string{"1.seg", "ABC.seg", "00000000000000000000001.seg"} {
		_, err := os.Stat(filepath.Join(dir, name))
		assert.NoError(t, err, "%s left alone", name)
	}
}

// A cursor past the end of its segment (power lost the segment's unsynced
// tail while the cursor's newer write survived, or the file was cut) must
// not make the next process skip what it appends there: those batches
// were never delivered.
func TestCursorPastSegmentEndIsPulledBack(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, Config{Dir: dir})
	a := appendSealed(t, s, "key-a", entries("a", 3))
	b := appendSealed(t, s, "key-b", entries("b", 40))
	require.NoError(t, s.Ack(a))
	require.NoError(t, s.Ack(b))
	require.NoError(t, s.Close())
	// The disk kept a's frames, lost b's, and kept the cursor after b.
	require.NoError(t, os.Truncate(filepath.Join(dir, segName(a.Seg)), a.End))

	s, rec := open(t, Config{Dir: dir})
	assert.Empty(t, rec)
	c := appendSealed(t, s, "key-c", entries("c", 2))
	require.Less(t, c.End, b.End, "c lies below the old cursor")
	require.NoError(t, s.Close()) // a crash before c is delivered

	s, rec = open(t, Config{Dir: dir})
	require.Len(t, rec, 1, "c is still owed")
	assert.Equal(t, "key-c", rec[0].Key)
	assert.Equal(t, strs(entries("c", 2)), read(t, s, rec[0]))
	require.NoError(t, s.Close())
}

// appendSealed appends es to s and seals them as one batch under key.
func appendSealed(t *testing.T, s *Spool, key string, es [][]byte) Batch {
	t.Helper()
	require.NoError(t, s.Append(es))
	b, err := s.Seal(key)
	require.NoError(t, err)
	return b
}

// failReading makes ReadSegment fail for the segments named, as a bad
// sector would.
func failReading(t *testing.T, names ...string) {
	t.Helper()
	prev := ReadSegment
	ReadSegment = func(path string) ([]byte, error) {
		if slices.Contains(names, filepath.Base(path)) {
			return nil, &os.PathError{Op: "read", Path: path, Err: syscall.EIO}
		}
		return prev(path)
	}
	t.Cleanup(func() { ReadSegment = prev })
}

// A segment that cannot be read at Open (a bad sector) must not keep the
// exporter from starting: it is set aside under another name, reported
// as damage, and the other segments' batches are recovered; appends go on,
// and no new segment takes the name it had.
func TestUnreadableSegmentSetAside(t *testing.T) {
	for _, which := range []string{"middle", "last"} {
		t.Run(which, func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Dir: dir, SegmentBytes: 1 << 10}
			s, _ := open(t, cfg)
			var bs []Batch
			for _, k := range []string{"a", "b", "c"} {
				bs = append(bs, appendSealed(t, s, "key-"+k, entries(k, 100)))
			}
			require.NoError(t, s.Close())
			require.True(t, bs[0].Seg < bs[1].Seg && bs[1].Seg < bs[2].Seg, "one batch per segment")
			bad := bs[1]
			want := []string{"key-a", "key-c"}
			if which == "last" {
				bad, want = bs[2], []string{"key-a", "key-b"}
			}
			failReading(t, segName(bad.Seg))

			s, rec := open(t, cfg)
			var keys []string
			for _, b := range rec {
				keys = append(keys, b.Key)
				assert.NotEqual(t, bad.Seg, b.Seg)
			}
			assert.Equal(t, want, keys)
			require.Len(t, s.Damaged(), 1)
			assert.ErrorIs(t, s.Damaged()[0], syscall.EIO)
			assert.ErrorContains(t, s.Damaged()[0], segName(bad.Seg)+".unreadable")
			_, err := os.Stat(filepath.Join(dir, segName(bad.Seg)+".unreadable"))
			require.NoError(t, err, "kept for an operator")

			// Appends go on, in segments that never reuse its name.
			for range 3 {
				d := appendSealed(t, s, "key-d", entries("d", 100))
				assert.NotEqual(t, bad.Seg, d.Seg)
			}
			for _, b := range rec {
				require.NoError(t, s.Ack(b))
			}
			require.NoError(t, s.Close())

			s, rec = open(t, cfg)
			assert.Empty(t, s.Damaged(), "set aside once")
			require.Len(t, rec, 3)
			for _, b := range rec {
				assert.Equal(t, "key-d", b.Key)
				assert.Equal(t, strs(entries("d", 100)), read(t, s, b))
			}
			require.NoError(t, s.Close())
		})
	}
}

// Only a segment that can be set aside is skipped: when the rename fails
// too, Open fails as before, rather than leave a name a new segment would
// collide with.
func TestUnreadableSegmentThatCannotMoveFailsOpen(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, Config{Dir: dir})
	a := appendSealed(t, s, "key-a", entries("a", 3))
	require.NoError(t, s.Close())
	failReading(t, segName(a.Seg))
	// A non-empty directory where the segment would go.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, segName(a.Seg)+".unreadable", "x"), 0o700))
	_, _, err := Open(Config{Dir: dir})
	require.ErrorIs(t, err, syscall.EIO)
	assert.ErrorContains(t, err, "setting it aside")
}
