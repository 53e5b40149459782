package webhook

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary headers and bodies to Verify: it must never
// panic, must accept what we signed, and must reject any change to the
// body, id or timestamp.
func FuzzVerify(f *testing.F) {
	f.Add("msg_1", int64(1_800_000_000), []byte(`{"n":1}`), "v1,abc", []byte("key"))
	f.Add("", int64(-1), []byte{}, "v1,", []byte{0})
	f.Add("msg 2", int64(1<<62), []byte("\xff\x00"), "v2,x v1,!!!", []byte("k"))
	f.Fuzz(func(t *testing.T, id string, ts int64, body []byte, sigHeader string, key []byte) {
		if len(key) == 0 {
			key = []byte{1}
		}
		sec := RawSecret(key)
		now := time.Unix(ts, 0)
		clock := verifyOptionFunc(func(c *verifyConfig) { c.now = func() time.Time { return now } })

		// Arbitrary headers: no panic, and no acceptance of garbage
		// unless it happens to be a valid signature.
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		h.Set(HeaderSignature, sigHeader)
		_ = Verify(h, body, []Secret{sec}, clock)
		_ = Verify(h, body, []Secret{sec}, clock, WithVerifyScheme(SchemeFapilog))

		if id == "" {
			return
		}
		h.Set(HeaderSignature, standardSignature([]Secret{sec}, id, ts, body))
		if err := Verify(h, body, []Secret{sec}, clock); err != nil {
			t.Fatalf("our own signature rejected: %v", err)
		}
		if err := Verify(h, append(append([]byte{}, body...), 'x'), []Secret{sec}, clock); err == nil {
			t.Fatal("a changed body verified")
		}
		h.Set(HeaderID, id+"x")
		if err := Verify(h, body, []Secret{sec}, clock); err == nil {
			t.Fatal("a changed id verified")
		}
	})
}
