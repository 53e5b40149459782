package spool_test

import (
	"fmt"
	"os"

	"github.com/fapilog/fapilog-otel/internal/spool"
)

// A process appends entries and seals them into a batch before sending
// it; it dies before the batch is acknowledged. The next process to open
// the directory gets the batch back, with its key, to send again.
func Example() {
	dir, err := os.MkdirTemp("", "spool-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	s, _, err := spool.Open(spool.Config{Dir: dir})
	if err != nil {
		panic(err)
	}
	if err := s.Append([][]byte{[]byte(`{"n":1}`), []byte(`{"n":2}`)}); err != nil {
		panic(err)
	}
	if _, err := s.Seal("batch-1"); err != nil {
		panic(err)
	}
	_ = s.Close() // the sender never saw a 2xx: nothing was acknowledged

	s, left, err := spool.Open(spool.Config{Dir: dir})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	for _, b := range left {
		entries, _, _, err := s.Read(b, nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %q\n", b.Key, entries)
		if err := s.Ack(b); err != nil { // the receiver answered 2xx
			panic(err)
		}
	}
	// Output: batch-1: ["{\"n\":1}" "{\"n\":2}"]
}
