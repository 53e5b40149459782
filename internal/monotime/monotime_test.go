package monotime

import (
	"testing"
	"time"
)

// Now advances with the monotonic clock and never goes backwards.
func TestNowAdvances(t *testing.T) {
	a := Now()
	start := time.Now()
	time.Sleep(2 * time.Millisecond) // the subject: time passing
	b := Now()
	if b < a {
		t.Fatalf("went backwards: %v then %v", a, b)
	}
	if b-a < 2*time.Millisecond || b-a > time.Since(start)+time.Millisecond {
		t.Fatalf("advanced %v over a %v sleep", b-a, time.Since(start))
	}
}

func BenchmarkNow(b *testing.B) {
	for b.Loop() {
		_ = Now()
	}
}

func BenchmarkTimeNow(b *testing.B) {
	for b.Loop() {
		_ = time.Now()
	}
}
