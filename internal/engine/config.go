package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/fapilog/fapilog-otel/internal/spool"
)

// Overflow is what Add does when the pending bytes would exceed the bound.
type Overflow uint8

const (
	// DropNewest refuses the entry being added. The default: what is
	// already queued is older and was promised first.
	DropNewest Overflow = iota
	// DropOldest discards the oldest queued batch that is not being sent.
	DropOldest
	// Block waits for room up to Config.BlockTimeout (and the caller's
	// context), then refuses the entry.
	Block
)

// Evaluate decides what to do after a failed attempt: whether to try
// again, and after how long (0 means "use the backoff"). The engine knows
// nothing of any protocol; the sender's side decides.
type Evaluate func(err error) (retry bool, after time.Duration)

// Config shapes batching, memory and retries. The zero value of each field
// means its default. Callers validate what users typed and name their own
// options in errors; the engine's checks are a backstop.
type Config struct {
	Name            string        // prefixes every error; default "engine"
	MaxBatchEntries int           // default 512
	MaxBatchBytes   int           // the uncompressed body, framing included; default 1 MiB
	MaxBatchAge     time.Duration // default 1s
	MaxPendingBytes int           // default 16 MiB
	Overflow        Overflow
	BlockTimeout    time.Duration // with Block; default 1s

	// EntryOverhead and BatchOverhead are the bytes a request body adds
	// to its entries, per entry (a newline, a comma) and per batch
	// (brackets, a wrapping object), counted against MaxBatchBytes so that
	// a body never exceeds it: a receiver's limit (nginx's default is
	// 1 MiB) answers 413, which is not retried.
	EntryOverhead int
	BatchOverhead int

	InitialBackoff time.Duration // default 500ms
	MaxBackoff     time.Duration // default 30s
	RetryBudget    time.Duration // total time per batch; default 5m
	// Evaluate classifies failures; nil retries every failure.
	Evaluate Evaluate
	// TooLarge reports a failure that refuses the batch for its size
	// (HTTP 413): the batch is then sent in halves, down to single
	// entries, each half under the batch's key with ".1" or ".2" added.
	// nil: no failure is.
	TooLarge       func(err error) bool
	RequestTimeout time.Duration // per attempt; default 30s
	Concurrency    int           // requests in flight; default 1, which keeps order
	// Spool, when set, keeps every entry on disk from Add until it is
	// delivered (see spooled.go). MaxPendingBytes then bounds the disk,
	// and the overflow policies apply to it.
	Spool *spool.Config
}

func retryAll(error) (bool, time.Duration) { return true, 0 }

func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Name == "" {
		c.Name = "engine"
	}
	def(&c.MaxBatchEntries, 512)
	if c.Spool != nil && c.MaxPendingBytes == 0 {
		c.MaxPendingBytes = int(c.Spool.MaxBytes)
	}
	def(&c.MaxPendingBytes, 16<<20)
	// An unset batch size follows a small pending bound down, so setting
	// only the bound is enough.
	def(&c.MaxBatchBytes, min(1<<20, c.MaxPendingBytes/2))
	def(&c.Concurrency, 1)
	defDur(&c.MaxBatchAge, time.Second)
	defDur(&c.BlockTimeout, time.Second)
	defDur(&c.InitialBackoff, 500*time.Millisecond)
	defDur(&c.MaxBackoff, 30*time.Second)
	defDur(&c.RetryBudget, 5*time.Minute)
	defDur(&c.RequestTimeout, 30*time.Second)
	if c.Evaluate == nil {
		c.Evaluate = retryAll
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.EntryOverhead < 0 || c.BatchOverhead < 0 {
		bad("negative framing overhead (%d per entry, %d per batch)", c.EntryOverhead, c.BatchOverhead)
	}
	if c.MaxBatchEntries < 0 || c.MaxBatchBytes < 0 || c.MaxBatchAge < 0 {
		bad("negative batch limit (%d entries, %d bytes, %v)", c.MaxBatchEntries, c.MaxBatchBytes, c.MaxBatchAge)
	}
	if c.MaxPendingBytes < 0 {
		bad("pending bound %d is negative", c.MaxPendingBytes)
	} else if c.MaxPendingBytes < c.MaxBatchBytes {
		bad("pending bound %d is below the batch size of %d bytes", c.MaxPendingBytes, c.MaxBatchBytes)
	}
	if c.Concurrency < 0 {
		bad("concurrency %d is negative", c.Concurrency)
	}
	if c.InitialBackoff < 0 || c.MaxBackoff < 0 || c.RetryBudget < 0 {
		bad("negative retry timing (%v, %v, %v)", c.InitialBackoff, c.MaxBackoff, c.RetryBudget)
	} else if c.MaxBackoff < c.InitialBackoff {
		bad("maximum backoff %v is below the initial %v", c.MaxBackoff, c.InitialBackoff)
	}
	if c.RequestTimeout < 0 {
		bad("request timeout %v is negative", c.RequestTimeout)
	}
	if c.Overflow > Block {
		bad("unknown overflow policy %d", c.Overflow)
	}
	return c, errors.Join(errs...)
}
