package processor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/log"
)

// Zero and negative values keep the documented defaults.
func TestZeroValuesKeepDefaults(t *testing.T) {
	p := NewFlushOnSeverity(&counter{}, WithFlushTimeout(0), WithFlushErrorHandler(nil), WithFlushTimeout(-time.Second))
	assert.Equal(t, 5*time.Second, p.timeout)
	r := sev(log.SeverityError)
	require.NoError(t, p.OnEmit(context.Background(), &r), "a nil error handler must not be called")
	require.NoError(t, p.Shutdown(context.Background()))

	red := NewRedact(WithLimits(RedactLimits{MaxKeys: -1}))
	assert.Equal(t, 16, red.maxDepth)
	assert.Equal(t, 1024, red.maxKeys)
	red = NewRedact(WithLimits(RedactLimits{MaxDepth: 3}))
	assert.Equal(t, 3, red.maxDepth)
	assert.Equal(t, 1024, red.maxKeys)

	b := newBatchConfig([]BatchOption{WithBlockTimeout(0), WithMaxRetryBackoff(-1), WithMaxRetryElapsedTime(-1), WithBatchErrorHandler(nil), WithBatchMeterProvider(nil)})
	assert.Equal(t, DefaultBlockTimeout, b.blockTimeout)
	assert.Equal(t, DefaultMaxRetryBackoff, b.maxBackoff)
	assert.Equal(t, DefaultMaxRetryElapsedTime, b.maxRetryTime)
	assert.NotNil(t, b.onError)
	assert.NotNil(t, b.meter)
}
