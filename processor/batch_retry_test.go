package processor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The retry backoff grows with a lone record's attempts, not with the
// halving: each halving step waits at most the second interval (200ms),
// however many steps came before, while a lone record's waits double up to
// the limit. (docs/flush.md: "Halving steps wait only the first backoff
// intervals".)
func TestRetrierBackoffGrowsWithTheLoneRecordOnly(t *testing.T) {
	ceiling := func(r retrier, limit time.Duration) (most time.Duration) {
		for range 200 {
			most = max(most, r.backoff(limit))
		}
		return most
	}
	var r retrier
	for range 12 { // a batch of 2,048 halved down to one record
		assert.True(t, r.retry(64, time.Hour))
	}
	assert.LessOrEqual(t, ceiling(r, time.Hour), 201*time.Millisecond, "a halving step waited like an outage")
	for range 4 {
		assert.True(t, r.retry(1, time.Hour))
	}
	assert.Greater(t, ceiling(r, time.Hour), 201*time.Millisecond, "a lone record's waits did not grow")
	assert.LessOrEqual(t, ceiling(r, time.Hour), 3201*time.Millisecond, "100ms doubled for the two halvings and four lone attempts, at most")
	assert.LessOrEqual(t, ceiling(r, 5*time.Millisecond), 6*time.Millisecond, "the limit bounds every wait")
}
