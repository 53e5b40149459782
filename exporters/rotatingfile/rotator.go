package rotatingfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/fapilog/fapilog-otel/internal/errlimit"
	"github.com/fapilog/fapilog-otel/internal/flushacct"
)

// errClosed is returned by writes after Close.
var errClosed = errors.New("rotatingfile: closed")

// rotator is the io.Writer behind the sink's asyncwrite.Writer. It receives
// buffers of whole lines, from one goroutine, and decides which file each line
// goes to. Its mutex is shared with the background timer, syncer and
// Reopen, never with the application's logging calls.
type rotator struct {
	cfg config

	mu     sync.Mutex
	f      file
	path   string      // active file's path
	mine   os.FileInfo // the active file's identity, from fstat at open
	size   int64       // bytes in the active file
	opened time.Time   // when the active file was opened (names rotated files)
	due    time.Time   // next time rotation; zero when none
	dirty  bool        // written since the last fsync
	closed bool
	// reports are failures found under mu (a rotation whose sync, close
	// or rename failed), passed to reporter once mu is released. A failed
	// rotation is tried again at every write, so reporter holds back the
	// repeats (at most one report a second, counted).
	reports  []error
	reporter *errlimit.Reporter
	warning  error // the directory and shared-file warnings: once each, so never held back
	// sharedWarned: the warning that another process writes the same
	// file was given.
	sharedWarned bool
	// failures make the next Flush fail: a rotated file whose sync
	// failed may not be on disk although its lines were written.
	failures  flushacct.Ledger
	dirWarned bool
	// stuck is set when a rotation failed (the fixed-name file could not
	// be renamed, or the next file could not be opened): the rest of that
	// Write goes to the same file, over the size limit, instead of
	// rotating again and again; the next Write tries again.
	stuck bool
	// unsyncable is set while the active file is not a regular file.
	unsyncable bool
	// renamed is set while a fixed-name file goes on under its rotated
	// name, because the next file could not be opened: the next rotation
	// only has to open it.
	renamed bool
	// away is set while the active file, moved away behind our back,
	// goes on taking lines because no file could be opened at its path:
	// rotation must not rename or let go of what is at that path now.
	away bool

	janitor *janitor
	quit    chan struct{}
	wake    chan struct{} // tells timeLoop that due changed
	wg      sync.WaitGroup
}

func newRotator(cfg config) *rotator {
	r := &rotator{cfg: cfg, quit: make(chan struct{}), wake: make(chan struct{}, 1)}
	r.reporter = errlimit.New(cfg.handle, reportEvery)
	r.janitor = newJanitor(cfg, r.activePath, &r.failures, r.reporter.Report)
	if cfg.interval > 0 {
		r.wg.Add(1)
		go r.timeLoop()
	}
	if cfg.sync.every > 0 {
		r.wg.Add(1)
		go r.syncLoop()
	}
	return r
}

// Write writes p, which holds whole lines, rotating between lines when the
// size limit or the interval is reached. On an error nothing of the failed
// part stays in the file: a partial write is truncated away, so no line is
// ever cut short or split across files.
func (r *rotator) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.unlock()
	if r.closed {
		return 0, errClosed
	}
	r.stuck = false
	written := 0
	for len(p) > 0 {
		if err := r.ensureOpen(); err != nil {
			return written, err
		}
		n := r.fit(p)
		if n == 0 {
			r.rotateLocked(true)
			continue
		}
		m, err := r.f.Write(p[:n])
		if err != nil || m != n {
			if err == nil {
				err = fmt.Errorf("short write of %d of %d bytes", m, n)
			}
			// Undo a partial write so the file ends at a line boundary.
			if m > 0 {
				if terr := r.undo(m); terr != nil {
					err = errors.Join(err, fmt.Errorf("truncate after failed write: %w", terr))
				}
			}
			return written, fmt.Errorf("rotatingfile: write %s: %w", r.path, err)
		}
		r.size += int64(n)
		r.dirty = true
		written += n
		p = p[n:]
	}
	return written, nil
}

// undo cuts the m bytes a failed write appended. The file's end is asked
// of the file, not taken from size: logrotate's copytruncate may have
// emptied it meanwhile, and cutting to size would then extend it with NUL
// bytes. Writes append (O_APPEND), so the failed write's bytes are the
// last m.
func (r *rotator) undo(m int) error {
	end := r.size + int64(m)
	if fi, err := r.f.Stat(); err == nil {
		end = fi.Size()
	}
	keep := max(end-int64(m), 0)
	if err := r.f.Truncate(keep); err != nil {
		return err
	}
	r.size = keep
	return nil
}

// fit returns how many leading bytes of p, ending at a newline, fit in the
// active file. A file with nothing in it takes the first line whole, however
// long.
func (r *rotator) fit(p []byte) int {
	if r.stuck || r.cfg.maxSize == 0 || r.size+int64(len(p)) <= r.cfg.maxSize {
		return len(p)
	}
	room := r.cfg.maxSize - r.size
	if room > 0 {
		if i := bytes.LastIndexByte(p[:min(int64(len(p)), room)], '\n'); i >= 0 {
			return i + 1
		}
	}
	if r.size == 0 {
		return bytes.IndexByte(p, '\n') + 1
	}
	return 0
}

// ensureOpen opens a file when none is open, the interval has passed, or
// the active file was moved or deleted behind our back (logrotate, an
// operator, a removed directory).
func (r *rotator) ensureOpen() error {
	if r.f != nil && !r.due.IsZero() && !r.cfg.now().Before(r.due) {
		r.rotateLocked(true)
	}
	// Not again in a Write whose rotation (or replacement) already failed
	// to open a file: the next Write tries again.
	if r.f != nil && !r.stuck && r.movedAway() {
		return r.replaceMoved()
	}
	if r.f != nil {
		return nil
	}
	return r.open()
}

// replaceMoved opens a file at the path to replace the active one, which
// is no longer there. When none can be opened (the directory made
// read-only, inodes exhausted) and the active file still has a name
// (moved, not deleted), it keeps taking lines, as after a failed
// rotation: they are in the moved file rather than lost. The next write
// tries again.
func (r *rotator) replaceMoved() error {
	now := r.cfg.now()
	next, path, err := r.create(now)
	if err != nil {
		if linked(r.f) {
			r.away = true
			r.stuck = true
			r.fail(fmt.Errorf("rotatingfile: %s was moved away and no file can be opened in its place (the moved file keeps taking lines): %w", r.path, err))
			return nil
		}
		r.letGoMoved()
		return err
	}
	r.letGoMoved()
	r.install(next, path, now)
	return nil
}

// letGoMoved lets go of the active file, moved or deleted behind our back.
// Its unsynced lines cannot be reached by path any more, so its handle
// goes to the janitor, which fsyncs through it and closes it.
func (r *rotator) letGoMoved() {
	if r.cfg.sync != SyncNever && r.dirty && !r.unsyncable {
		r.janitor.movedAway(r.path, r.f)
		r.f, r.size, r.dirty, r.away = nil, 0, false, false
		return
	}
	r.closeActive()
}

// unlock releases mu, then reports what was found while holding it; when
// nothing was, the failures held back are released once it is time.
func (r *rotator) unlock() {
	reports, warning := r.reports, r.warning
	r.reports, r.warning = nil, nil
	r.mu.Unlock()
	if warning != nil {
		r.cfg.handle(warning)
	}
	if len(reports) == 0 {
		r.reporter.Release()
	}
	for _, err := range reports {
		r.reporter.Report(err)
	}
}

// reportEvery bounds how often the rotator's failures reach the error
// handler; tests change it.
var reportEvery = time.Second

// fail records a failure found under mu for the handler and the next Flush.
func (r *rotator) fail(err error) {
	r.reports = append(r.reports, err)
	r.failures.Lost(0, err)
}

func (r *rotator) movedAway() bool {
	onDisk, err := r.cfg.fs.Stat(r.path)
	if err != nil {
		return true
	}
	if r.mine == nil { // fstat failed at open: ask again
		mine, err := r.f.Stat()
		return err != nil || !os.SameFile(onDisk, mine)
	}
	// Identity (device and inode) does not change while the file is
	// open: one stat of the path per write, not two.
	return !os.SameFile(onDisk, r.mine)
}

func (r *rotator) open() error {
	now := r.cfg.now()
	f, path, err := r.create(now)
	if err != nil {
		return err
	}
	r.install(f, path, now)
	return nil
}

// create opens the file to write next, leaving the active one alone.
func (r *rotator) create(now time.Time) (file, string, error) {
	if err := r.cfg.fs.MkdirAll(r.cfg.dir, r.cfg.dirMode); err != nil {
		return nil, "", fmt.Errorf("rotatingfile: create directory: %w", err)
	}
	r.checkDirOnce()
	var (
		f    file
		path string
		err  error
	)
	if r.cfg.fixedName {
		path = filepath.Join(r.cfg.dir, r.cfg.prefix+r.cfg.ext)
		f, err = r.cfg.fs.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|noFollow, r.cfg.fileMode)
	} else {
		f, path, err = r.createUnique(stamp(r.cfg.prefix, now), r.cfg.ext, os.O_WRONLY|os.O_APPEND|noFollow)
	}
	if errors.Is(err, syscall.ELOOP) {
		return nil, "", fmt.Errorf("rotatingfile: open: %w (a symbolic link is at the file's path; refusing to write through it)", err)
	}
	if err != nil {
		return nil, "", fmt.Errorf("rotatingfile: open: %w", err)
	}
	return f, path, nil
}

// install makes f, opened at now, the active file.
func (r *rotator) install(f file, path string, now time.Time) {
	var size int64
	r.unsyncable = false
	r.mine = nil
	if fi, err := f.Stat(); err == nil {
		r.mine = fi
		size = fi.Size()
		// A FIFO or device someone put at the path: fsync can only fail
		// there (EINVAL), and there is nothing below it to push.
		r.unsyncable = !fi.Mode().IsRegular()
	}
	if lockActive(f) && !r.sharedWarned {
		r.sharedWarned = true
		r.warning = errors.Join(r.warning, fmt.Errorf("rotatingfile: warning: %s is being written by another process too (two processes with WithFixedName on one directory: two replicas, or a rolling update's overlap): each renames the other's file at its rotations and counts only its own lines against the size limit; give each process its own directory", path))
	}
	r.f, r.path, r.size, r.opened, r.dirty, r.renamed, r.away = f, path, size, now, false, false, false
	r.due = r.nextDue(now)
	select {
	case r.wake <- struct{}{}:
	default:
	}
	if r.cfg.symlink != "" {
		r.linkActive()
	}
}

// checkDirOnce warns, once, when the directory is writable by others and
// not sticky: anyone could then replace our files or plant links in it.
// Opening with O_NOFOLLOW and O_EXCL keeps us from writing through such
// links, but the operator should know.
func (r *rotator) checkDirOnce() {
	if r.dirWarned {
		return
	}
	r.dirWarned = true
	fi, err := r.cfg.fs.Stat(r.cfg.dir)
	if err != nil {
		return
	}
	if m := fi.Mode(); m.Perm()&0o002 != 0 && m&os.ModeSticky == 0 {
		r.warning = fmt.Errorf("rotatingfile: warning: directory %s is writable by others and not sticky (mode %v): other users can replace or redirect its files", r.cfg.dir, m.Perm())
	}
}

// createUnique creates base+ext, or base-1+ext, base-2+ext... whichever is
// free, counting the compressed forms of a name as taken: when several files
// rotate within one second, a new file must never reuse the name of one
// that was compressed (and so removed) meanwhile.
func (r *rotator) createUnique(base, ext string, flag int) (file, string, error) {
	for i := 0; ; i++ {
		path := numbered(r.cfg.dir, base, ext, i)
		if r.taken(path) && i < maxSuffix {
			continue
		}
		f, err := r.cfg.fs.OpenFile(path, flag|os.O_CREATE|os.O_EXCL, r.cfg.fileMode)
		if errors.Is(err, fs.ErrExist) && i < maxSuffix {
			continue
		}
		return f, path, err
	}
}

// maxSuffix bounds the search for a free name.
const maxSuffix = 100000

func numbered(dir, base, ext string, i int) string {
	if i == 0 {
		return filepath.Join(dir, base+ext)
	}
	return filepath.Join(dir, base+"-"+strconv.Itoa(i)+ext)
}

// taken reports whether path, or a compressed form of it, exists.
func (r *rotator) taken(path string) bool {
	for _, suffix := range [...]string{"", ".gz", ".zst", ".gz.tmp", ".zst.tmp"} {
		if _, err := r.cfg.fs.Stat(path + suffix); !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	return false
}

// stamp is fapilog's naming: {prefix}-{YYYYmmdd-HHMMSS} in UTC.
func stamp(prefix string, t time.Time) string {
	return prefix + "-" + t.UTC().Format("20060102-150405")
}

// linkActive points the symlink at the active file, replacing it atomically
// through a rename so readers never see it missing.
func (r *rotator) linkActive() {
	link := filepath.Join(r.cfg.dir, r.cfg.symlink)
	tmp := link + ".tmp"
	_ = r.cfg.fs.Remove(tmp)
	if err := r.cfg.fs.Symlink(filepath.Base(r.path), tmp); err != nil {
		return
	}
	if err := r.cfg.fs.Rename(tmp, link); err != nil {
		_ = r.cfg.fs.Remove(tmp)
	}
}

func (r *rotator) nextDue(now time.Time) time.Time {
	d := r.cfg.interval
	if d <= 0 {
		return time.Time{}
	}
	if r.cfg.alignIn == nil {
		return now.Add(d)
	}
	local := now.In(r.cfg.alignIn)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, r.cfg.alignIn)
	next := day
	for !next.After(now) {
		next = next.Add(d)
	}
	return next
}

// renameNeedsClose: Windows cannot rename an open file, so there the
// fixed-name file is closed before it is renamed, and opened again by its
// new name if it has to go on taking lines. A variable so that tests run
// that path everywhere.
var renameNeedsClose = runtime.GOOS == "windows"

// rotateRetry is how long a time rotation whose next file could not be
// opened waits before it is tried again, so that the timer does not spin.
const rotateRetry = time.Second

// rotateLocked closes the active file and gives it its final name. When a
// write is waiting (ahead) the next file is opened before the active one is
// let go, and only if that works: when it cannot be opened (a directory
// made read-only, inodes or descriptors exhausted) the active file keeps
// taking lines, over its limits, instead of every line being lost until
// the fault clears, and the next write tries again. A fixed-name file is
// renamed first, as its name is the next file's; if the next file then
// cannot be opened, the file goes on under its rotated name (renamed).
func (r *rotator) rotateLocked(ahead bool) {
	if r.f == nil {
		return
	}
	if r.away {
		// Not at its path: what is there now is not ours to rename or
		// retire. A waiting write opens its successor first, as below.
		if !ahead {
			r.letGoMoved()
		} else if err := r.replaceMoved(); err != nil {
			r.fail(err)
		}
		return
	}
	now := r.cfg.now()
	unsynced := r.cfg.sync != SyncNever && r.dirty && !r.unsyncable
	if r.cfg.fixedName && !r.renamed {
		if renameNeedsClose {
			if err := r.f.Close(); err != nil {
				r.fail(fmt.Errorf("rotatingfile: close %s when rotating: %w", r.path, err))
			}
			r.f = nil
		}
		base := stamp(r.cfg.prefix, r.opened)
		final := numbered(r.cfg.dir, base, r.cfg.ext, 0)
		for i := 1; r.taken(final) && i < maxSuffix; i++ {
			final = numbered(r.cfg.dir, base, r.cfg.ext, i)
		}
		if err := r.cfg.fs.Rename(r.path, final); err != nil {
			// The lines stay in the fixed name, which the next open
			// appends to: nothing is lost, but the operator should know.
			// It is still the active file, so it is not the janitor's
			// to compress (which would remove it under the writer, and
			// overwrite the .gz of an earlier attempt) or to count for
			// retention: only its fsync is queued, so that a Flush
			// covers its lines even if no write reopens it first.
			r.fail(fmt.Errorf("rotatingfile: rotate %s: %w", r.path, err))
			if r.f != nil {
				r.retryLater(now)
				return // still open: it goes on taking lines
			}
			r.stuck = true
			if unsynced {
				r.janitor.toSync(r.path)
			}
			r.path, r.size, r.due, r.dirty = "", 0, time.Time{}, false
			return
		}
		r.path, r.renamed = final, true
	}
	var (
		next     file
		nextPath string
	)
	if ahead {
		var err error
		if next, nextPath, err = r.create(now); err != nil {
			if r.f == nil { // closed to be renamed: take it up again
				if f, oerr := r.cfg.fs.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|noFollow, 0); oerr == nil {
					r.f = f
				}
			}
			if r.f != nil {
				r.fail(fmt.Errorf("rotatingfile: rotate %s (it keeps taking lines): %w", r.path, err))
				r.retryLater(now)
				return
			}
		}
	}
	if r.f != nil {
		if err := r.f.Close(); err != nil {
			r.fail(fmt.Errorf("rotatingfile: close %s when rotating: %w", r.path, err))
		}
	}
	rotated := r.path
	r.f, r.path, r.size, r.due, r.dirty, r.renamed = nil, "", 0, time.Time{}, false, false
	r.janitor.rotated(rotated, unsynced)
	if next != nil {
		r.install(next, nextPath, now)
	}
}

// retryLater keeps the active file after a failed rotation: the rest of
// the Write goes to it, the next Write tries again, and a time rotation
// waits rotateRetry first, so that the timer does not spin.
func (r *rotator) retryLater(now time.Time) {
	r.stuck = true
	if !r.due.IsZero() {
		r.due = now.Add(rotateRetry)
	}
}

// closeActive drops the handle of the active file without rotating it.
func (r *rotator) closeActive() {
	if err := r.f.Close(); err != nil {
		r.fail(fmt.Errorf("rotatingfile: close %s: %w", r.path, err))
	}
	r.f, r.size, r.dirty, r.away = nil, 0, false, false
}

// activePath is the file being written, or last written if it has not
// rotated since: retention must never delete it, even after Close.
func (r *rotator) activePath() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.path
}

// Sync applies the durability policy on Flush, and reports the failures
// found since the previous Flush.
func (r *rotator) Sync() error {
	if !r.cfg.sync.onFlush {
		return r.failures.Take()
	}
	r.mu.Lock()
	err := r.syncLocked()
	r.unlock()
	// Lines written before this Flush may have rotated into files the
	// janitor has not synced yet.
	r.janitor.syncRotated()
	return errors.Join(err, r.failures.Take())
}

func (r *rotator) syncLocked() error {
	if r.f == nil || !r.dirty || r.unsyncable {
		return nil
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("rotatingfile: sync %s: %w", r.path, err)
	}
	r.dirty = false
	return nil
}

// Reopen closes the active file; the next write opens it again by name. Use
// it after an external tool has moved the file (logrotate without
// copytruncate), usually on SIGHUP.
func (r *rotator) Reopen() error {
	r.mu.Lock()
	defer r.unlock()
	if r.closed || r.f == nil {
		return nil
	}
	err := r.syncLocked()
	if r.renamed {
		// Already under its rotated name (its successor could not be
		// created): let it go as a rotated file, to be compressed and
		// retired like one.
		r.rotateLocked(false)
	} else {
		r.closeActive()
	}
	return err
}

func (r *rotator) timeLoop() {
	defer r.wg.Done()
	for {
		r.mu.Lock()
		due := r.due
		r.mu.Unlock()
		wait := r.cfg.interval
		if !due.IsZero() {
			wait = max(due.Sub(r.cfg.now()), 0)
		}
		tick, stop := r.cfg.after(wait)
		select {
		case <-tick:
		case <-r.wake:
			stop()
			continue
		case <-r.quit:
			stop()
			return
		}
		r.mu.Lock()
		if r.f != nil && !r.due.IsZero() && !r.cfg.now().Before(r.due) {
			// Idle: the next file is opened by the next write, so that
			// a quiet sink leaves no empty file per interval.
			r.rotateLocked(false)
		}
		r.unlock()
	}
}

func (r *rotator) syncLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.sync.every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.mu.Lock()
			if err := r.syncLocked(); err != nil {
				r.fail(err)
			}
			r.unlock()
			r.janitor.syncRotated()
		case <-r.quit:
			return
		}
	}
}

// Close syncs and closes the active file, ends the background goroutines
// and waits for compression and retention to finish.
func (r *rotator) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	var err error
	if r.f != nil {
		if r.cfg.sync != SyncNever {
			err = r.syncLocked()
		}
		err = errors.Join(err, r.f.Close())
		r.f = nil
	}
	r.mu.Unlock()
	close(r.quit)
	r.wg.Wait()
	err = errors.Join(err, r.janitor.close())
	r.reporter.Close()
	return err
}
