// Package spool is the network sinks' crash-safe queue: a segmented,
// append-only log of entries in a directory, with a durable cursor past
// what has been delivered.
//
// Entries are appended with one write per call, so once Append returns
// they are in the kernel and survive the process being killed; fsync
// follows the sync policy. A batch is sealed with a frame that carries its
// idempotency key before it is first sent, so a later process sends it
// again with the same key. Every frame has its length and a CRC-32C: on
// Open, a torn tail is cut off and a corrupt frame is skipped to the next
// valid one and counted, never trusted and never a reason to fail.
//
// The cursor is written (to one of two slots, so a torn write never loses
// the previous one) before the segments it covers are removed, so a crash
// at any point leaves a state Open recovers from: at worst a delivered batch is sent again,
// which its key lets the receiver recognise. A directory belongs to one
// process at a time (an OS file lock).
package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SyncPolicy says when appended entries are fsync'd.
type SyncPolicy uint8

const (
	// SyncOnFlush fsyncs at every Sync call (the engine calls it when a
	// flush ends without everything delivered) and at Close. The default.
	SyncOnFlush SyncPolicy = iota
	// SyncInterval fsyncs every Config.SyncEvery while there is new data.
	SyncInterval
	// SyncAlways fsyncs every Append and Seal before it returns.
	SyncAlways
	// SyncNever leaves it to the kernel.
	SyncNever
)

// Config configures a spool.
type Config struct {
	Dir          string
	MaxBytes     int64         // disk bound, over every live segment; default 1 GiB
	SegmentBytes int64         // a segment is closed once it holds this much; default min(64 MiB, MaxBytes/8)
	Sync         SyncPolicy    // default SyncOnFlush
	SyncEvery    time.Duration // with SyncInterval; default 100ms
	// NewKey gives the key of a batch found unsealed at Open (its entries
	// were appended, and it was never sent).
	NewKey func() string
	// OnError hears of failures in the background (an interval fsync).
	OnError func(error)
	// BeforeWrite, if set, is called before every write to a segment or
	// the cursor, with the spool's lock held, naming the step ("append",
	// "seal", "cursor"). Tests make it block to play a stalled disk.
	BeforeWrite func(step string)
}

// Batch is a sealed batch on disk: entries in [Start, End) of segment Seg,
// followed by (and End includes) their seal frame.
type Batch struct {
	Key     string
	N       int // valid entries
	Created time.Time
	Seg     uint64
	Start   int64
	End     int64
	// Lost counts entries found corrupt at Open (they are skipped).
	Lost int
}

// Stats describe the spool's use of the disk.
type Stats struct {
	Bytes    int64 // in every live segment, delivered or not
	Segments int
}

// Spool is safe for concurrent use.
type Spool struct {
	cfg     Config
	key     string       // cfg.Dir in openHere
	closing *atomic.Bool // openHere's value for key; see Closing
	lock    *os.File

	mu      sync.Mutex
	segs    []uint64            // live segments, oldest first; the last is active
	sizes   map[uint64]int64    // bytes per live segment
	readers map[uint64]*os.File // opened for ReadAt
	// unsynced are closed segments written since their last fsync.
	unsynced map[uint64]*os.File
	active   *os.File
	// total and nsegs mirror the live segments for Bytes and Stats,
	// which read them without s.mu: a write stalled on a slow disk,
	// which holds s.mu, must not stall health checks and metrics.
	total   atomic.Int64
	nsegs   atomic.Int64
	group   int64 // offset in the active segment where unsealed entries start
	grouped int   // unsealed entries
	groupAt time.Time
	dirty   bool // appended since the last fsync
	cursor  pos
	// cursorF is the cursor file, open once; cursorSeq numbers its writes.
	cursorF   *os.File
	cursorSeq uint64
	closed    bool
	frameBuf  []byte
	damaged   []error // found at Open; see Damaged

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	// syncing counts fsyncs running without the lock; a segment is closed
	// only once they are done.
	syncing sync.WaitGroup
}

type pos struct {
	seg uint64
	off int64
}

// crashHook, set by tests, is called between the steps of an operation; it
// panics to simulate the process dying there.
var crashHook func(step string)

func crash(step string) {
	if crashHook != nil {
		crashHook(step)
	}
}

// ErrInUse is wrapped by Open's error when another process holds the
// directory: a wait, as when a rolling update overlaps two processes.
var ErrInUse = errors.New("in use by another process")

// ErrOpenHere is wrapped by Open's error when a Spool of this process has
// the directory open and is not closing: a mistake (two exporters given one
// directory), which no wait settles. A Spool that is closing (Closing was
// called) makes Open fail with ErrInUse instead, as another process would:
// an exporter rebuilt in the same process (a configuration reload) while
// the old one still closes waits for it.
var ErrOpenHere = errors.New("already open in this process: one spool directory per exporter")

// openHere holds the directories this process's spools have open, by
// absolute path, each with its spool's closing flag. The lock alone cannot
// tell this process from another: a second lock from the same process is
// refused like any other.
var openHere sync.Map // string → *atomic.Bool

// Open opens (creating it, mode 0700) the spool in cfg.Dir, takes its lock,
// and recovers what an earlier process left: the sealed batches not yet
// delivered, oldest first, ready to send again with their keys. Entries
// appended and never sealed are sealed now with cfg.NewKey.
func Open(cfg Config) (*Spool, []Batch, error) {
	if cfg.Dir == "" {
		return nil, nil, errors.New("spool: no directory")
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 1 << 30
	}
	if cfg.SegmentBytes == 0 {
		// Disk is reclaimed a segment at a time: a segment must be a
		// small part of the bound, or delivered data would fill it.
		cfg.SegmentBytes = min(64<<20, max(cfg.MaxBytes/8, 1<<10))
	}
	if cfg.SyncEvery <= 0 {
		cfg.SyncEvery = 100 * time.Millisecond
	}
	if cfg.NewKey == nil {
		cfg.NewKey = func() string { return strconv.FormatInt(time.Now().UnixNano(), 36) }
	}
	if cfg.OnError == nil {
		cfg.OnError = func(error) {}
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("spool: %w", err)
	}
	key := cfg.Dir
	if abs, err := filepath.Abs(cfg.Dir); err == nil {
		key = abs
	}
	closing := new(atomic.Bool)
	if held, taken := openHere.LoadOrStore(key, closing); taken {
		if held.(*atomic.Bool).Load() {
			return nil, nil, fmt.Errorf("spool: directory %s: closing in this process: %w", cfg.Dir, ErrInUse)
		}
		return nil, nil, fmt.Errorf("spool: directory %s: %w", cfg.Dir, ErrOpenHere)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		openHere.Delete(key)
		return nil, nil, err
	}
	s := &Spool{cfg: cfg, key: key, closing: closing, lock: lock, sizes: map[uint64]int64{}, readers: map[uint64]*os.File{}, unsynced: map[uint64]*os.File{}}
	batches, err := s.recover()
	if err != nil {
		s.abandon()
		return nil, nil, err
	}
	if cfg.Sync == SyncInterval {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.syncLoop()
	}
	return s, batches, nil
}

func segName(n uint64) string { return fmt.Sprintf("%016x.seg", n) }

func (s *Spool) path(name string) string { return filepath.Join(s.cfg.Dir, name) }

// recover lists the segments, drops those the cursor has passed, scans the
// rest, and leaves the last one open for appending.
func (s *Spool) recover() ([]Batch, error) {
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var segs []uint64
	for _, e := range entries {
		// Only what we write is ours: a regular file named exactly as
		// segName names it. Anything else that looks like a segment (a
		// copy named "1.seg", a directory, a link) is left alone; taking
		// it for one would fail every Open, as segName(n) is not its name.
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		n, err := strconv.ParseUint(name, 16, 64)
		if err != nil || segName(n) != e.Name() {
			continue
		}
		segs = append(segs, n)
	}
	slices.Sort(segs)
	cur, ok := s.readCursor()
	if !ok && len(segs) > 0 {
		cur = pos{seg: segs[0]}
	}
	s.cursor = cur
	var live []uint64
	for _, n := range segs {
		if n < cur.seg {
			// Delivered: the cursor moved past it before a crash
			// stopped its removal.
			if err := os.Remove(s.path(segName(n))); err != nil && !os.IsNotExist(err) {
				return nil, fmt.Errorf("spool: %w", err)
			}
			continue
		}
		live = append(live, n)
	}
	var batches []Batch
	setAside := uint64(0) // the last segment set aside, plus one; 0 for none
	for i, n := range live {
		last := i == len(live)-1
		from := int64(0)
		if n == cur.seg {
			from = cur.off
		}
		bs, size, err := s.scan(n, from, last)
		if errors.Is(err, errUnreadable) {
			if err := s.setAside(n, err); err != nil {
				return nil, err
			}
			setAside = n + 1
			continue
		}
		if err != nil {
			return nil, err
		}
		batches = append(batches, bs...)
		s.segs = append(s.segs, n)
		s.nsegs.Store(int64(len(s.segs)))
		s.sizes[n] = size
		s.total.Add(size)
	}
	// A cursor past the end of its segment (power lost the segment's
	// unsynced tail but not the cursor's later write, or the file was
	// cut) is pulled back to the end, on disk too: appends go there, and
	// a cursor left beyond them would have the next process skip them as
	// delivered. (Ack never moves a cursor backwards.)
	if size, live := s.sizes[cur.seg]; live && cur.off > size {
		s.cursor.off = size
		if err := s.writeCursor(s.cursor); err != nil {
			return nil, err
		}
	}
	if len(s.segs) == 0 || setAside > s.segs[len(s.segs)-1] {
		// Appends go to a new segment after the last one set aside,
		// not after whatever tail an older segment has (it was scanned
		// as an older one, its torn tail skipped rather than cut).
		next := max(cur.seg, setAside)
		if ok && setAside == 0 {
			next++
		}
		if err := s.newSegment(next); err != nil {
			return nil, err
		}
		return s.keyUnsealed(batches), nil
	}
	lastSeg := s.segs[len(s.segs)-1]
	f, err := os.OpenFile(s.path(segName(lastSeg)), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s.active = f
	s.group = s.sizes[lastSeg]
	// A trailing batch without its seal was appended and never sent:
	// seal it now, so its key is on disk before its first attempt.
	if k := len(batches); k > 0 && batches[k-1].Key == "" && batches[k-1].Seg == lastSeg {
		b := batches[k-1]
		s.group, s.grouped, s.groupAt = b.Start, b.N+b.Lost, time.Now()
		sealed, err := s.sealLocked(s.cfg.NewKey(), s.groupAt)
		if err != nil {
			return nil, err
		}
		sealed.N, sealed.Lost = b.N, b.Lost
		batches[k-1] = sealed
	}
	return s.keyUnsealed(batches), nil
}

// keyUnsealed gives a key to each batch found unsealed in an older
// segment (only corruption, or a later segment set aside, makes one).
func (s *Spool) keyUnsealed(batches []Batch) []Batch {
	for i := range batches {
		if batches[i].Key == "" {
			batches[i].Key = s.cfg.NewKey()
		}
	}
	return batches
}

// errUnreadable marks a segment that could not be read at Open.
var errUnreadable = errors.New("segment unreadable")

// unreadableSuffix is added to the name of a segment set aside.
const unreadableSuffix = ".unreadable"

// ReadSegment reads a whole segment at Open. Tests, here and in the
// packages above (the package is internal), replace it to play a bad disk.
var ReadSegment = os.ReadFile

// setAside renames segment n, which could not be read (a bad sector, a
// file whose permissions were changed), out of the spool's names, so that
// the exporter still starts and logs go on: its batches cannot be sent,
// which Damaged reports. The file stays for an operator to inspect or
// recover; it no longer counts towards the disk bound, and no new segment
// can take its name. Only when it cannot be renamed either does Open fail.
func (s *Spool) setAside(n uint64, cause error) error {
	name := segName(n)
	if err := os.Rename(s.path(name), s.path(name+unreadableSuffix)); err != nil {
		return fmt.Errorf("%w; setting it aside: %w", cause, err)
	}
	s.damaged = append(s.damaged, fmt.Errorf("%w; its batches cannot be sent; it was set aside as %s", cause, name+unreadableSuffix))
	return nil
}

// Damaged returns what Open found and could not recover: segments set
// aside as unreadable, whose entries are lost in an unknown number.
func (s *Spool) Damaged() []error { return s.damaged }

// scan reads segment n from offset from. In the last segment a torn or
// corrupt tail is cut off; elsewhere a corrupt stretch is skipped to the
// next valid frame. Entries after the last seal come back as a batch
// without a key.
func (s *Spool) scan(n uint64, from int64, last bool) ([]Batch, int64, error) {
	data, err := ReadSegment(s.path(segName(n)))
	if err != nil {
		return nil, 0, fmt.Errorf("spool: %w: %w", errUnreadable, err)
	}
	from = min(from, int64(len(data)))
	var out []Batch
	start, valid, lost := from, 0, 0
	off := from
	var created time.Time
	for off < int64(len(data)) {
		kind, payload, size, err := parseFrame(data[off:])
		if err != nil {
			// A frame that runs past the end is a torn tail only if no
			// valid frame follows; otherwise its length is what is
			// corrupt. (Entries are JSON, which never holds the magic
			// byte, so a frame cannot hide inside another's payload.)
			j := resync(data[off:])
			if j < 0 {
				if last {
					// A torn or corrupt tail: the process died
					// mid-write, or the disk lost it. Cut it off.
					if err == errCorrupt {
						lost++
					}
					if terr := os.Truncate(s.path(segName(n)), off); terr != nil {
						return nil, 0, fmt.Errorf("spool: cutting a torn tail: %w", terr)
					}
					data = data[:off]
					break
				}
				lost++
				off = int64(len(data))
				break
			}
			lost++
			off += int64(j)
			continue
		}
		if kind == kindEntry {
			valid++
			off += int64(size)
			continue
		}
		key, count, createdNs := parseSeal(payload)
		created = time.Unix(0, createdNs)
		off += int64(size)
		out = append(out, Batch{Key: key, N: valid, Created: created, Seg: n, Start: start, End: off,
			Lost: max(count-valid, lost)})
		start, valid, lost = off, 0, 0
	}
	if valid > 0 || lost > 0 {
		out = append(out, Batch{N: valid, Created: time.Now(), Seg: n, Start: start, End: off, Lost: lost})
	}
	return out, int64(len(data)), nil
}

func (s *Spool) newSegment(n uint64) error {
	f, err := os.OpenFile(s.path(segName(n)), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if s.cfg.Sync != SyncNever {
		if err := syncDir(s.cfg.Dir); err != nil {
			_ = f.Close()
			return err
		}
	}
	if s.active != nil {
		if s.dirty && s.cfg.Sync != SyncNever {
			// Not fsync'd now: the next Sync does it, unless the
			// segment is delivered and removed first (a drained
			// spool's segment never needs it).
			s.unsynced[s.segs[len(s.segs)-1]] = s.active
		} else {
			// An fsync running without the lock finishes first (it
			// takes the lock only after it is counted done).
			s.syncing.Wait()
			_ = s.active.Close()
		}
		s.dirty = false
	}
	s.active = f
	s.segs = append(s.segs, n)
	s.nsegs.Store(int64(len(s.segs)))
	s.sizes[n] = 0
	s.group, s.grouped = 0, 0
	return nil
}

// Bytes returns the bytes in every live segment: what the disk bound
// counts. It does not wait for a write in progress.
func (s *Spool) Bytes() int64 { return s.total.Load() }

// Stats returns the spool's disk use. It does not wait for a write in
// progress.
func (s *Spool) Stats() Stats {
	return Stats{Bytes: s.total.Load(), Segments: int(s.nsegs.Load())}
}

// FrameBytes returns what an entry of n bytes adds to Bytes.
func FrameBytes(n int) int64 { return int64(frameSize(n)) }

// SealBytes is the most a batch's seal adds to Bytes: a writer keeping the
// spool under a bound leaves this much room for the seal of the batch it
// is filling.
const SealBytes = headerSize + sealFixed + maxKeyBytes

// Append writes entries to the active segment with one write: when it
// returns nil they are in the kernel. A failed write (a full disk) is cut
// back, so no partial frame stays, and nothing is appended.
func (s *Spool) Append(entries [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("spool: closed")
	}
	buf := s.frameBuf[:0]
	for _, e := range entries {
		buf = appendFrame(buf, kindEntry, e)
	}
	s.frameBuf = buf[:0]
	if len(buf) > 4<<20 {
		s.frameBuf = nil
	}
	if err := s.writeLocked(buf, "append"); err != nil {
		return err
	}
	if s.grouped == 0 {
		s.groupAt = time.Now()
	}
	s.grouped += len(entries)
	return nil
}

// writeLocked appends buf to the active segment, or nothing.
func (s *Spool) writeLocked(buf []byte, step string) error {
	seg := s.segs[len(s.segs)-1]
	size := s.sizes[seg]
	if s.cfg.BeforeWrite != nil {
		s.cfg.BeforeWrite(step)
	}
	crash(step + ".before")
	n, err := writeFile(s.active, buf)
	if err != nil {
		if n > 0 {
			if terr := s.active.Truncate(size); terr != nil {
				// The torn frame stays; Open will cut it. Until
				// then no later frame may follow it.
				s.closed = true
				return fmt.Errorf("spool: %s: %w (and cutting it back: %v)", s.path(segName(seg)), err, terr)
			}
		}
		return fmt.Errorf("spool: %s: %w", s.path(segName(seg)), err)
	}
	crash(step + ".after")
	s.sizes[seg] += int64(len(buf))
	s.total.Add(int64(len(buf)))
	s.dirty = true
	if s.cfg.Sync == SyncAlways {
		if err := s.active.Sync(); err != nil {
			return fmt.Errorf("spool: fsync: %w", err)
		}
		s.dirty = false
	}
	return nil
}

// writeFile is a seam for tests that fill the disk.
var writeFile = func(f *os.File, b []byte) (int, error) { return f.Write(b) }

// Seal closes the batch of entries appended since the last Seal, under
// key: once it returns, the key is in the kernel, and the batch may be
// sent. If the seal frame cannot be written, the batch is still returned
// (without a seal on disk, a later process gives it another key) with the
// error.
func (s *Spool) Seal(key string) (Batch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sealLocked(key, s.groupAt)
}

func (s *Spool) sealLocked(key string, created time.Time) (Batch, error) {
	if len(key) > maxKeyBytes {
		key = key[:maxKeyBytes]
	}
	seg := s.segs[len(s.segs)-1]
	b := Batch{Key: key, N: s.grouped, Created: created, Seg: seg, Start: s.group}
	var err error
	if !s.closed {
		err = s.writeLocked(appendSeal(nil, key, s.grouped, created.UnixNano()), "seal")
	}
	b.End = s.sizes[seg]
	s.group, s.grouped = b.End, 0
	if err == nil && s.sizes[seg] >= s.cfg.SegmentBytes {
		err = s.newSegment(seg + 1)
	}
	return b, err
}

// Read returns the entries of b, read back from disk into buf (grown as
// needed). A frame that no longer checks out is skipped; missing counts
// the entries that were valid at Open or Seal and are not now.
func (s *Spool) Read(b Batch, buf []byte) (entries [][]byte, out []byte, missing int, err error) {
	f, err := s.reader(b.Seg)
	if err != nil {
		return nil, buf, 0, err
	}
	n := int(b.End - b.Start)
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := f.ReadAt(buf, b.Start); err != nil && !(errors.Is(err, io.EOF)) {
		return nil, buf, 0, fmt.Errorf("spool: reading %s: %w", segName(b.Seg), err)
	}
	for off := 0; off < n; {
		kind, payload, size, err := parseFrame(buf[off:])
		if err != nil {
			j := resync(buf[off:])
			if j < 0 {
				break
			}
			off += j
			continue
		}
		if kind == kindEntry {
			entries = append(entries, payload)
		}
		off += size
	}
	return entries, buf, max(b.N-len(entries), 0), nil
}

func (s *Spool) reader(seg uint64) (*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.readers[seg]; f != nil {
		return f, nil
	}
	f, err := os.Open(s.path(segName(seg)))
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s.readers[seg] = f
	return f, nil
}

// Ack records that every batch up to and including b is finished
// (delivered, or given up on and counted): the cursor moves past b, then
// the segments it has passed are removed.
func (s *Spool) Ack(b Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	next := pos{seg: b.Seg, off: b.End}
	if next.seg < s.cursor.seg || (next.seg == s.cursor.seg && next.off <= s.cursor.off) {
		return nil
	}
	if err := s.writeCursor(next); err != nil {
		return err
	}
	s.cursor = next
	for len(s.segs) > 1 && s.segs[0] < next.seg {
		if err := s.removeOldest(); err != nil {
			return err
		}
	}
	if len(s.segs) > 1 && s.segs[0] == next.seg && next.off >= s.sizes[next.seg] {
		return s.removeOldest()
	}
	// Everything is delivered and the active segment is a fair size: start
	// a new one, so this one can go and a drained spool takes no disk.
	if len(s.segs) == 1 && s.grouped == 0 && next.seg == s.segs[0] &&
		next.off >= s.sizes[next.seg] && next.off >= s.cfg.SegmentBytes/4 {
		if err := s.newSegment(next.seg + 1); err != nil {
			return err
		}
		return s.removeOldest()
	}
	return nil
}

func (s *Spool) removeOldest() error {
	n := s.segs[0]
	crash("remove.before")
	if f := s.readers[n]; f != nil {
		_ = f.Close()
		delete(s.readers, n)
	}
	if f := s.unsynced[n]; f != nil { // delivered: no fsync needed
		s.syncing.Wait()
		_ = f.Close()
		delete(s.unsynced, n)
	}
	if err := os.Remove(s.path(segName(n))); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("spool: %w", err)
	}
	crash("remove.after")
	s.total.Add(-s.sizes[n])
	delete(s.sizes, n)
	s.segs = s.segs[1:]
	s.nsegs.Store(int64(len(s.segs)))
	return nil
}

// The cursor file holds two slots, written alternately in place: a write
// torn by a crash damages only the slot being written, and Open takes the
// valid slot with the higher sequence number. Each slot is a sequence
// number, a segment, an offset and a CRC-32C of the three.
const (
	cursorFile = "cursor"
	slotSize   = 28
)

func (s *Spool) writeCursor(p pos) error {
	if s.cursorF == nil {
		f, err := os.OpenFile(s.path(cursorFile), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("spool: cursor: %w", err)
		}
		s.cursorF = f
	}
	s.cursorSeq++
	var b [slotSize]byte
	binary.LittleEndian.PutUint64(b[0:8], s.cursorSeq)
	binary.LittleEndian.PutUint64(b[8:16], p.seg)
	binary.LittleEndian.PutUint64(b[16:24], uint64(p.off))
	binary.LittleEndian.PutUint32(b[24:28], crc32.Checksum(b[:24], castagnoli))
	if s.cfg.BeforeWrite != nil {
		s.cfg.BeforeWrite("cursor")
	}
	crash("cursor.before")
	if _, err := s.cursorF.WriteAt(b[:], int64(s.cursorSeq%2)*slotSize); err != nil {
		return fmt.Errorf("spool: cursor: %w", err)
	}
	crash("cursor.after")
	if s.cfg.Sync == SyncAlways {
		if err := s.cursorF.Sync(); err != nil {
			return fmt.Errorf("spool: cursor: %w", err)
		}
	}
	return nil
}

// readCursor returns the saved cursor, or false when there is none or
// neither slot checks out (then everything left is sent again).
func (s *Spool) readCursor() (pos, bool) {
	b, err := os.ReadFile(s.path(cursorFile))
	if err != nil {
		return pos{}, false
	}
	var best pos
	found := false
	for i := 0; i+slotSize <= len(b) && i < 2*slotSize; i += slotSize {
		slot := b[i : i+slotSize]
		if crc32.Checksum(slot[:24], castagnoli) != binary.LittleEndian.Uint32(slot[24:28]) {
			continue
		}
		seq := binary.LittleEndian.Uint64(slot[0:8])
		if found && seq <= s.cursorSeq {
			continue
		}
		found, s.cursorSeq = true, seq
		best = pos{seg: binary.LittleEndian.Uint64(slot[8:16]), off: int64(binary.LittleEndian.Uint64(slot[16:24]))}
	}
	return best, found
}

// Sync fsyncs the active segment if anything was appended since the last
// fsync (unless the policy is SyncNever). The fsync runs without the lock,
// so appends go on meanwhile.
func (s *Spool) Sync() error {
	s.mu.Lock()
	if (!s.dirty && len(s.unsynced) == 0) || s.closed || s.cfg.Sync == SyncNever {
		s.mu.Unlock()
		return nil
	}
	var files []*os.File
	var done []uint64
	for n, f := range s.unsynced {
		files = append(files, f)
		done = append(done, n)
	}
	activeDirty := s.dirty
	if activeDirty {
		files = append(files, s.active)
	}
	s.dirty = false
	s.syncing.Add(1)
	s.mu.Unlock()
	var errs []error
	for _, f := range files {
		if err := f.Sync(); err != nil {
			errs = append(errs, err)
		}
	}
	s.syncing.Done()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		s.dirty = s.dirty || activeDirty
		return fmt.Errorf("spool: fsync: %w", err)
	}
	for _, n := range done {
		if f := s.unsynced[n]; f != nil {
			_ = f.Close()
			delete(s.unsynced, n)
		}
	}
	return nil
}

func (s *Spool) syncLocked() error {
	if !s.closed && s.cfg.Sync != SyncNever {
		for n, f := range s.unsynced {
			if err := f.Sync(); err != nil {
				return fmt.Errorf("spool: fsync: %w", err)
			}
			_ = f.Close()
			delete(s.unsynced, n)
		}
	}
	if !s.dirty || s.closed || s.cfg.Sync == SyncNever {
		return nil
	}
	if err := s.active.Sync(); err != nil {
		return fmt.Errorf("spool: fsync: %w", err)
	}
	s.dirty = false
	return nil
}

// stopSyncLoop ends the interval fsync goroutine, once, however many
// Close calls race.
func (s *Spool) stopSyncLoop() {
	s.stopOnce.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
	})
}

func (s *Spool) syncLoop() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.SyncEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.Sync(); err != nil {
				s.cfg.OnError(err)
			}
		}
	}
}

// Closing says that the spool's owner has begun to close it: from now on
// an Open of the directory in this process fails with ErrInUse, a wait,
// rather than ErrOpenHere, a mistake. The owner calls it before its final
// flush, which may take as long as its context allows, and may go on in the
// background past it (a stalled disk).
func (s *Spool) Closing() { s.closing.Store(true) }

// Close fsyncs (unless SyncNever), closes every file and releases the
// directory. What was not acknowledged stays for the next Open.
func (s *Spool) Close() error {
	s.stopSyncLoop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed && s.active == nil {
		return nil
	}
	err := s.syncLocked()
	s.closed = true
	s.closeFilesLocked()
	return err
}

func (s *Spool) closeFilesLocked() {
	s.syncing.Wait()
	for n, f := range s.unsynced {
		_ = f.Close()
		delete(s.unsynced, n)
	}
	if s.cursorF != nil {
		_ = s.cursorF.Close()
		s.cursorF = nil
	}
	for n, f := range s.readers {
		_ = f.Close()
		delete(s.readers, n)
	}
	if s.active != nil {
		_ = s.active.Close()
		s.active = nil
	}
	if s.lock != nil {
		// Out of openHere first: an Open that finds the lock free must
		// not find the directory still open here.
		openHere.Delete(s.key)
		_ = s.lock.Close() // releases the lock
		s.lock = nil
	}
}

// abandon closes every file without writing anything: what a crash
// leaves, for tests and for a failed Open.
func (s *Spool) abandon() {
	s.stopSyncLoop()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.closeFilesLocked()
}

// Dirty reports whether something was appended since the last fsync.
func (s *Spool) Dirty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirty
}
