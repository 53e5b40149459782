package monotime_test

import (
	"fmt"
	"time"

	"github.com/fapilog/fapilog-otel/internal/monotime"
)

// Measuring a wait with the monotonic clock alone.
func ExampleNow() {
	start := monotime.Now()
	time.Sleep(time.Millisecond)
	fmt.Println(monotime.Now()-start >= time.Millisecond)
	// Output: true
}
