package spool

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkAppend measures entries into the spool: batches of 512
// envelope-sized (600-byte) entries per Append, a seal per batch, no fsync
// (SyncOnFlush with no flush: what Write costs). MB/s counts entry bytes;
// the target is at least 100 MB/s.
func BenchmarkAppend(b *testing.B) {
	s, _, err := Open(Config{Dir: b.TempDir(), MaxBytes: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	entry := make([]byte, 600)
	for i := range entry {
		entry[i] = 'a' + byte(i%26)
	}
	batch := make([][]byte, 512)
	for i := range batch {
		batch[i] = entry
	}
	b.SetBytes(int64(len(entry) * len(batch)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := s.Append(batch); err != nil {
			b.Fatal(err)
		}
		sb, err := s.Seal(strconv.Itoa(n))
		if err != nil {
			b.Fatal(err)
		}
		n++
		if err := s.Ack(sb); err != nil { // keep the disk use flat
			b.Fatal(err)
		}
	}
}

// BenchmarkRecover measures Open on a spool left full by an earlier
// process: FAPILOG_SPOOL_RECOVER_BYTES of undelivered batches (default
// 64 MiB; the target is 1 GiB in under 2 s). One operation is one Open,
// up to the moment the first batch could be sent.
func BenchmarkRecover(b *testing.B) {
	size := int64(64 << 20)
	if v, err := strconv.ParseInt(os.Getenv("FAPILOG_SPOOL_RECOVER_BYTES"), 10, 64); err == nil && v > 0 {
		size = v
	}
	dir := b.TempDir()
	s, _, err := Open(Config{Dir: dir, MaxBytes: 2 * size})
	if err != nil {
		b.Fatal(err)
	}
	entry := make([]byte, 600)
	batch := make([][]byte, 512)
	for i := range batch {
		batch[i] = entry
	}
	for i := 0; s.Bytes() < size; i++ {
		if err := s.Append(batch); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Seal(fmt.Sprint(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	var batches int
	start := time.Now()
	for b.Loop() {
		s, rec, err := Open(Config{Dir: dir, MaxBytes: 2 * size})
		if err != nil {
			b.Fatal(err)
		}
		batches = len(rec)
		s.abandon()
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/open")
	b.ReportMetric(float64(batches), "batches")
}
