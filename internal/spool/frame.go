package spool

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// A frame is one record in a segment:
//
//	magic  1 byte   0xF5
//	kind   1 byte   kindEntry or kindSeal
//	length 4 bytes  little-endian, of the payload
//	crc    4 bytes  little-endian CRC-32C of kind, length and payload
//	payload
//
// The checksum covers the header too, so a corrupted length is caught
// before it is trusted. A seal's payload is the batch's creation time
// (8 bytes, Unix nanoseconds), its entry count (4 bytes) and its key.
const (
	magic       = 0xF5
	headerSize  = 10
	kindEntry   = 1
	kindSeal    = 2
	sealFixed   = 12
	maxKeyBytes = 256
	// MaxEntryBytes bounds one entry, so a corrupt length can never make a
	// reader allocate gigabytes.
	MaxEntryBytes = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	errShort   = errors.New("short frame")
	errCorrupt = errors.New("corrupt frame")
)

// appendFrame appends a frame of kind with payload to dst. The header is
// built in place: a local array handed to crc32 would escape, one
// allocation per entry.
func appendFrame(dst []byte, kind byte, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, magic, kind, 0, 0, 0, 0, 0, 0, 0, 0)
	h := dst[start : start+headerSize]
	binary.LittleEndian.PutUint32(h[2:6], uint32(len(payload)))
	crc := crc32.Update(0, castagnoli, h[1:6])
	crc = crc32.Update(crc, castagnoli, payload)
	binary.LittleEndian.PutUint32(h[6:10], crc)
	return append(dst, payload...)
}

// appendSeal appends a seal frame for a batch of n entries.
func appendSeal(dst []byte, key string, n int, created int64) []byte {
	var p [sealFixed + maxKeyBytes]byte
	binary.LittleEndian.PutUint64(p[0:8], uint64(created))
	binary.LittleEndian.PutUint32(p[8:12], uint32(n))
	k := copy(p[sealFixed:], key)
	return appendFrame(dst, kindSeal, p[:sealFixed+k])
}

// frameSize is the bytes a frame with a payload of n bytes takes.
func frameSize(n int) int { return headerSize + n }

// parseFrame reads the frame at the start of b. It returns errShort when b
// ends inside the frame (a torn tail, or a read that must go on), and
// errCorrupt when the bytes are not a valid frame. It never returns a frame
// whose checksum fails.
func parseFrame(b []byte) (kind byte, payload []byte, size int, err error) {
	if len(b) < headerSize {
		return 0, nil, 0, errShort
	}
	if b[0] != magic || (b[1] != kindEntry && b[1] != kindSeal) {
		return 0, nil, 0, errCorrupt
	}
	n := binary.LittleEndian.Uint32(b[2:6])
	if n > MaxEntryBytes || (b[1] == kindSeal && (n < sealFixed || n > sealFixed+maxKeyBytes)) {
		return 0, nil, 0, errCorrupt
	}
	size = headerSize + int(n)
	if len(b) < size {
		return 0, nil, 0, errShort
	}
	crc := crc32.Update(0, castagnoli, b[1:6])
	crc = crc32.Update(crc, castagnoli, b[headerSize:size])
	if crc != binary.LittleEndian.Uint32(b[6:10]) {
		return 0, nil, 0, errCorrupt
	}
	return b[1], b[headerSize:size], size, nil
}

// parseSeal reads a seal frame's payload.
func parseSeal(p []byte) (key string, n int, created int64) {
	return string(p[sealFixed:]), int(binary.LittleEndian.Uint32(p[8:12])), int64(binary.LittleEndian.Uint64(p[0:8]))
}

// resync returns the offset of the next valid frame in b after a corrupt
// one at its start, or -1 if there is none.
func resync(b []byte) int {
	for i := 1; i < len(b); i++ {
		if b[i] != magic {
			continue
		}
		if _, _, _, err := parseFrame(b[i:]); err == nil {
			return i
		}
	}
	return -1
}
