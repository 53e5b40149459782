//go:build !unix

package rotatingfile

import "os"

// Elsewhere (Windows) opens do not follow symbolic links the way Unix's do,
// and there is no cheap access check: the probe at New and the first write
// find what is wrong.
const noFollow = 0

func writable(string) error { return nil }

// syncOpenFlag opens a file to fsync it: Windows flushes only through a
// handle with write access.
const syncOpenFlag = os.O_WRONLY

// noBlock: no FIFO can be planted at a file's path here.
const noBlock = 0

// linked: a file's link count is not at hand here, so a file moved away is
// taken for deleted, and let go.
func linked(file) bool { return false }

// lockActive, lockedElsewhere, inUse: no lock here that the system drops
// when a process dies, so processes sharing a directory are not protected
// from each other (one process per directory and prefix).
func lockActive(file) bool      { return false }
func lockedElsewhere(file) bool { return false }
func inUse(string) bool         { return false }
