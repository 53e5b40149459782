//go:build unix

package shutdown

import (
	"os"
	"os/signal"
	"syscall"
	"time"
)

// exit ends the process the way sig would have without a handler: the
// default disposition is restored and the signal sent again, so a parent
// sees "killed by SIGTERM" (shell status 143), not an ordinary exit.
func exit(sig os.Signal) {
	s, ok := sig.(syscall.Signal)
	if !ok {
		os.Exit(1)
	}
	signal.Reset(s)
	_ = syscall.Kill(os.Getpid(), s)
	// Delivery to ourselves is immediate unless the signal is blocked in
	// this thread; give it a moment, then exit with the status a shell
	// would report.
	time.Sleep(time.Second)
	os.Exit(128 + int(s))
}
