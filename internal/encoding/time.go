package encoding

import (
	"math"
	"time"
)

var (
	minTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
	// maxUnixNano is the last instant UnixNano can represent (in 2262).
	maxUnixNano = time.Unix(0, math.MaxInt64)
)

// secondCache holds the text of the last second formatted: records arrive
// in bursts within the same second, and the calendar arithmetic behind
// "YYYY-MM-DDTHH:MM:SS" is most of a timestamp's cost. Each pooled state
// keeps one per timestamp field, so a record whose time and observed time
// fall in different seconds (a replayed or backdated record) does not make
// them evict each other, and a cache needs neither atomics nor allocation.
type secondCache struct {
	unix  int64
	valid bool
	text  [21]byte // `"YYYY-MM-DDTHH:MM:SS.`
}

// appendTimestamp is appendRFC3339Millis with the per-second cache c.
func appendTimestamp(dst []byte, t time.Time, c *secondCache) []byte {
	unix := t.Unix()
	if !c.valid || c.unix != unix {
		if t.Before(minTime) || t.After(maxTime) {
			return appendRFC3339Millis(dst, t)
		}
		b := append(c.text[:0], '"')
		b = appendSecond(b, t.UTC())
		_ = append(b, '.')
		c.unix, c.valid = unix, true
	}
	dst = append(dst, c.text[:]...)
	ms := t.Nanosecond() / int(time.Millisecond)
	p := digitPairs[ms%100]
	tail := [5]byte{byte('0' + ms/100), p[0], p[1], 'Z', '"'}
	return append(dst, tail[:]...)
}

// digitPairs holds the two decimal digits of 0 to 99.
var digitPairs = func() (t [100][2]byte) {
	for i := range t {
		t[i] = [2]byte{byte('0' + i/10), byte('0' + i%10)}
	}
	return t
}()

// appendRFC3339Millis writes t as a quoted RFC 3339 UTC timestamp with exactly
// three fractional digits and a Z suffix, the form the envelope schema's
// pattern demands. Times outside years 0000-9999 are clamped so the pattern
// always holds.
func appendRFC3339Millis(dst []byte, t time.Time) []byte {
	t = t.UTC()
	if t.Before(minTime) {
		t = minTime
	} else if t.After(maxTime) {
		t = maxTime
	}
	dst = append(dst, '"')
	dst = appendSecond(dst, t)
	dst = append(dst, '.')
	dst = appendDigits(dst, t.Nanosecond()/int(time.Millisecond), 3)
	return append(dst, 'Z', '"')
}

// appendSecond writes t's UTC "YYYY-MM-DDTHH:MM:SS".
func appendSecond(dst []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	dst = appendDigits(dst, year, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, minute, 2)
	dst = append(dst, ':')
	return appendDigits(dst, sec, 2)
}

// appendDigits writes the non-negative v zero-padded to width digits.
func appendDigits(dst []byte, v, width int) []byte {
	var tmp [8]byte
	for i := width - 1; i >= 0; i-- {
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, tmp[:width]...)
}

// unixNano returns t as nanoseconds since the Unix epoch for OTLP's fixed64
// fields: zero for the zero time, and clamped to the representable, unsigned
// range otherwise.
func unixNano(t time.Time) uint64 {
	if t.IsZero() || t.Unix() < 0 {
		return 0
	}
	if t.After(maxUnixNano) {
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}
