package encoding

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

const hexDigits = "0123456789abcdef"

// safeASCII reports the ASCII bytes that may appear inside a JSON string as
// they are.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s as a quoted JSON string. Invalid UTF-8 becomes
// U+FFFD so that every line stays valid UTF-8, control characters are
// escaped, and U+2028/U+2029 are escaped because JavaScript consumers of NDJSON
// treat them as line terminators.
//
// Nearly every string needs no escaping. A short one (most values and
// names) is checked and copied in one step of at most two overlapping words;
// a longer one is checked a word at a time, then copied. The first word
// that needs work sends the string to appendEscaped.
func appendString(dst []byte, s string) []byte {
	n := len(s)
	start := len(dst)
	if n > 16 || cap(dst)-start < 18 {
		if !plain(s) {
			return appendEscaped(dst, s)
		}
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	// Room for two quotes and sixteen bytes; the stores below may write
	// past the string's end, inside that room, and the length is set to
	// the exact end after.
	out := dst[start : start+18]
	out[0] = '"'
	switch {
	case n >= 8:
		lo, hi := load64(s), load64(s[n-8:])
		if !plainWord(lo) || !plainWord(hi) {
			return appendEscaped(dst, s)
		}
		binary.LittleEndian.PutUint64(out[1:], lo)
		binary.LittleEndian.PutUint64(out[n-7:], hi)
	case n >= 4:
		lo, hi := load32(s), load32(s[n-4:])
		if !plainWord(uint64(lo) | uint64(hi)<<32) {
			return appendEscaped(dst, s)
		}
		binary.LittleEndian.PutUint32(out[1:], lo)
		binary.LittleEndian.PutUint32(out[n-3:], hi)
	case n > 0:
		if !plain(s) {
			return appendEscaped(dst, s)
		}
		out[1], out[1+n/2], out[n] = s[0], s[n/2], s[n-1]
	}
	out[n+1] = '"'
	return dst[:start+n+2]
}

// load64 and load32 read the first eight or four bytes of s, which the
// caller has checked are there.
func load64(s string) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s), 8))
}

func load32(s string) uint32 {
	return binary.LittleEndian.Uint32(unsafe.Slice(unsafe.StringData(s), 4))
}

// plain reports whether s needs no escaping at all, a word at a time: eight
// bytes per step and the last eight overlapping what was checked; a string
// of four to seven bytes as two overlapping four-byte halves; shorter ones
// as the word of their bytes, padded with a plain letter.
func plain(s string) bool {
	n := len(s)
	switch {
	case n >= 8:
		for i := 0; i+8 <= n; i += 8 {
			if !plain8(s[i : i+8]) {
				return false
			}
		}
		return n%8 == 0 || plain8(s[n-8:])
	case n >= 4:
		return plainWord(uint64(load32(s)) | uint64(load32(s[n-4:]))<<32)
	case n > 0:
		// Positions 0, n/2 and n-1 cover every byte of up to three.
		return plainWord(uint64(s[0]) | uint64(s[n/2])<<8 | uint64(s[n-1])<<16 | (lsb*'a')&^0xFFFFFF)
	}
	return true
}

// appendEscaped is appendString for strings that need escaping or
// validation somewhere.
func appendEscaped(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain ASCII bytes at a time: most of a log line is.
		for i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedASCII(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plain8 reports whether the first eight bytes of b are ASCII that needs
// no escaping. The load is binary.LittleEndian's, one instruction where
// unaligned loads are allowed; the string is only read, never written.
func plain8(b string) bool { return plainWord(load64(b)) }

// plainWord reports whether all eight bytes of x are ASCII that needs no
// escaping: none below 0x20, none >= 0x80, no '"' and no '\\'. A byte's
// high bit in x-0x20 (per byte) or in the classic "has zero byte" test of
// x xor the quote or the backslash flags it; a borrow can only flag more.
func plainWord(x uint64) bool {
	q, bs := x^(lsb*'"'), x^(lsb*'\\')
	return (x|(x-lsb*0x20)|((q-lsb)&^q)|((bs-lsb)&^bs))&msb == 0
}

func appendEscapedASCII(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	default:
		return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
	}
}

// appendUpperString appends s upper-cased, with the same escaping as
// appendString, without allocating an upper-cased copy first.
func appendUpperString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('a' <= c && c <= 'z') {
			return appendString(dst, upperSlow(s))
		}
	}
	return appendString(dst, s)
}

// upperSlow is only reached for severity texts that need case mapping, which
// the SDK's own bridges never produce (they send upper-case names).
func upperSlow(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if 'a' <= r && r <= 'z' {
			b = append(b, byte(r-'a'+'A'))
			continue
		}
		b = utf8.AppendRune(b, unicode.ToUpper(r))
	}
	return string(b)
}

// appendFloat writes f as a JSON number. NaN and infinities have no JSON
// number form; they are written as the strings protojson uses ("NaN",
// "Infinity", "-Infinity") in both formats, so a consumer needs one rule.
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	if b, ok := appendShortDecimal(dst, f); ok {
		return b
	}
	// The same cut-over as encoding/json: plain notation for human-sized
	// numbers, exponent notation for the rest.
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Turn e-09 into e-9.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// pow10 are the scales appendShortDecimal tries.
var pow10 = [...]float64{1, 10, 100, 1000}

// appendShortDecimal writes f when it is exactly m/10^k for an integer m
// below 2^53 and k of at most three: durations, ratios and prices mostly
// are. Then m's digits with a point k places from the right are the
// shortest text that reads back as f (any shorter decimal is at least
// 10^-k away, more than half of f's spacing), which is what
// strconv.AppendFloat(f, 'f', -1) writes, at a fraction of its cost. It
// reports false for every other f, and for zero (whose sign strconv keeps).
func appendShortDecimal(dst []byte, f float64) ([]byte, bool) {
	const limit = 1 << 53
	a := math.Abs(f)
	if a == 0 || a >= limit/1000 {
		return dst, false
	}
	for k, p := range pow10 {
		m := a * p
		// The product is exact only when the fused multiply-add finds no
		// remainder; m's being whole alone could come from rounding.
		if m != math.Trunc(m) || math.FMA(a, p, -m) != 0 {
			continue
		}
		if f < 0 {
			dst = append(dst, '-')
		}
		u := uint64(m)
		if k == 0 {
			return appendInt(dst, int64(u)), true
		}
		scale := uint64(p)
		dst = appendInt(dst, int64(u/scale))
		dst = append(dst, '.')
		frac := u % scale
		for s := scale / 10; s > frac && s > 1; s /= 10 {
			dst = append(dst, '0')
		}
		return appendInt(dst, int64(frac)), true
	}
	return dst, false
}

func appendBase64(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendKey appends "key": with the key escaped like any string.
func appendKey(dst []byte, key string) []byte {
	dst = appendString(dst, key)
	return append(dst, ':')
}

// appendComma writes the separator a new member or element needs: none right
// after an opening brace or bracket, a comma otherwise. Deriving it from the
// buffer keeps the encoders free of "first" flags.
func appendComma(dst []byte) []byte {
	if n := len(dst); n > 0 && dst[n-1] != '{' && dst[n-1] != '[' && dst[n-1] != ':' {
		return append(dst, ',')
	}
	return dst
}
