package rotatingfile

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// janitor compresses rotated files and enforces retention on one goroutine
// of its own, so a rotation never makes the writer wait for gzip or for a
// directory scan.
type janitor struct {
	cfg config
	// active returns the active file's path ("" when none is open); it
	// takes the rotator's lock, which the janitor never holds its own
	// lock around.
	active func() string
	mu     sync.Mutex
	cond   *sync.Cond
	todo   []string // rotated files waiting for compression
	busy   bool     // a goroutine is working through todo
	errs   []error  // failures since the last report
}

// maxKeptErrors bounds the failures kept for Close to report.
const maxKeptErrors = 8

func newJanitor(cfg config, active func() string) *janitor {
	j := &janitor{cfg: cfg, active: active}
	j.cond = sync.NewCond(&j.mu)
	return j
}

// rotated queues a freshly rotated file and starts the worker if idle.
func (j *janitor) rotated(path string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.todo = append(j.todo, path)
	if !j.busy {
		j.busy = true
		go j.work()
	}
}

func (j *janitor) work() {
	j.mu.Lock()
	for len(j.todo) > 0 {
		path := j.todo[0]
		j.todo = j.todo[1:]
		j.mu.Unlock()
		err := j.compress(path)
		err = errors.Join(err, j.enforceRetention())
		j.mu.Lock()
		if err != nil && len(j.errs) < maxKeptErrors {
			j.errs = append(j.errs, err)
		}
	}
	j.busy = false
	j.cond.Broadcast()
	j.mu.Unlock()
}

// close waits for queued work and returns what failed. No goroutine of the
// janitor outlives it.
func (j *janitor) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.busy {
		j.cond.Wait()
	}
	err := errors.Join(j.errs...)
	j.errs = nil
	return err
}

func (j *janitor) suffix() string {
	switch j.cfg.compress {
	case Gzip:
		return ".gz"
	case Zstd:
		return ".zst"
	}
	return ""
}

// compress writes path's compressed copy under a temporary name, syncs it,
// renames it into place and only then removes the original: a crash at any
// point leaves one complete file.
func (j *janitor) compress(path string) (err error) {
	if j.cfg.compress == NoCompression {
		return nil
	}
	final := path + j.suffix()
	tmp := final + ".tmp"
	in, err := j.cfg.fs.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		// Retention deleted it while it waited in the queue: rotation
		// outran compression and the file was past the limits anyway.
		return nil
	}
	if err != nil {
		return fmt.Errorf("rotatingfile: compress %s: %w", path, err)
	}
	defer in.Close()
	out, err := j.cfg.fs.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, j.cfg.fileMode)
	if err != nil {
		return fmt.Errorf("rotatingfile: compress %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = out.Close()
			_ = j.cfg.fs.Remove(tmp)
		}
	}()
	var zw io.WriteCloser
	if j.cfg.compress == Gzip {
		zw = gzip.NewWriter(out)
	} else if zw, err = zstd.NewWriter(out); err != nil {
		return fmt.Errorf("rotatingfile: compress %s: %w", path, err)
	}
	if _, err = io.Copy(zw, in); err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = out.Sync()
	}
	if err == nil {
		err = out.Close()
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
	return nil
}

type rotatedFile struct {
	path string
	size int64
	mod  time.Time
}

// enforceRetention deletes rotated files beyond the count, total size and
// age limits, oldest first. The active file is never a candidate.
func (j *janitor) enforceRetention() error {
	c := j.cfg
	if c.maxFiles == 0 && c.maxTotal == 0 && c.maxAge == 0 {
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
		base := strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".zst")
		if !strings.HasSuffix(base, c.ext) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, rotatedFile{path: filepath.Join(c.dir, name), size: info.Size(), mod: info.ModTime()})
	}
	// Names carry the UTC opening time, so name order is age order, once
	// collision suffixes (-1, -2) are compared as numbers.
	slices.SortFunc(files, func(a, b rotatedFile) int { return compareNames(a.path, b.path, c) })
	var active int64
	activePath := j.active()
	if c.fixedName {
		activePath = filepath.Join(c.dir, c.prefix+c.ext)
	}
	if fi, err := c.fs.Stat(activePath); activePath != "" && err == nil {
		active = fi.Size()
	}
	files = slices.DeleteFunc(files, func(f rotatedFile) bool { return f.path == activePath })
	return files, active, nil
}

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
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".zst")
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
