package rotatingfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/fapilog/fapilog-otel/bridge"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
)

// Compression of rotated files.
type Compression uint8

const (
	// CompressionNone keeps rotated files as they are.
	CompressionNone Compression = iota
	// CompressionGzip compresses rotated files to .gz (klauspost/compress;
	// any gzip reader reads them).
	CompressionGzip
	// CompressionZstd compresses rotated files to .zst.
	CompressionZstd
)

// SyncPolicy says when written data is fsync'd to stable storage.
type SyncPolicy struct {
	every   time.Duration
	onFlush bool
}

var (
	// SyncOnFlush fsyncs on every Flush, so a ForceFlush that returns nil
	// means the records survive a power cut. The default.
	SyncOnFlush = SyncPolicy{onFlush: true}
	// SyncNever leaves durability to the operating system; Flush still
	// hands every byte to it.
	SyncNever = SyncPolicy{}
)

// SyncEvery fsyncs at most once per interval, in the background; Flush then
// hands data to the OS without waiting for the disk.
func SyncEvery(d time.Duration) SyncPolicy { return SyncPolicy{every: d} }

// Option configures the sink and, through New, its exporter.
type Option interface {
	apply(*config)
}

type config struct {
	dir       string
	prefix    string
	ext       string
	fixedName bool
	symlink   string
	maxSize   int64
	interval  time.Duration
	alignIn   *time.Location
	maxFiles  int
	maxTotal  int64
	maxAge    time.Duration
	compress  Compression
	sync      SyncPolicy
	fileMode  os.FileMode
	dirMode   os.FileMode
	reopenOn  []os.Signal
	buffer    delivery.Buffer
	exporter  []bridge.Option

	// Seams for tests.
	handle func(error) // where background failures go; otel.Handle
	fs     fileSystem
	now    func() time.Time
	after  func(time.Duration) (<-chan time.Time, func() bool)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Defaults.
const (
	DefaultPrefix    = "fapilog"
	DefaultExtension = ".jsonl"
	DefaultMaxSize   = 100 << 20
	DefaultFileMode  = 0o640
	DefaultDirMode   = 0o750
)

// WithDirectory sets the directory files are written to. Required. It is
// created, with the directory mode, when missing.
func WithDirectory(dir string) Option { return optionFunc(func(c *config) { c.dir = dir }) }

// WithPrefix sets the file name prefix. The default is DefaultPrefix; an
// empty prefix is an error.
func WithPrefix(p string) Option { return optionFunc(func(c *config) { c.prefix = p }) }

// WithExtension sets the file name extension, with its dot. The default is
// ".jsonl"; "" means files without an extension.
func WithExtension(ext string) Option { return optionFunc(func(c *config) { c.ext = ext }) }

// WithFixedName writes to {prefix}{ext} and gives files their timestamped
// name when they rotate, as log shippers that tail one path expect. By
// default the active file has the timestamped name from the start, as
// fapilog's Python sink does.
func WithFixedName() Option { return optionFunc(func(c *config) { c.fixedName = true }) }

// WithSymlink keeps a symbolic link of this name, in the directory, pointing
// at the active file. The default, "", keeps none.
func WithSymlink(name string) Option { return optionFunc(func(c *config) { c.symlink = name }) }

// WithMaxSize rotates before a file would exceed n bytes. A single line
// larger than n is written whole to a fresh file. 0 disables size rotation;
// a negative size is an error. The default is DefaultMaxSize.
func WithMaxSize(n int64) Option { return optionFunc(func(c *config) { c.maxSize = n }) }

// WithInterval rotates a file once it has been open for d, whether or not
// anything is written. Zero (the default) disables time rotation; a
// positive d under one second is an error.
func WithInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.interval, c.alignIn = d, nil })
}

// WithAlignedInterval rotates at multiples of d on the clock of loc: with
// time.Hour, at every full hour; with 24*time.Hour and time.Local, at local
// midnight. d must divide 24 hours.
func WithAlignedInterval(d time.Duration, loc *time.Location) Option {
	return optionFunc(func(c *config) { c.interval, c.alignIn = d, loc })
}

// WithMaxFiles keeps at most n rotated files; older ones are deleted. 0
// keeps all.
func WithMaxFiles(n int) Option { return optionFunc(func(c *config) { c.maxFiles = n }) }

// WithMaxTotalBytes deletes the oldest rotated files while all files
// together exceed n bytes. The active file is never deleted. 0 disables.
func WithMaxTotalBytes(n int64) Option { return optionFunc(func(c *config) { c.maxTotal = n }) }

// WithMaxAge deletes rotated files last written more than d ago. 0 disables.
func WithMaxAge(d time.Duration) Option { return optionFunc(func(c *config) { c.maxAge = d }) }

// WithCompression compresses rotated files in the background. The default
// is CompressionNone.
func WithCompression(comp Compression) Option {
	return optionFunc(func(c *config) { c.compress = comp })
}

// WithSync sets the durability policy. The default is SyncOnFlush.
func WithSync(p SyncPolicy) Option { return optionFunc(func(c *config) { c.sync = p }) }

// WithFileMode sets the permissions of new files. The default is 0640; 0
// keeps it.
func WithFileMode(m os.FileMode) Option {
	return optionFunc(func(c *config) {
		if m != 0 {
			c.fileMode = m
		}
	})
}

// WithDirMode sets the permissions of a directory the sink creates. The
// default is 0750; 0 keeps it.
func WithDirMode(m os.FileMode) Option {
	return optionFunc(func(c *config) {
		if m != 0 {
			c.dirMode = m
		}
	})
}

// WithReopenOn reopens the active file when one of sigs arrives (typically
// syscall.SIGHUP, after logrotate has moved the file away). The listener
// ends with Stop.
func WithReopenOn(sigs ...os.Signal) Option {
	return optionFunc(func(c *config) { c.reopenOn = sigs })
}

// WithBuffer sets how lines are gathered before they go to the disk, and
// how many bytes may wait for a slow disk before Write applies
// back-pressure: the settings both line exporters share. The zero value of
// each field keeps its default; the file's buffers default to
// DefaultBufferSize, larger than delivery.DefaultBufferSize.
func WithBuffer(b delivery.Buffer) Option { return optionFunc(func(c *config) { c.buffer = b }) }

// DefaultBufferSize is the file's buffer size. A write(2) to a file costs
// less per byte the larger it is (in page-cache copies and, for each
// write, a stat of the path to notice a file moved away), and the bridge
// hands a large Export over in parts of about this size, so each part is
// one write.
const DefaultBufferSize = 256 << 10

// WithExporterOptions passes options (the line format, metrics, a name) to
// the bridge exporter New creates. NewSink refuses them.
func WithExporterOptions(opts ...bridge.Option) Option {
	return optionFunc(func(c *config) { c.exporter = append(c.exporter, opts...) })
}

func newConfig(opts []Option) (config, error) {
	c := config{
		prefix: DefaultPrefix, ext: DefaultExtension, maxSize: DefaultMaxSize,
		sync: SyncOnFlush, fileMode: DefaultFileMode, dirMode: DefaultDirMode,
		fs: osFS{}, now: time.Now, after: realAfter, handle: otel.Handle,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("rotatingfile: "+format, args...)) }
	if c.dir == "" {
		bad("WithDirectory: a directory is required")
	}
	if c.prefix == "" {
		bad("WithPrefix: empty prefix")
	}
	for _, n := range []struct{ option, value string }{
		{"WithPrefix", c.prefix}, {"WithExtension", c.ext}, {"WithSymlink", c.symlink},
	} {
		if reason := badName(n.value); reason != "" {
			bad("%s: %q %s", n.option, n.value, reason)
		}
	}
	if c.maxSize < 0 {
		bad("WithMaxSize: %d is negative", c.maxSize)
	}
	if c.interval != 0 && c.interval < time.Second {
		bad("WithInterval: %v is under one second", c.interval)
	}
	if c.alignIn != nil && c.interval > 0 && (24*time.Hour)%c.interval != 0 {
		bad("WithAlignedInterval: %v does not divide 24h", c.interval)
	}
	if c.maxFiles < 0 {
		bad("WithMaxFiles: %d is negative", c.maxFiles)
	}
	if c.maxTotal < 0 {
		bad("WithMaxTotalBytes: %d is negative", c.maxTotal)
	}
	if c.maxAge < 0 {
		bad("WithMaxAge: %v is negative", c.maxAge)
	}
	if c.compress > CompressionZstd {
		bad("WithCompression: unknown compression %d", c.compress)
	}
	if c.sync.every < 0 || (c.sync.every > 0 && c.sync.every < 10*time.Millisecond) {
		bad("WithSync: SyncEvery(%v) must be at least 10ms", c.sync.every)
	}
	if c.buffer.Size == 0 {
		c.buffer.Size = DefaultBufferSize
	}
	var err error
	if c.buffer, err = c.buffer.Resolve("rotatingfile: WithBuffer"); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// badName says why a name we join to the directory could escape it or
// break the path, "" when it cannot.
func badName(v string) string {
	switch {
	case v == "":
		return ""
	case strings.ContainsRune(v, 0):
		return "contains a NUL byte"
	case strings.ContainsRune(v, '/') || strings.ContainsRune(v, filepath.Separator):
		return "contains a path separator: names stay inside the directory"
	case strings.Contains(v, ".."):
		return `contains "..": names stay inside the directory`
	case v == ".":
		return "is not a file name"
	}
	return ""
}

func realAfter(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}
