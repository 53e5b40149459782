package rotatingfile

import (
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
)

// faultFS wraps the real file system and injects the faults the issue
// lists: a full disk, refused opens, a stalled disk. It counts syncs.
type faultFS struct {
	osFS
	mu        sync.Mutex
	writeErr  error         // returned by every file Write while set
	partial   bool          // a failing write first writes half its bytes
	openErr   error         // returned by OpenFile while set
	stall     chan struct{} // Write blocks until it is closed
	stallSync chan struct{} // Sync blocks until it is closed
	syncs     atomic.Int32
	opens     atomic.Int32 // OpenFile calls, failed ones included
	// beforeRotatedSync runs first in SyncFile, the fsync of a rotated
	// file: it may block, or remove the file.
	beforeRotatedSync func(name string)
	rotatedSyncErr    error    // returned by SyncFile while set
	rotatedSynced     []string // rotated files fsync'd, in order
	writes            []int    // the size of each file Write, in order
}

func (f *faultFS) OpenFile(name string, flag int, perm os.FileMode) (file, error) {
	f.opens.Add(1)
	f.mu.Lock()
	err := f.openErr
	f.mu.Unlock()
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	real, err := f.osFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{file: real, fs: f}, nil
}

// SyncFile is how the janitor (or a Flush) syncs a rotated file.
func (f *faultFS) SyncFile(name string) error {
	f.mu.Lock()
	hook := f.beforeRotatedSync
	f.mu.Unlock()
	if hook != nil {
		hook(name)
	}
	f.waitSync()
	f.mu.Lock()
	err := f.rotatedSyncErr
	f.mu.Unlock()
	if err != nil {
		return &os.PathError{Op: "sync", Path: name, Err: err}
	}
	if err := f.osFS.SyncFile(name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rotatedSynced = append(f.rotatedSynced, name)
	return nil
}

// waitSync waits while syncs are stalled, then counts the sync: every
// fsync, of the active file or a rotated one, goes through it.
func (f *faultFS) waitSync() {
	f.mu.Lock()
	stall := f.stallSync
	f.mu.Unlock()
	if stall != nil {
		<-stall
	}
	f.syncs.Add(1)
}

func (f *faultFS) set(fn func(*faultFS)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *faultFS) diskFull() (heal func()) {
	f.set(func(f *faultFS) { f.writeErr, f.partial = syscall.ENOSPC, true })
	return func() { f.set(func(f *faultFS) { f.writeErr, f.partial = nil, false }) }
}

func (f *faultFS) stallWrites() (resume func()) { return f.stallOn(&f.stall) }
func (f *faultFS) stallSyncs() (resume func())  { return f.stallOn(&f.stallSync) }

// stallOn sets gate, one of f's stall channels, until resume is called.
func (f *faultFS) stallOn(gate *chan struct{}) (resume func()) {
	ch := make(chan struct{})
	f.set(func(*faultFS) { *gate = ch })
	return func() {
		f.set(func(*faultFS) { *gate = nil })
		close(ch)
	}
}

type faultFile struct {
	file
	fs *faultFS
}

func (f *faultFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	stall, werr, partial := f.fs.stall, f.fs.writeErr, f.fs.partial
	f.fs.writes = append(f.fs.writes, len(p))
	f.fs.mu.Unlock()
	if stall != nil {
		<-stall
	}
	if werr != nil {
		n := 0
		if partial && len(p) > 1 {
			n, _ = f.file.Write(p[:len(p)/2])
		}
		return n, &os.PathError{Op: "write", Path: "file", Err: werr}
	}
	return f.file.Write(p)
}

func (f *faultFile) Sync() error {
	f.fs.waitSync()
	return f.file.Sync()
}

// synced returns the rotated files fsync'd so far.
func (f *faultFS) synced() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.rotatedSynced)
}

// SyscallConn passes the real file's through, so locks work on files the
// fault file system opened.
func (f *faultFile) SyscallConn() (syscall.RawConn, error) {
	sc, ok := f.file.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return nil, syscall.EINVAL
	}
	return sc.SyscallConn()
}
