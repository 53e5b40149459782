package delivery

import (
	"errors"
	"fmt"
	"time"
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

// Config shapes batching, memory and retries. The zero value of each field
// means its default.
type Config struct {
	Name            string        // prefixes every error; default "delivery"
	MaxBatchEntries int           // default 512
	MaxBatchBytes   int           // uncompressed; default 1 MiB
	MaxBatchAge     time.Duration // default 1s
	MaxPendingBytes int           // default 16 MiB
	Overflow        Overflow
	BlockTimeout    time.Duration // with Block; default 1s

	InitialBackoff time.Duration // default 500ms
	MaxBackoff     time.Duration // default 30s
	RetryBudget    time.Duration // total time per batch; default 5m
	// Retryable decides which HTTP statuses are retried; nil means 408,
	// 429 and 5xx except 501. Network errors are always retried.
	Retryable      func(status int) bool
	RequestTimeout time.Duration // per attempt; default 30s
	Concurrency    int           // requests in flight; default 1, which keeps order
}

// DefaultRetryable is the default retry rule: 408, 429 and every 5xx but
// 501 Not Implemented, which no retry will fix.
func DefaultRetryable(status int) bool {
	return status == 408 || status == 429 || (status >= 500 && status != 501)
}

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
		c.Name = "delivery"
	}
	def(&c.MaxBatchEntries, 512)
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
	if c.Retryable == nil {
		c.Retryable = DefaultRetryable
	}
	// Messages name the exporters' options: this engine is theirs, and a
	// user must be able to find what they typed.
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.MaxBatchEntries < 0 {
		bad("WithBatching: %d entries per batch is negative", c.MaxBatchEntries)
	}
	if c.MaxBatchBytes < 0 {
		bad("WithBatching: %d bytes per batch is negative", c.MaxBatchBytes)
	}
	if c.MaxBatchAge < 0 {
		bad("WithBatching: a batch age of %v is negative", c.MaxBatchAge)
	}
	if c.MaxPendingBytes < 0 {
		bad("WithMaxPendingBytes(%d): negative", c.MaxPendingBytes)
	} else if c.MaxPendingBytes < c.MaxBatchBytes {
		bad("WithMaxPendingBytes(%d) is below the batch size of %d bytes (WithBatching)", c.MaxPendingBytes, c.MaxBatchBytes)
	}
	if c.Concurrency < 0 {
		bad("WithConcurrency(%d): negative", c.Concurrency)
	}
	if c.InitialBackoff < 0 || c.MaxBackoff < 0 || c.RetryBudget < 0 {
		bad("WithRetry(%v, %v, %v): negative", c.InitialBackoff, c.MaxBackoff, c.RetryBudget)
	} else if c.MaxBackoff < c.InitialBackoff {
		bad("WithRetry(%v, %v, %v): the maximum backoff is below the initial one", c.InitialBackoff, c.MaxBackoff, c.RetryBudget)
	}
	if c.RequestTimeout < 0 {
		bad("WithRequestTimeout(%v): negative", c.RequestTimeout)
	}
	if c.Overflow > Block {
		bad("WithMaxPendingBytes: unknown overflow policy %d", c.Overflow)
	}
	return c, errors.Join(errs...)
}
