package httppost

import (
	"math"
	"math/big"
	"net/http"
	"testing"
	"time"
)

// FuzzRetryAfter feeds arbitrary header values to RetryAfter, a parser of
// what any receiver (or anything pretending to be one) sends: it must never
// panic or give a negative wait, and a count of seconds must come back as
// that many seconds, or as the largest Duration when it holds more.
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, seed := range []string{"", "0", "7", "-3", "+5", "5s", "99999999999", "9223372036",
		"184467440737095516160", now.Add(time.Hour).Format(http.TimeFormat),
		"Fri, 31 Dec 9999 23:59:59 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"} {
		f.Add(seed)
	}
	limit := new(big.Int).SetInt64(math.MaxInt64 / int64(time.Second))
	f.Fuzz(func(t *testing.T, v string) {
		d := RetryAfter(v, now)
		if d < 0 {
			t.Fatalf("RetryAfter(%q) = %v, a negative wait", v, d)
		}
		if v == "" || v[0] < '0' || v[0] > '9' {
			return
		}
		secs, ok := new(big.Int).SetString(v, 10)
		switch {
		case !ok:
			if d != 0 {
				t.Fatalf("RetryAfter(%q) = %v for a value that is not all digits", v, d)
			}
		case secs.Cmp(limit) > 0:
			if d != math.MaxInt64 {
				t.Fatalf("RetryAfter(%q) = %v, want the largest Duration", v, d)
			}
		case d != time.Duration(secs.Int64())*time.Second:
			t.Fatalf("RetryAfter(%q) = %v, want %s seconds", v, d, secs)
		}
	})
}
