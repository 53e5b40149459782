package testrace_test

import (
	"testing"

	"github.com/fapilog/fapilog-otel/internal/testrace"
)

// Allocation tests skip themselves under -race.
func Example() {
	_ = func(t *testing.T) {
		if testrace.Enabled {
			t.Skip("the race detector randomises sync.Pool")
		}
	}
}
