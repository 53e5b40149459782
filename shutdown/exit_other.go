//go:build !unix

package shutdown

import "os"

// exit ends the process; without POSIX signals there is no default
// disposition to restore, so it exits with status 1.
func exit(os.Signal) { os.Exit(1) }
