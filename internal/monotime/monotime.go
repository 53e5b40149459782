// Package monotime reads the monotonic clock alone, for hot paths that only
// measure how long something took: time.Now reads the wall clock as well,
// and on a virtual machine each clock read can cost tens of nanoseconds,
// several times per Export on the line sinks' path.
package monotime

import "time"

// epoch has a monotonic reading, so time.Since(epoch) reads the monotonic
// clock only.
var epoch = time.Now()

// Now is the time elapsed on the monotonic clock since the package was
// initialised: only differences between two values mean anything. It
// never goes backwards, whatever the wall clock does.
func Now() time.Duration { return time.Since(epoch) }
