package processor

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/fapilog/fapilog-otel/internal/encoding"
)

// QueueFullPolicy says what OnEmit does when the Batch queue is full.
type QueueFullPolicy uint8

const (
	// QueueFullBlock makes the emitting goroutine wait for room, at most
	// the block timeout (WithBlockTimeout), then drops the new record. The
	// default: a burst slows the application briefly instead of losing
	// logs, and a stuck exporter cannot hang it. Once records have waited
	// two timeouts without a single one leaving the queue, the exporter is
	// making no progress (a Collector down for minutes): later records are
	// dropped at once, counted, rather than each stalling its goroutine for
	// the timeout, until a record leaves the queue. An exporter that is
	// only slow (one export longer than the timeout) does not trip it.
	QueueFullBlock QueueFullPolicy = iota
	// QueueFullDropNewest drops the record being emitted at once.
	QueueFullDropNewest
	// QueueFullDropOldest drops the oldest queued record that is not being
	// exported, as the SDK's BatchProcessor does, and keeps the new one.
	QueueFullDropOldest
)

func (p QueueFullPolicy) String() string {
	switch p {
	case QueueFullBlock:
		return "block"
	case QueueFullDropNewest:
		return "drop_newest"
	case QueueFullDropOldest:
		return "drop_oldest"
	}
	return fmt.Sprintf("QueueFullPolicy(%d)", uint8(p))
}

// Defaults of Batch, the same as the SDK's BatchProcessor where it has the
// setting.
const (
	DefaultMaxQueueSize       = 2048
	DefaultExportInterval     = time.Second
	DefaultExportTimeout      = 30 * time.Second
	DefaultMaxExportBatchSize = 512
	DefaultBlockTimeout       = time.Second
	DefaultMaxRetryBackoff    = 5 * time.Second
	// DefaultMaxRetryElapsedTime is the Collector's exporterhelper
	// default, and the delivery engine's: long enough for a Collector
	// restart or a rolling update, short enough that a batch the receiver
	// will never take does not hold the queue for long.
	DefaultMaxRetryElapsedTime = 5 * time.Minute
)

// Environment variables Batch reads, with the SDK's precedence: an option
// given a positive value wins, then the variable, then the default.
// Durations are in milliseconds, as the OpenTelemetry specification says.
const (
	EnvMaxQueueSize       = "OTEL_BLRP_MAX_QUEUE_SIZE"
	EnvScheduleDelay      = "OTEL_BLRP_SCHEDULE_DELAY"
	EnvExportTimeout      = "OTEL_BLRP_EXPORT_TIMEOUT"
	EnvMaxExportBatchSize = "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"
	// EnvOnQueueFull is block, drop_oldest or drop_newest: the setting
	// proposed in the OpenTelemetry specification discussion.
	EnvOnQueueFull = "OTEL_BLRP_ON_QUEUE_FULL"
)

// BatchOption configures a Batch.
type BatchOption interface{ applyBatch(*batchConfig) }

type batchOption func(*batchConfig)

func (f batchOption) applyBatch(c *batchConfig) { f(c) }

type batchConfig struct {
	maxQueue     int
	interval     time.Duration
	timeout      time.Duration
	batchSize    int
	policy       QueueFullPolicy
	policySet    bool
	blockTimeout time.Duration
	maxBackoff   time.Duration
	maxRetryTime time.Duration
	maxRecord    int
	meter        metric.MeterProvider
	onError      func(error)
	name         string
}

// WithMaxQueueSize bounds the records waiting for export, those being
// exported or retried included. Zero or negative keeps the default
// (OTEL_BLRP_MAX_QUEUE_SIZE, else 2048).
func WithMaxQueueSize(n int) BatchOption { return batchOption(func(c *batchConfig) { c.maxQueue = n }) }

// WithExportInterval sets the longest a record waits before its batch is
// exported. The interval runs only while records wait, so a short one
// (10 ms in front of stdout or files: what a kill -9 loses, see
// docs/spool.md) costs nothing while the application is idle. Zero or
// negative keeps the default (OTEL_BLRP_SCHEDULE_DELAY, else 1s).
func WithExportInterval(d time.Duration) BatchOption {
	return batchOption(func(c *batchConfig) { c.interval = d })
}

// WithExportTimeout bounds each call to the exporter's Export. Zero or
// negative keeps the default (OTEL_BLRP_EXPORT_TIMEOUT, else 30s).
func WithExportTimeout(d time.Duration) BatchOption {
	return batchOption(func(c *batchConfig) { c.timeout = d })
}

// WithMaxExportBatchSize sets how many records one Export carries at most
// (never more than the queue size). Zero or negative keeps the default
// (OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, else 512).
func WithMaxExportBatchSize(n int) BatchOption {
	return batchOption(func(c *batchConfig) { c.batchSize = n })
}

// WithQueueFullPolicy sets what happens to a record emitted while the
// queue is full. The default is OTEL_BLRP_ON_QUEUE_FULL, else
// QueueFullBlock. Every dropped record is counted and reported.
func WithQueueFullPolicy(p QueueFullPolicy) BatchOption {
	return batchOption(func(c *batchConfig) { c.policy, c.policySet = p, true })
}

// WithBlockTimeout bounds how long QueueFullBlock makes the emitting
// goroutine wait for room (and never longer than its context). Zero or
// negative keeps the default, 1s.
func WithBlockTimeout(d time.Duration) BatchOption {
	return batchOption(func(c *batchConfig) { c.blockTimeout = d })
}

// WithMaxRetryBackoff caps the wait between attempts to export a batch the
// exporter refused. Zero or negative keeps the default, 5s.
func WithMaxRetryBackoff(d time.Duration) BatchOption {
	return batchOption(func(c *batchConfig) { c.maxBackoff = d })
}

// WithMaxRetryElapsedTime bounds how long a failing batch is retried
// without any of it being exported. A batch that fails twice is tried in
// halves, and halves of those, so only a single record is ever given up:
// one that still fails alone once this long has passed since the last
// progress (and after at least three attempts alone). It is counted as
// lost (error.type export_failed), reported, and the rest is exported.
// Without a bound, a record the receiver refuses for good with an error
// that does not say so (the way otlploghttp returns a 400) would hold back
// every record after it for as long as the process runs. Zero or negative
// keeps the default, 5 minutes.
func WithMaxRetryElapsedTime(d time.Duration) BatchOption {
	return batchOption(func(c *batchConfig) { c.maxRetryTime = d })
}

// WithMaxRecordBytes sets the size a record the receiver keeps refusing is
// cut to. A record that has failed alone three times and encodes (as
// OTLP/JSON, resource and scope included) to more than n bytes has its
// strings shortened until it fits, is marked with fapilog.truncated and
// fapilog.original_bytes, and is tried again at once, instead of holding
// back every record behind it for the retry budget. Set it below the
// receiver's limit on a request or an entry when that is under 1 MiB. A
// record is cut once: if it still fails, it takes the usual retry path.
// A limit below what the record's resource and scope alone encode to
// cannot be met; the cut then leaves only the body's cut mark and no
// attributes. Zero or negative keeps the default, 1 MiB: nginx's default request
// body limit, and the longest line our file exporters write.
func WithMaxRecordBytes(n int) BatchOption {
	return batchOption(func(c *batchConfig) { c.maxRecord = n })
}

// WithBatchMeterProvider sets where the processor's self-metrics go. The
// default is the global MeterProvider.
func WithBatchMeterProvider(mp metric.MeterProvider) BatchOption {
	return batchOption(func(c *batchConfig) { c.meter = mp })
}

// WithBatchErrorHandler receives export failures and drop reports (drops
// coalesced to one report a second). The default is otel.Handle.
func WithBatchErrorHandler(f func(error)) BatchOption {
	return batchOption(func(c *batchConfig) { c.onError = f })
}

// WithBatchName names the processor in errors and in the
// otel.component.name metric attribute. The default is
// "batching_log_processor/N", N counting processors in the process.
func WithBatchName(name string) BatchOption {
	return batchOption(func(c *batchConfig) { c.name = name })
}

func newBatchConfig(opts []BatchOption) batchConfig {
	var c batchConfig
	for _, o := range opts {
		o.applyBatch(&c)
	}
	c.maxQueue = resolveInt(c.maxQueue, EnvMaxQueueSize, DefaultMaxQueueSize)
	c.interval = resolveDuration(c.interval, EnvScheduleDelay, DefaultExportInterval)
	c.timeout = resolveDuration(c.timeout, EnvExportTimeout, DefaultExportTimeout)
	c.batchSize = min(resolveInt(c.batchSize, EnvMaxExportBatchSize, DefaultMaxExportBatchSize), c.maxQueue)
	if !c.policySet {
		c.policy = QueueFullBlock
		if v, ok := os.LookupEnv(EnvOnQueueFull); ok {
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "block":
			case "drop_newest":
				c.policy = QueueFullDropNewest
			case "drop_oldest":
				c.policy = QueueFullDropOldest
			default:
				otel.Handle(fmt.Errorf("processor: %s=%q is not block, drop_oldest or drop_newest; using block", EnvOnQueueFull, v))
			}
		}
	}
	if c.blockTimeout <= 0 {
		c.blockTimeout = DefaultBlockTimeout
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = DefaultMaxRetryBackoff
	}
	if c.maxRetryTime <= 0 {
		c.maxRetryTime = DefaultMaxRetryElapsedTime
	}
	if c.maxRecord <= 0 {
		c.maxRecord = encoding.MaxEntryBytes
	}
	if c.meter == nil {
		c.meter = otel.GetMeterProvider()
	}
	if c.onError == nil {
		c.onError = otel.Handle
	}
	return c
}

func resolveInt(v int, env string, def int) int {
	if v > 0 {
		return v
	}
	if s, ok := os.LookupEnv(env); ok {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err == nil && n > 0 {
			return n
		}
		otel.Handle(fmt.Errorf("processor: %s=%q is not a positive integer; using %d", env, s, def))
	}
	return def
}

func resolveDuration(v time.Duration, env string, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	if s, ok := os.LookupEnv(env); ok {
		ms, err := strconv.Atoi(strings.TrimSpace(s))
		if err == nil && ms > 0 {
			// More milliseconds than a Duration holds would wrap
			// negative: a timeout that has always expired.
			return time.Duration(min(int64(ms), math.MaxInt64/int64(time.Millisecond))) * time.Millisecond
		}
		otel.Handle(fmt.Errorf("processor: %s=%q is not a positive number of milliseconds; using %v", env, s, def))
	}
	return def
}
