package encoding

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPlain8MatchesByteTest(t *testing.T) {
	ref := func(b string) bool {
		for i := range 8 {
			if c := b[i]; c >= 0x80 || !safeASCII[c] {
				return false
			}
		}
		return true
	}
	var b [8]byte
	// Every byte value in every position, among plain neighbours.
	for pos := range 8 {
		for c := range 256 {
			for i := range b {
				b[i] = 'a'
			}
			b[pos] = byte(c)
			if got, want := plain8(string(b[:])), ref(string(b[:])); got != want {
				t.Fatalf("plain8(%q) = %v, want %v", b, got, want)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		if got, want := plain8(string(b[:])), ref(string(b[:])); got != want {
			t.Fatalf("plain8(%q) = %v, want %v", b, got, want)
		}
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain ascii text long enough", "a\"b\\c\nd\te\x00\x1f\x7f", "é日本\u2028\u2029x", "\xff\xfe", "12345678\"12345678"} {
		var got string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if want := string([]rune(s)); got != want {
			t.Fatalf("round trip of %q = %q", s, got)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0", 1.5: "1.5", -2: "-2", 1e21: "1e+21", 1e-7: "1e-7", 123456789: "123456789",
		math.NaN(): `"NaN"`, math.Inf(1): `"Infinity"`, math.Inf(-1): `"-Infinity"`,
	} {
		if got := string(appendFloat(nil, f)); got != want {
			t.Errorf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

// plain agrees with the byte-by-byte definition for every byte value at
// every position of strings of every length up to 24 (the word-at-a-time
// checks, the overlapping tail and the short-string loop all included).
func TestPlainMatchesBytewise(t *testing.T) {
	bytewise := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
				return false
			}
		}
		return true
	}
	for n := 1; n <= 24; n++ {
		base := []byte("a~ Z0}a~ Z0}a~ Z0}a~ Z0}"[:n])
		for pos := range n {
			for c := range 256 {
				b := append([]byte(nil), base...)
				b[pos] = byte(c)
				s := string(b)
				if got, want := plain(s), bytewise(s); got != want {
					t.Fatalf("plain(%q) = %v, want %v", s, got, want)
				}
			}
		}
	}
	if !plain("") {
		t.Fatal(`plain("") = false`)
	}
}

// appendString's one-pass copy writes what the byte-at-a-time escaper
// writes, for every byte value at every position of strings up to 24 bytes,
// after a prefix, into buffers with no room to spare (the copy that checks
// first) and with room (the one-step copy of short strings).
func TestAppendStringMatchesEscaper(t *testing.T) {
	for n := 0; n <= 24; n++ {
		base := []byte("a~ Z0}a~ Z0}a~ Z0}a~ Z0}"[:n])
		for pos := range max(n, 1) {
			for c := range 256 {
				b := append([]byte(nil), base...)
				if n > 0 {
					b[pos] = byte(c)
				}
				s := string(b)
				want := string(appendEscaped([]byte("{"), s))
				for _, room := range []int{len(s) % 3, 64} {
					dst := append(make([]byte, 0, 1+room), '{')
					if got := string(appendString(dst, s)); got != want {
						t.Fatalf("appendString(%q) with room %d = %q, want %q", s, room, got, want)
					}
				}
			}
		}
	}
}

func TestAppendIntMatchesStrconv(t *testing.T) {
	for _, v := range []int64{0, 1, 9, 10, 42, 99, 100, 200, 999, 1000, 5120, 9999, 10000, 123456789, -1, -99, -10000, math.MinInt64, math.MaxInt64} {
		assert.Equal(t, strconv.FormatInt(v, 10), string(appendInt(nil, v)), "%d", v)
	}
}

// appendFloat's short-decimal path writes what strconv writes, for decimals
// with up to three places, for floats that only look like them after
// rounding, and for random bit patterns.
func TestAppendFloatMatchesStrconv(t *testing.T) {
	check := func(f float64) {
		t.Helper()
		want := strconv.AppendFloat(nil, f, 'f', -1, 64)
		if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) || math.IsNaN(f) || math.IsInf(f, 0) {
			return // written in exponent form or as a string, not by this path
		}
		if got := appendFloat(nil, f); string(got) != string(want) {
			t.Fatalf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
	for _, f := range []float64{0.1, 0.2, 0.1 + 0.2, 0.3, 1e-3, 0.001, 0.005, 0.025, 12.5, 123.456, 2.675, 1.005,
		9007199254740.991, 9007199254740.992, 1 << 53, 1<<53 - 1, 4503599627370495.5, 1e15, 0.999, 1.001, 100.1, -0.5, -12.25, 7} {
		check(f)
		check(-f)
		check(math.Nextafter(f, 0))
		check(math.Nextafter(f, math.Inf(1)))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		k := r.IntN(4)
		m := r.Int64N(1 << 53)
		check(float64(m) / [...]float64{1, 10, 100, 1000}[k])
		check(float64(r.Int64N(100_000)) / [...]float64{1, 10, 100, 1000}[k])
		check(math.Float64frombits(r.Uint64()))
	}
}
