//go:build !unix

package spool

import (
	"errors"
	"os"
)

// lockDir: without flock there is no lock that the system releases when a
// process dies, and a lock file left by a crash would stop every later
// start. The spool is not offered here.
func lockDir(string) (*os.File, error) {
	return nil, errors.New("spool: not supported on this platform (it needs flock)")
}

func syncDir(string) error { return nil }
