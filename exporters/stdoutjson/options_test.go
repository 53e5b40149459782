package stdoutjson_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/internal/testdest"
)

// acceptedWhileStalled writes 15-byte lines (16 with the newline) to a
// stalled writer until one is refused, and returns how many were taken.
func acceptedWhileStalled(t *testing.T, maxBytes int) int {
	t.Helper()
	dest := testdest.New()
	s, err := stdoutjson.NewSink(stdoutjson.WithWriter(dest), stdoutjson.WithBuffer(delivery.Buffer{Size: 16, MaxBytes: maxBytes}))
	require.NoError(t, err)
	resume := dest.Stall()
	n := 0
	for ; n < 10000; n++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		err := s.Write(ctx, []byte("0123456789abcde"))
		cancel()
		if err != nil {
			break
		}
	}
	resume()
	_ = s.Stop(context.Background())
	return n
}

// WithBuffer's MaxBytes is the bounded-memory promise: at most that many
// bytes wait for a stalled writer, then Write refuses.
func TestWithBufferBoundsMemory(t *testing.T) {
	assert.Equal(t, 4, acceptedWhileStalled(t, 64), "64 bytes: four 16-byte lines")
	assert.Equal(t, 8, acceptedWhileStalled(t, 128))
	assert.Equal(t, 2, acceptedWhileStalled(t, 1), "never less than two buffers")
	assert.Equal(t, 10000, acceptedWhileStalled(t, 0), "the default (4 MiB) takes them all")
}
