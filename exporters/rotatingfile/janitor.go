package rotatingfile

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/fapilog/fapilog-otel/internal/flushacct"
)

// janitor fsyncs, compresses and enforces retention on rotated files, on
// one goroutine of its own, so a rotation never makes the writer wait for
// the disk, for gzip or for a directory scan.
type janitor struct {
	cfg config
	// active returns the active file's path ("" when none is open); it
	// takes the rotator's lock, which the janitor never holds its own
	// lock around.
	active func() string
	report func(error)
	mu     sync.Mutex
	cond   *sync.Cond
	// unsynced are files not yet fsync'd, oldest first; syncing counts
	// those being synced right now.
	unsynced []unsynced
	syncing  int
	// failures is the rotator's: a rotated file whose sync failed fails
	// the next Flush.
	failures *flushacct.Ledger
	todo     []string         // rotated files waiting for compression
	failed   map[string]error // files whose compression failed, retried on the next rotation
	// deferred are another process's files, held (its active file) when
	// last looked at: looked at again at the next rotation, and not
	// failures. Once let go, a torn last line is cut (that process may
	// have been killed in the middle of a write) and the file compressed.
	// foreign marks those of them in todo.
	deferred []string
	foreign  map[string]bool
	// rotations counts rotated calls: a file the worker deferred while a
	// rotation ran missed that rotation's look, and is queued again.
	rotations uint64
	busy      bool    // a goroutine is working through unsynced and todo
	errs      []error // retention failures Close reports, bounded by maxKeptErrors
	more      int     // failures beyond maxKeptErrors
	// order numbers the files this process rotated, in rotation order,
	// by their uncompressed path; retention takes them for newer than any
	// file it found already there, whatever their names say (see
	// rotationOrder). Entries go when their files do.
	order map[string]uint64
	seq   uint64
}

// unsynced is a file to fsync: a rotated one by its path, or one moved
// away behind our back by the handle it was written through (its new path
// is unknown), which the sync then closes.
type unsynced struct {
	path string
	f    file
}

// maxKeptErrors bounds the failures kept for Close to report; every
// failure also goes to the error handler when it happens (repeats within a
// second held back and counted).
const maxKeptErrors = 8

// newJanitor's report takes the failures of its background work, which
// repeat at every rotation while their cause lasts (a full disk fails
// every compression, and a failed one is tried again at each rotation):
// the rotator's reporter, which holds back the repeats.
func newJanitor(cfg config, active func() string, failures *flushacct.Ledger, report func(error)) *janitor {
	j := &janitor{cfg: cfg, active: active, failed: map[string]error{}, failures: failures, report: report, order: map[string]uint64{}, foreign: map[string]bool{}}
	j.cond = sync.NewCond(&j.mu)
	return j
}

// rotated queues a freshly rotated file for its fsync (when needsSync), its
// compression and retention, and any whose compression failed before, and
// starts the worker if idle. The fsync is the janitor's, not the writer's:
// done at rotation it held up every write for as long as the disk took to
// take the whole file.
func (j *janitor) rotated(path string, needsSync bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rotations++
	j.requeueFailedLocked()
	if j.cfg.retains() { // else no scan would ever prune the order
		j.seq++
		j.order[path] = j.seq
	}
	if needsSync {
		j.unsynced = append(j.unsynced, unsynced{path: path})
	}
	j.todo = append(j.todo, path)
	j.startLocked()
}

// toSync queues path for its fsync alone: a file still in use, whose lines
// a Flush must cover, but which is not to be compressed or retired.
func (j *janitor) toSync(path string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.unsynced = append(j.unsynced, unsynced{path: path})
	j.startLocked()
}

// movedAway takes the handle of an active file that was moved away or
// deleted behind our back, to fsync the lines written to it since the last
// sync (a Flush can no longer reach it by name) and close it, off the
// writer's path like a rotated file's sync.
func (j *janitor) movedAway(path string, f file) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.unsynced = append(j.unsynced, unsynced{path: path, f: f})
	j.startLocked()
}

// syncRotated fsyncs every file queued for it and not yet synced, and
// waits for the syncs the worker is running, so that a Flush covers the
// lines that rotation (or someone moving the file) took out of the active
// file. Failures go to the rotator's ledger, which the same Flush takes.
func (j *janitor) syncRotated() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.syncBacklogLocked()
	for j.syncing > 0 {
		j.cond.Wait()
	}
}

// syncBacklogLocked syncs the unsynced files one by one, oldest first,
// releasing j.mu during each fsync.
func (j *janitor) syncBacklogLocked() {
	for len(j.unsynced) > 0 {
		u := j.unsynced[0]
		j.unsynced[0] = unsynced{}
		j.unsynced = j.unsynced[1:]
		j.syncing++
		j.mu.Unlock()
		j.syncFile(u)
		j.mu.Lock()
		j.syncing--
	}
	j.unsynced = nil // let the backing array go
	j.cond.Broadcast()
}

// syncFile fsyncs a queued file. A rotated file no longer there was
// compressed (its copy is synced before the original goes) or deleted, by
// retention or by someone else: nothing is left to sync.
func (j *janitor) syncFile(u unsynced) {
	var err error
	what := "after rotating"
	if u.f != nil {
		what = "after it was moved away"
		err = u.f.Sync()
		if cerr := u.f.Close(); err == nil {
			err = cerr
		}
	} else {
		err = j.cfg.fs.SyncFile(u.path)
	}
	if err == nil || errors.Is(err, os.ErrNotExist) {
		return
	}
	err = fmt.Errorf("rotatingfile: sync %s %s: %w", u.path, what, err)
	j.report(err)
	if errors.Is(err, syscall.EINVAL) {
		// Not a regular file any more (a FIFO planted at the path):
		// nothing of ours to push, so no failure for the next Flush,
		// which would otherwise also take it for a pipe's EINVAL and
		// hide any real failure joined with it.
		return
	}
	j.failures.Lost(0, err)
}

func (j *janitor) requeueFailedLocked() {
	for p := range j.failed {
		j.todo = append(j.todo, p)
	}
	clear(j.failed)
	for _, p := range j.deferred {
		j.todo = append(j.todo, p)
		j.foreign[p] = true
	}
	j.deferred = j.deferred[:0]
}

func (j *janitor) startLocked() {
	if !j.busy {
		j.busy = true
		go j.work()
	}
}

func (j *janitor) work() {
	j.mu.Lock()
	for {
		// Syncs first: a Flush may be waiting for them, and compressing
		// a file takes longer than syncing it. A sync a Flush is running
		// is waited for too, so that no file is compressed and removed
		// while another handle has it open (Windows refuses to remove
		// an open file).
		j.syncBacklogLocked()
		for j.syncing > 0 {
			j.cond.Wait()
		}
		if len(j.unsynced) > 0 {
			continue // queued while we waited
		}
		if len(j.todo) == 0 {
			break
		}
		path := j.todo[0]
		j.todo = j.todo[1:]
		foreign := j.foreign[path]
		delete(j.foreign, path)
		rotations := j.rotations
		j.mu.Unlock()
		if foreign && path == j.active() {
			// The other process's file is gone (retention, ours or its,
			// retired it) and its name, free again, is our active file's:
			// nothing of that process is left to look at.
			j.mu.Lock()
			continue
		}
		var cerr error
		deferred := foreign && inUse(path)
		if !deferred {
			if foreign {
				j.cutTornTail(path)
			}
			cerr = j.compress(path)
			if errors.Is(cerr, errHeldElsewhere) {
				deferred, cerr = true, nil
			}
		}
		rerr := j.enforceRetention()
		// Reported as it happens, outside the lock: a long-running
		// process must not learn of a full disk only at Close.
		for _, err := range []error{cerr, rerr} {
			if err != nil {
				j.report(err)
			}
		}
		j.mu.Lock()
		switch {
		case errors.Is(cerr, errCompressedExists):
			// Not retried: only an operator can settle which of the two
			// files to keep. Stop still reports it.
			j.keepLocked(cerr)
		case cerr != nil:
			j.failed[path] = cerr
		}
		switch {
		case deferred && j.rotations != rotations:
			// A rotation meanwhile requeued the deferred files while
			// this one was out of the list: it gets that look now.
			j.todo = append(j.todo, path)
			j.foreign[path] = true
		case deferred:
			j.deferred = append(j.deferred, path)
		}
		if rerr != nil {
			j.keepLocked(rerr)
		}
	}
	j.busy = false
	j.cond.Broadcast()
	j.mu.Unlock()
}

// close waits for queued work, tries once more the compressions that
// failed, and returns what failed. No goroutine of the janitor outlives it.
func (j *janitor) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.busy {
		j.cond.Wait()
	}
	if len(j.failed) > 0 {
		j.requeueFailedLocked()
		j.startLocked()
		for j.busy {
			j.cond.Wait()
		}
	}
	errs := j.errs
	for _, e := range j.failed {
		if len(errs) < maxKeptErrors {
			errs = append(errs, e)
		} else {
			j.more++
		}
	}
	err := errors.Join(errs...)
	if j.more > 0 {
		err = errors.Join(err, fmt.Errorf("rotatingfile: and %d more compression or retention failures", j.more))
	}
	j.errs, j.more = nil, 0
	return err
}

// recover finishes what a crash interrupted in an earlier process: the
// file it was writing (the newest, or the fixed-name file), if it ends in
// an incomplete line (the process was killed in the middle of a write),
// is cut back to its last whole line; a compressed copy renamed
// into place means the original was complete and can go; a temporary
// compressed file is incomplete and goes; a rotated file left uncompressed
// is queued for compression. It runs before this process opens a file,
// and leaves alone the files another process holds (its active file, its
// compression in progress), so no file it touches is being written.
func (j *janitor) recover() {
	entries, err := j.cfg.fs.ReadDir(j.cfg.dir)
	if err != nil {
		return // a missing directory is created, and reported, on first open
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	fixed := j.cfg.prefix + j.cfg.ext
	// Normally empty: Start runs before the first write opens a file. A
	// sink started late must not cut the file it is writing.
	active := filepath.Base(j.active())
	var queue, deferred []string
	var newest string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || name == active {
			continue
		}
		path := filepath.Join(j.cfg.dir, name)
		if j.cfg.fixedName && name == fixed {
			// The file this process will append to: a torn line left
			// there would swallow the first line written after it.
			j.cutTornTail(path)
			continue
		}
		if !strings.HasPrefix(name, j.cfg.prefix+"-") {
			continue
		}
		switch {
		case inUse(path):
			// Another process's active file, or its compression in
			// progress: its, not a crash's leftover. A log file is
			// looked at again once it is let go.
			if strings.HasSuffix(name, j.cfg.ext) {
				deferred = append(deferred, path)
			}
		case strings.HasSuffix(name, ".gz.tmp") || strings.HasSuffix(name, ".zst.tmp"):
			if err := j.cfg.fs.Remove(path); err != nil {
				j.cfg.handle(fmt.Errorf("rotatingfile: remove incomplete %s: %w", path, err))
			}
		case strings.HasSuffix(name, j.cfg.ext):
			if names[name+".gz"] || names[name+".zst"] {
				if err := j.cfg.fs.Remove(path); err != nil {
					j.cfg.handle(fmt.Errorf("rotatingfile: remove %s, already compressed: %w", path, err))
				}
				continue
			}
			if newest == "" || compareNames(path, newest, j.cfg) > 0 {
				newest = path
			}
			if j.cfg.compress != CompressionNone {
				queue = append(queue, path)
			}
		}
	}
	// Only the newest file can end torn: each process writes its files
	// in turn and a file is rotated after a whole write, and every
	// process cuts its predecessor's file before making one of its own.
	// So Start reads one file, however many the directory keeps (two
	// with a fixed name: a fixed-name file whose successor could not be
	// created goes on under its rotated name, and a crash can tear it
	// there).
	if newest != "" {
		j.cutTornTail(newest)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.deferred = append(j.deferred, deferred...)
	if len(queue) == 0 {
		return
	}
	j.todo = append(j.todo, queue...)
	j.startLocked()
}

// tailBlock is how much of a file cutTornTail reads per step, backwards.
const tailBlock = 64 << 10

// cutTornTail truncates path just after its last newline when it does not
// end with one: what follows is a line whose write a crash cut short. The
// writer never reported it written, so removing it loses nothing that was
// acknowledged, and readers see only whole lines. The cut is reported,
// with its size, through the error handler.
func (j *janitor) cutTornTail(path string) {
	f, err := j.cfg.fs.OpenFile(path, os.O_RDWR|noFollow, 0)
	if errors.Is(err, os.ErrNotExist) {
		return // gone meanwhile (an operator, another process's retention)
	}
	if err != nil {
		j.cfg.handle(fmt.Errorf("rotatingfile: check %s for an incomplete last line: %w", path, err))
		return
	}
	defer f.Close()
	if lockedElsewhere(f) {
		// Another process's active file (two overlap in a rolling
		// deploy): its end may be a write in progress, not a torn one.
		return
	}
	keep, size, err := lastWholeLine(f)
	if err != nil {
		j.cfg.handle(fmt.Errorf("rotatingfile: check %s for an incomplete last line: %w", path, err))
		return
	}
	if keep == size {
		return
	}
	if err := f.Truncate(keep); err != nil {
		j.cfg.handle(fmt.Errorf("rotatingfile: cut the incomplete last line of %s: %w", path, err))
		return
	}
	if err := f.Sync(); err != nil {
		j.cfg.handle(fmt.Errorf("rotatingfile: sync %s after cutting its incomplete last line: %w", path, err))
		return
	}
	j.cfg.handle(fmt.Errorf("rotatingfile: %s ended in an incomplete line (an earlier process stopped in the middle of a write): cut its last %d bytes", path, size-keep))
}

// afterLastNewline returns the offset just after the last '\n' in the
// first size bytes of f, or 0 when there is none.
func afterLastNewline(f io.ReaderAt, size int64) (int64, error) {
	buf := make([]byte, min(size, tailBlock))
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

func (j *janitor) suffix() string {
	switch j.cfg.compress {
	case CompressionGzip:
		return ".gz"
	case CompressionZstd:
		return ".zst"
	}
	return ""
}

// keepLocked keeps err for Close to report, within maxKeptErrors.
func (j *janitor) keepLocked(err error) {
	if len(j.errs) < maxKeptErrors {
		j.errs = append(j.errs, err)
	} else {
		j.more++
	}
}

// errCompressedExists: the compressed file's name is taken.
var errCompressedExists = errors.New("its compressed name is taken: not replacing it")

// errHeldElsewhere: the file is another process's to write, for now.
var errHeldElsewhere = errors.New("held by another process")

// compress writes path's compressed copy under a temporary name, syncs it,
// renames it into place and only then removes the original. A crash before
// the rename leaves the original and an incomplete .tmp file; one between
// the rename and the removal leaves both the original and its complete
// compressed copy. Either way recover, at the next start, removes the
// leftover, so readers never count a file twice for long.
func (j *janitor) compress(path string) (err error) {
	if j.cfg.compress == CompressionNone {
		return nil
	}
	final := path + j.suffix()
	tmp := final + ".tmp"
	in, err := j.cfg.fs.OpenFile(path, os.O_RDONLY|noFollow|noBlock, 0)
	if errors.Is(err, os.ErrNotExist) {
		// Retention deleted it while it waited in the queue: rotation
		// outran compression and the file was past the limits anyway.
		return nil
	}
	if err != nil {
		return fmt.Errorf("rotatingfile: compress %s: %w", path, err)
	}
	defer in.Close()
	if lockedElsewhere(in) {
		// Another process writes it (or compresses it): later. Else
		// the lock is ours until in closes, so no other process
		// compresses it meanwhile.
		return errHeldElsewhere
	}
	// A leftover of ours is removed first; O_EXCL and O_NOFOLLOW then make
	// sure the file written is a new one, never one a symlink points to.
	if err := j.cfg.fs.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rotatingfile: compress %s: %w", path, err)
	}
	out, err := j.cfg.fs.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY|noFollow, j.cfg.fileMode)
	if err != nil {
		return fmt.Errorf("rotatingfile: compress %s: %w", path, err)
	}
	lockActive(out) // another process's Start must not take it for a crash's leftover
	defer func() {
		if err != nil {
			_ = out.Close()
			_ = j.cfg.fs.Remove(tmp)
		}
	}()
	var zw io.WriteCloser
	if j.cfg.compress == CompressionGzip {
		zw = gzip.NewWriter(out)
	} else if zw, err = zstd.NewWriter(out); err != nil {
		return fmt.Errorf("rotatingfile: compress %s: %w", path, err)
	}
	src, torn := wholeLines(in)
	if _, err = io.Copy(zw, src); err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = out.Sync()
	}
	if err == nil {
		err = out.Close()
	}
	if err == nil {
		// Rotated names are chosen so that their compressed forms are
		// free; should one exist all the same, it holds lines too, and
		// a rename would replace it.
		if _, serr := j.cfg.fs.Stat(final); serr == nil {
			err = fmt.Errorf("%s already exists: %w", final, errCompressedExists)
		}
	}
	if err == nil {
		err = j.cfg.fs.Rename(tmp, final)
	}
	if err != nil {
		return fmt.Errorf("rotatingfile: compress %s: %w", path, err)
	}
	if err := j.cfg.fs.Remove(path); err != nil {
		return fmt.Errorf("rotatingfile: remove %s after compressing: %w", path, err)
	}
	if torn > 0 {
		j.cfg.handle(fmt.Errorf("rotatingfile: %s ended in an incomplete line (another process stopped in the middle of a write): its last %d bytes were left out of %s", path, torn, final))
	}
	return nil
}

// wholeLines reads f up to the end of its last whole line, and says how
// many bytes after it are left out. Ours always end whole, and Start cuts
// the newest file; but when two processes sharing the directory were both
// killed in the middle of a write, an older file ends torn too, and a
// compressed copy must not keep the torn line.
func wholeLines(f file) (io.Reader, int64) {
	keep, size, err := lastWholeLine(f)
	if err != nil || keep == size {
		return f, 0
	}
	return io.LimitReader(f, keep), size - keep
}

// lastWholeLine returns f's size and the offset just after its last
// '\n': equal when f ends whole, the usual case, found with one byte read.
// Anything but a non-empty regular file counts as whole.
func lastWholeLine(f file) (keep, size int64, err error) {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return 0, 0, nil
	}
	size = fi.Size()
	var last [1]byte
	if _, err := f.ReadAt(last[:], size-1); err == nil && last[0] == '\n' {
		return size, size, nil
	}
	keep, err = afterLastNewline(f, size)
	return keep, size, err
}

type rotatedFile struct {
	path string
	size int64
	mod  time.Time
	seq  uint64 // its place in this process's rotations; 0 for an earlier process's
}

// enforceRetention deletes rotated files beyond the count, total size and
// age limits, oldest first. The active file is never a candidate.
func (j *janitor) enforceRetention() error {
	c := j.cfg
	if !c.retains() {
		return nil
	}
	files, activeSize, err := j.scan()
	if err != nil {
		return err
	}
	var errs []error
	remove := func(f rotatedFile) {
		if err := c.fs.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("rotatingfile: retention: %w", err))
		}
	}
	// files is oldest first.
	if c.maxAge > 0 {
		cutoff := c.now().Add(-c.maxAge)
		for len(files) > 0 && files[0].mod.Before(cutoff) {
			remove(files[0])
			files = files[1:]
		}
	}
	if c.maxFiles > 0 {
		for len(files) > c.maxFiles {
			remove(files[0])
			files = files[1:]
		}
	}
	if c.maxTotal > 0 {
		total := activeSize
		for _, f := range files {
			total += f.size
		}
		for len(files) > 0 && total > c.maxTotal {
			total -= files[0].size
			remove(files[0])
			files = files[1:]
		}
	}
	return errors.Join(errs...)
}

// scan lists our rotated files, oldest first, and the active file's size.
func (j *janitor) scan() ([]rotatedFile, int64, error) {
	c := j.cfg
	j.mu.Lock()
	upto := j.seq // rotated before the directory is read
	j.mu.Unlock()
	entries, err := c.fs.ReadDir(c.dir)
	if err != nil {
		return nil, 0, fmt.Errorf("rotatingfile: retention: %w", err)
	}
	var files []rotatedFile
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, c.prefix+"-") || strings.HasSuffix(name, ".tmp") {
			continue
		}
		base := uncompressed(name)
		if !strings.HasSuffix(base, c.ext) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, rotatedFile{path: filepath.Join(c.dir, name), size: info.Size(), mod: info.ModTime()})
	}
	var active int64
	// After the directory is read: a rotation running meanwhile finishes
	// first (active takes the rotator's lock), so the file it let go is
	// in the order below and the one it opened is not taken for rotated.
	// With a fixed name, the file being written is the fixed one, or,
	// while its successor cannot be created, the same file under its
	// rotated name (live): neither is retention's.
	live := j.active()
	activePath := live
	if c.fixedName {
		activePath = filepath.Join(c.dir, c.prefix+c.ext)
	}
	if fi, err := c.fs.Stat(activePath); activePath != "" && err == nil {
		active = fi.Size()
	}
	files = slices.DeleteFunc(files, func(f rotatedFile) bool { return f.path == activePath || f.path == live })
	j.rotationOrder(files, upto)
	// Another process's active file (two overlap in a rolling deploy) is
	// left alone and not counted, as our own is. Only a file this process
	// did not rotate can be one.
	files = slices.DeleteFunc(files, func(f rotatedFile) bool { return f.seq == 0 && inUse(f.path) })
	slices.SortFunc(files, func(a, b rotatedFile) int {
		if a.seq != b.seq {
			return cmp.Compare(a.seq, b.seq)
		}
		return compareNames(a.path, b.path, c)
	})
	return files, active, nil
}

// rotationOrder gives each file this process rotated its place in the
// order of rotation; the others keep 0, and so come first, among
// themselves in name order. Names carry the UTC opening time, so name order
// is age order (once collision suffixes, -1, -2, are compared as numbers)
// as long as the wall clock only goes forwards. Stepped back (a VM restored
// from a snapshot, NTP correcting a clock that ran ahead), it names the
// next files earlier than the last ones, and by name alone retention
// removed each new file as soon as it rotated, until the clock caught up.
// Files of an earlier process are ordered by name: what is known of them.
func (j *janitor) rotationOrder(files []rotatedFile, upto uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	seen := make(map[string]bool, len(files))
	for i := range files {
		key := uncompressed(files[i].path)
		if seq, ok := j.order[key]; ok {
			files[i].seq = seq
			seen[key] = true
		}
	}
	// Files gone (retention, an operator) leave the order. A file rotated
	// after the directory was read is not among files yet, and stays.
	for key, seq := range j.order {
		if !seen[key] && seq <= upto {
			delete(j.order, key)
		}
	}
}

// uncompressed is name without a compressed suffix.
func uncompressed(name string) string {
	return strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".zst")
}

// retains reports whether any retention limit is set.
func (c config) retains() bool { return c.maxFiles > 0 || c.maxTotal > 0 || c.maxAge > 0 }

// compareNames orders {prefix}-{stamp}[-N]{ext}[.gz|.zst] by stamp, then N.
func compareNames(a, b string, c config) int {
	sa, na := nameKey(filepath.Base(a), c)
	sb, nb := nameKey(filepath.Base(b), c)
	if d := strings.Compare(sa, sb); d != 0 {
		return d
	}
	return na - nb
}

func nameKey(name string, c config) (string, int) {
	name = uncompressed(name)
	name = strings.TrimSuffix(strings.TrimPrefix(name, c.prefix+"-"), c.ext)
	const stampLen = len("20060102-150405")
	if len(name) <= stampLen+1 {
		return name, 0
	}
	n, err := strconv.Atoi(name[stampLen+1:])
	if err != nil {
		return name, 0
	}
	return name[:stampLen], n
}
