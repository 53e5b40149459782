package delivery

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Options configures a network sink. The zero value is the default
// configuration.
type Options struct {
	// Batch says when queued entries become a request.
	Batch Batch
	// Pending bounds the memory held for entries not yet delivered.
	Pending Pending
	// Retry says how failed requests are retried.
	Retry Retry
	// Concurrency is how many requests may be in flight. The default, 1,
	// keeps batches in order. At most MaxConcurrency.
	Concurrency int
	// RequestTimeout bounds each attempt. The default is 30s.
	RequestTimeout time.Duration
	// RetryableStatuses replaces the HTTP statuses that are retried. nil
	// means the default: 408, 429 and every 5xx but 501. An empty non-nil
	// slice retries no status. A failure to get any answer is always
	// retried (unless Retry.Disabled). Whatever this says, a 413 with
	// Retry-After is retried, as the receiver says it is temporary (unless
	// Retry.Disabled), and a 413 without it sends the batch again in halves
	// until the parts fit (an entry too large on its own is lost, counted).
	RetryableStatuses []int
	// Headers are added to every request (an API key, say). Their values
	// never appear in errors.
	Headers http.Header
	// Client sends the requests instead of a client of the sink's own
	// (nil, the default). The sink then leaves its connections alone on
	// Stop, and never follows redirects, whatever its CheckRedirect says.
	// A panic in its transport fails that batch (counted lost, not
	// retried) instead of ending the program.
	Client *http.Client
	// TLS configures the sink's own client (nil means Go's defaults). It
	// is ignored when Client is set.
	TLS *tls.Config
	// AllowInsecure permits plain http to a host that is not loopback. By
	// default only https is accepted there: logs carry data worth
	// encrypting.
	AllowInsecure bool
	// Spool keeps every entry on disk from Write until it is delivered,
	// so a crash (kill -9, the OOM killer) loses nothing Write accepted.
	// Off by default.
	Spool Spool
}

// Spool configures the crash-safe queue on disk (see docs/spool.md). With
// it, Write appends each entry to a file in Dir before returning (into the
// kernel: it survives the process being killed; onto the disk according
// to Sync), batches are read back from there to be sent, and a process
// that starts with a spool left by an earlier one sends those entries
// first, with the idempotency keys they were first sent with. Delivery is
// at least once. Pending.MaxBytes is then unused: MaxBytes bounds the
// disk, and Pending.Overflow and BlockTimeout apply to it. Disk is freed
// in order, as batches are delivered: OverflowDropOldest frees room only
// up to a batch still being sent, and refuses new entries beyond that.
type Spool struct {
	// Dir is the spool directory, created (mode 0700) if missing; one
	// process at a time may use it. "" means no spool. When another
	// process holds it at New (a rolling deploy overlaps the old process
	// and the new), the sink starts all the same: it sends from memory,
	// bounded by Pending and not crash-safe, and the error handler hears
	// so (ErrSpoolInUse), until the other lets it go; it then takes the
	// spool, sends what the other left, and spools what comes next. An
	// exporter of this process that is still stopping (a Shutdown whose
	// context ended first, then an exporter rebuilt on a configuration
	// reload) is waited for the same way. Two exporters of this process
	// given one directory, both running, fail New instead.
	Dir string
	// MaxBytes bounds the spool's files. The default is 1 GiB.
	MaxBytes int64
	// Sync says when the spool is fsync'd. The default is SpoolSyncOnFlush.
	Sync SpoolSync
	// SyncEvery is the period of SpoolSyncInterval. The default is 100ms.
	SyncEvery time.Duration
}

// SpoolSync says when spooled entries reach the disk, beyond the kernel.
// Every policy survives the process being killed; they differ in what a
// power loss or kernel crash can take.
type SpoolSync uint8

const (
	// SpoolSyncOnFlush fsyncs when a flush (provider.ForceFlush) ends
	// with entries still undelivered, and at Stop: a power loss can take
	// what was written since the last flush and not yet delivered. A
	// flush that returns nil needs no fsync: what it covered was
	// acknowledged. The default.
	SpoolSyncOnFlush SpoolSync = iota
	// SpoolSyncInterval fsyncs every Spool.SyncEvery while there is new
	// data: a power loss can take that long's worth.
	SpoolSyncInterval
	// SpoolSyncAlways fsyncs every write before Write returns: a power
	// loss takes nothing Write accepted, at the cost of an fsync per
	// Export.
	SpoolSyncAlways
	// SpoolSyncNever leaves it to the kernel (usually within 30s).
	SpoolSyncNever
)

// String returns the policy's name as FAPILOG_* settings spell it.
func (s SpoolSync) String() string {
	switch s {
	case SpoolSyncOnFlush:
		return "flush"
	case SpoolSyncInterval:
		return "interval"
	case SpoolSyncAlways:
		return "always"
	case SpoolSyncNever:
		return "never"
	}
	return fmt.Sprintf("SpoolSync(%d)", uint8(s))
}

// Batch says when queued entries are sent: when a batch holds MaxEntries
// entries or its request body would exceed MaxBytes uncompressed bytes (the
// layout's separators and brackets counted, for a Request that is a
// Framer, as the http and webhook exporters' are), or its first entry is
// MaxAge old, whichever comes first. Set MaxBytes to the receiver's body
// limit, if it has one; a single entry larger than MaxBytes is still sent,
// alone.
type Batch struct {
	MaxEntries int           // default 512
	MaxBytes   int           // default 1 MiB, or half of Pending.MaxBytes if that is smaller
	MaxAge     time.Duration // default 1s
}

// Pending bounds the memory held for entries not yet delivered, and says
// what happens to an entry that would exceed the bound. Every entry
// dropped is counted, reported, and fails the next flush.
type Pending struct {
	MaxBytes     int           // default 16 MiB
	Overflow     Overflow      // default OverflowDropNewest
	BlockTimeout time.Duration // the longest OverflowBlock waits; default 1s
}

// Overflow is what happens to a new entry when the pending bound is
// reached.
type Overflow uint8

const (
	// OverflowDropNewest refuses the new entry: what is queued is older
	// and was accepted first. The default.
	OverflowDropNewest Overflow = iota
	// OverflowDropOldest discards the oldest queued batch that is not
	// being sent, to make room.
	OverflowDropOldest
	// OverflowBlock makes Write wait for room, up to Pending.BlockTimeout
	// and its context, then refuses the entry. Once writes have waited
	// two timeouts with no batch finishing (the receiver is down), later
	// ones refuse at once, counted as ever, until a batch finishes: a
	// wait for a receiver that does not answer would stall every Write
	// (with SimpleProcessor, every logging call) for nothing.
	OverflowBlock
)

// String returns the policy's name as FAPILOG_* settings spell it.
func (o Overflow) String() string {
	switch o {
	case OverflowDropNewest:
		return "drop_newest"
	case OverflowDropOldest:
		return "drop_oldest"
	case OverflowBlock:
		return "block"
	}
	return fmt.Sprintf("Overflow(%d)", uint8(o))
}

// Retry says how failed requests are retried: exponential backoff with
// full jitter between InitialInterval and MaxInterval (or the receiver's
// Retry-After), until the batch has spent MaxElapsedTime being retried. A
// Retry-After longer than what is left of MaxElapsedTime gives the batch up
// at once.
type Retry struct {
	// Disabled sends each batch once: a failure loses it (counted and
	// reported).
	Disabled        bool
	InitialInterval time.Duration // default 500ms
	MaxInterval     time.Duration // default 30s
	MaxElapsedTime  time.Duration // default 5m
}

// validate names, for each wrong field, the option and field a user typed.
func (o Options) validate(option string) error {
	var errs []error
	bad := func(field string, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", option, field, fmt.Sprintf(format, a...)))
	}
	negInt := func(field string, v int) {
		if v < 0 {
			bad(field, "%d is negative", v)
		}
	}
	negDur := func(field string, v time.Duration) {
		if v < 0 {
			bad(field, "%v is negative", v)
		}
	}
	negInt("Batch.MaxEntries", o.Batch.MaxEntries)
	negInt("Batch.MaxBytes", o.Batch.MaxBytes)
	negDur("Batch.MaxAge", o.Batch.MaxAge)
	negInt("Pending.MaxBytes", o.Pending.MaxBytes)
	negDur("Pending.BlockTimeout", o.Pending.BlockTimeout)
	if o.Pending.Overflow > OverflowBlock {
		bad("Pending.Overflow", "unknown policy %d", o.Pending.Overflow)
	}
	if o.Pending.MaxBytes > 0 && o.Batch.MaxBytes > o.Pending.MaxBytes {
		bad("Pending.MaxBytes", "%d is below Batch.MaxBytes (%d): one batch would not fit", o.Pending.MaxBytes, o.Batch.MaxBytes)
	}
	negInt("Concurrency", o.Concurrency)
	if o.Concurrency > MaxConcurrency {
		bad("Concurrency", "%d is above %d", o.Concurrency, MaxConcurrency)
	}
	negDur("RequestTimeout", o.RequestTimeout)
	negDur("Retry.InitialInterval", o.Retry.InitialInterval)
	negDur("Retry.MaxInterval", o.Retry.MaxInterval)
	negDur("Retry.MaxElapsedTime", o.Retry.MaxElapsedTime)
	if o.Retry.MaxInterval > 0 && o.Retry.InitialInterval > o.Retry.MaxInterval {
		bad("Retry.MaxInterval", "%v is below Retry.InitialInterval (%v)", o.Retry.MaxInterval, o.Retry.InitialInterval)
	}
	if o.Spool.MaxBytes < 0 {
		bad("Spool.MaxBytes", "%d is negative", o.Spool.MaxBytes)
	}
	negDur("Spool.SyncEvery", o.Spool.SyncEvery)
	if o.Spool.Sync > SpoolSyncNever {
		bad("Spool.Sync", "unknown policy %d", o.Spool.Sync)
	}
	if o.Spool.Dir == "" && o.Spool != (Spool{}) {
		bad("Spool.Dir", "settings given without a directory")
	}
	if o.Spool.Dir != "" && o.Spool.MaxBytes > 0 && int64(o.Batch.MaxBytes) > o.Spool.MaxBytes {
		bad("Spool.MaxBytes", "%d is below Batch.MaxBytes (%d)", o.Spool.MaxBytes, o.Batch.MaxBytes)
	}
	for _, s := range o.RetryableStatuses {
		if s < 100 || s > 599 {
			bad("RetryableStatuses", "%d is not an HTTP status", s)
		}
	}
	return errors.Join(errs...)
}

// Buffer configures how a line exporter gathers lines before handing them
// to the writer or file. Lines go when a buffer is full, on Flush, and at
// the latest about a second after they were buffered.
type Buffer struct {
	// Size is the size of each buffer. The default is DefaultBufferSize;
	// at most MaxBufferSize.
	Size int
	// MaxBytes bounds the bytes accepted but not yet written, so a slow or
	// blocked destination cannot grow memory without bound: beyond it,
	// Write waits up to its context and then fails, and the loss is
	// counted and reported. The default is DefaultMaxBufferedBytes; it is
	// never less than two buffers.
	MaxBytes int
}

// Defaults of Buffer.
const (
	DefaultBufferSize       = 64 << 10
	DefaultMaxBufferedBytes = 4 << 20
)

// Upper bounds, so that a mistyped setting (a byte count read as a
// gigabyte, a concurrency in the millions) fails New with the field named
// instead of failing the process later: each buffer and each sender is
// allocated as it is first needed.
const (
	MaxBufferSize  = 256 << 20
	MaxConcurrency = 1024
)

// Resolve returns b with its defaults filled in, or an error naming the
// option and field that are wrong.
func (b Buffer) Resolve(option string) (Buffer, error) {
	if b.Size < 0 {
		return b, fmt.Errorf("%s: Size: %d is negative", option, b.Size)
	}
	if b.Size > MaxBufferSize {
		return b, fmt.Errorf("%s: Size: %d is above %d (MaxBufferSize)", option, b.Size, MaxBufferSize)
	}
	if b.MaxBytes < 0 {
		return b, fmt.Errorf("%s: MaxBytes: %d is negative", option, b.MaxBytes)
	}
	if b.Size == 0 {
		b.Size = DefaultBufferSize
	}
	if b.MaxBytes == 0 {
		b.MaxBytes = DefaultMaxBufferedBytes
	}
	b.MaxBytes = max(b.MaxBytes, 2*b.Size)
	return b, nil
}
