package spool

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseFrame: any bytes; parseFrame never panics, never returns a
// frame whose checksum fails (re-encoding what it returns gives back the
// same bytes), and resync always ends.
func FuzzParseFrame(f *testing.F) {
	f.Add(appendFrame(nil, kindEntry, []byte(`{"a":1}`)))
	f.Add(appendSeal(nil, "key", 3, 1))
	f.Add([]byte{magic, kindEntry, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, payload, size, err := parseFrame(b)
		if err == nil {
			if !bytes.Equal(appendFrame(nil, kind, payload), b[:size]) {
				t.Fatalf("accepted a frame that does not re-encode to itself")
			}
			if kind == kindSeal {
				parseSeal(payload)
			}
		}
		if j := resync(b); j >= len(b) {
			t.Fatalf("resync returned %d past %d bytes", j, len(b))
		}
	})
}

// FuzzOpen: a segment holding any bytes; Open never fails or panics, every
// batch it returns can be read, and no entry read back fails its checksum
// (Read only returns frames that parse).
func FuzzOpen(f *testing.F) {
	good := appendFrame(nil, kindEntry, []byte(`{"a":1}`))
	good = appendSeal(good, "k", 1, 1)
	f.Add(good)
	f.Add(append(bytes.Clone(good), good[:7]...))
	f.Add([]byte("not a spool at all"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segName(0)), b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, batches, err := Open(Config{Dir: dir})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.abandon()
		for _, bt := range batches {
			es, _, _, err := s.Read(bt, nil)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if len(es) > bt.N {
				t.Fatalf("read %d entries of a batch of %d", len(es), bt.N)
			}
		}
	})
}
