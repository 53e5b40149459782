package errlimit_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/fapilog/fapilog-otel/internal/errlimit"
)

func Example() {
	r := errlimit.New(func(err error) { fmt.Println("reported:", err) }, time.Minute)
	full := errors.New("no space left on device")
	for range 1000 { // a write loop against a full disk
		r.Report(full)
	}
	r.Close() // the sink stops: what was held is reported
	// Output:
	// reported: no space left on device
	// reported: failures held back: 999 failures since the previous report (at most one per 1m0s); the latest: no space left on device
}
