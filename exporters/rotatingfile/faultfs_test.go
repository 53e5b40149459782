package rotatingfile

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// faultFS wraps the real file system and injects the faults the issue
// lists: a full disk, refused opens, a stalled disk. It counts syncs.
type faultFS struct {
	osFS
	mu       sync.Mutex
	writeErr error         // returned by every file Write while set
	partial  bool          // a failing write first writes half its bytes
	openErr  error         // returned by OpenFile while set
	stall    chan struct{} // Write blocks until it is closed
	syncs    atomic.Int32
}

func (f *faultFS) OpenFile(name string, flag int, perm os.FileMode) (file, error) {
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

func (f *faultFS) set(fn func(*faultFS)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *faultFS) diskFull() (heal func()) {
	f.set(func(f *faultFS) { f.writeErr, f.partial = syscall.ENOSPC, true })
	return func() { f.set(func(f *faultFS) { f.writeErr, f.partial = nil, false }) }
}

func (f *faultFS) stallWrites() (resume func()) {
	ch := make(chan struct{})
	f.set(func(f *faultFS) { f.stall = ch })
	return func() {
		f.set(func(f *faultFS) { f.stall = nil })
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
	f.fs.syncs.Add(1)
	return f.file.Sync()
}
