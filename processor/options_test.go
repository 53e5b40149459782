package processor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"
)

func redacted(t *testing.T, r *Redact, kvs ...attribute.KeyValue) map[string]string {
	t.Helper()
	rec := logtest.RecordFactory{Body: attribute.StringValue("m"), Attributes: kvs}.NewRecord()
	require.NoError(t, r.OnEmit(context.Background(), &rec))
	out := map[string]string{}
	rec.WalkAttributes(func(kv attribute.KeyValue) bool {
		out[string(kv.Key)] = kv.Value.AsString()
		return true
	})
	return out
}

func TestRedactWithKeysReplacesTheList(t *testing.T) {
	got := redacted(t, NewRedact(WithKeys("ssn")),
		attribute.String("SSN", "123"), attribute.String("password", "hunter2"))
	assert.Equal(t, "***", got["SSN"], "keys match case-insensitively")
	assert.Equal(t, "hunter2", got["password"], "WithKeys replaces the default list")
}

func TestRedactWithExtraKeysAddsToTheList(t *testing.T) {
	got := redacted(t, NewRedact(WithExtraKeys("ssn")),
		attribute.String("ssn", "123"), attribute.String("password", "hunter2"), attribute.String("plain", "v"))
	assert.Equal(t, "***", got["ssn"])
	assert.Equal(t, "***", got["password"], "the defaults stay")
	assert.Equal(t, "v", got["plain"])
}

func TestRedactWithoutURLCredentials(t *testing.T) {
	const u = "https://user:pw@example.test/path"
	masked := redacted(t, NewRedact(), attribute.String("url", u))
	assert.NotContains(t, masked["url"], "pw", "credentials masked by default")
	kept := redacted(t, NewRedact(WithoutURLCredentials()), attribute.String("url", u))
	assert.Equal(t, u, kept["url"])
}

// WithFlushTimeout bounds each triggered flush; WithFlushErrorHandler hears
// the flush that ran out of time.
func TestFlushOnSeverityTimeoutAndErrorHandler(t *testing.T) {
	c := &counter{flushGate: make(chan struct{})}
	defer close(c.flushGate)
	var mu sync.Mutex
	var errs []error
	p := NewFlushOnSeverity(c, WithFlushTimeout(20*time.Millisecond),
		WithFlushErrorHandler(func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }),
		WithFlushWait(5*time.Second))
	r := sev(log.SeverityError)
	start := time.Now()
	require.NoError(t, p.OnEmit(context.Background(), &r))
	assert.Less(t, time.Since(start), 2*time.Second, "the triggered flush ended at its 20ms timeout, not the 5s wait")
	require.NoError(t, p.Shutdown(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, errs, 1)
	assert.True(t, errors.Is(errs[0], context.DeadlineExceeded))
}

var _ sdklog.Processor = (*FlushOnSeverity)(nil)

// panicFlusher panics in ForceFlush.
type panicFlusher struct{ counter }

func (*panicFlusher) ForceFlush(context.Context) error { panic("flush bug") }

// A wrapped processor whose ForceFlush panics does not end the program
// from FlushOnSeverity's goroutine: the panic reaches the error handler,
// and the next triggered flush runs as usual.
func TestFlushOnSeverityContainsPanickingFlush(t *testing.T) {
	var mu sync.Mutex
	var errs []error
	p := NewFlushOnSeverity(&panicFlusher{},
		WithFlushErrorHandler(func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }),
		WithFlushWait(5*time.Second))
	for range 2 {
		r := sev(log.SeverityError)
		require.NoError(t, p.OnEmit(context.Background(), &r)) // waits for its flush
	}
	require.NoError(t, p.Shutdown(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, errs, 2)
	assert.ErrorContains(t, errs[0], "panicked: flush bug")
}
