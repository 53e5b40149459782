package rotatingfile

import (
	"io"
	"os"
)

// fileSystem is the seam between the rotation logic and the operating
// system, so tests can inject disk-full, permission and removal faults
// without needing them for real.
type fileSystem interface {
	OpenFile(name string, flag int, perm os.FileMode) (file, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
	MkdirAll(path string, perm os.FileMode) error
	Stat(name string) (os.FileInfo, error)
	ReadDir(name string) ([]os.DirEntry, error)
	Symlink(oldname, newname string) error
	// SyncFile fsyncs the file at name through a handle of its own.
	SyncFile(name string) error
}

// file is the part of *os.File the rotator uses.
type file interface {
	io.Reader
	io.ReaderAt
	io.Writer
	Sync() error
	Close() error
	Stat() (os.FileInfo, error)
	Truncate(size int64) error
}

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (file, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (osFS) Rename(oldpath, newpath string) error         { return os.Rename(oldpath, newpath) }
func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) MkdirAll(path string, perm os.FileMode) error { return os.MkdirAll(path, perm) }
func (osFS) Stat(name string) (os.FileInfo, error)        { return os.Stat(name) }
func (osFS) ReadDir(name string) ([]os.DirEntry, error)   { return os.ReadDir(name) }
func (osFS) Symlink(oldname, newname string) error        { return os.Symlink(oldname, newname) }

// SyncFile opens name only to fsync it: fsync covers the file, whichever
// handle wrote it. The handle is read-only where fsync allows that (a file
// made read-only by WithFileMode can still be synced), writable elsewhere.
func (osFS) SyncFile(name string) error {
	f, err := os.OpenFile(name, syncOpenFlag|noFollow, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
