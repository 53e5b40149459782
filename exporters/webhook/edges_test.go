package webhook

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/internal/testdest"
)

// An empty key makes every forgery valid: anyone can compute its HMAC.
func TestVerifyRefusesEmptyKeys(t *testing.T) {
	now := time.Now()
	body := []byte(`{"forged":true}`)
	h := http.Header{}
	h.Set(HeaderID, "msg_1")
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	// Signed with an empty key, as an attacker would.
	h.Set(HeaderSignature, standardSignature([]Secret{{}}, "msg_1", now.Unix(), body))
	for _, secrets := range [][]Secret{nil, {}, {{}}, {RawSecret(nil)}, {RawSecret([]byte{})}} {
		assert.ErrorIs(t, Verify(h, body, secrets), ErrNoSecret, "%d secrets", len(secrets))
	}
	fh := http.Header{}
	fh.Set(HeaderFapilogTime, strconv.FormatInt(now.Unix(), 10))
	fh.Set(HeaderFapilogSig256, fapilogSignature(Secret{}, now.Unix(), body))
	assert.ErrorIs(t, Verify(fh, body, []Secret{{}}, WithVerifyScheme(SchemeFapilog)), ErrNoSecret)
}

// The window forgets ids in insertion order without scanning them all.
func TestReplayWindowExpiresInOrder(t *testing.T) {
	w := NewReplayWindow(time.Minute)
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 10000 {
		assert.False(t, w.Seen(strconv.Itoa(i), t0.Add(time.Duration(i)*time.Millisecond)))
	}
	assert.Equal(t, 10000, w.Len())
	assert.True(t, w.Seen("9999", t0.Add(10*time.Second)))
	// Past the window of the first 5,000 only.
	later := t0.Add(time.Minute + 5*time.Second)
	assert.False(t, w.Seen("new", later))
	assert.Equal(t, 5001, w.Len(), "expired ids are forgotten")
	assert.True(t, w.Seen("7000", later))
	assert.False(t, w.Seen("10", later), "an expired id is new again")
}

func BenchmarkReplayWindowSeen(b *testing.B) {
	w := NewReplayWindow(5 * time.Minute)
	now := time.Unix(1_800_000_000, 0)
	for i := range 100000 {
		w.Seen("pre"+strconv.Itoa(i), now)
	}
	b.ResetTimer()
	for i := range b.N {
		w.Seen(strconv.Itoa(i), now)
	}
}

// A redirect is a failed delivery, and the signed request never reaches
// another host, where it could be replayed to the real receiver within the
// tolerance window.
func TestRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	s, err := NewSink(WithEndpoint(redirector.URL), WithSecrets(mustSecret(t, secretA)),
		fast(delivery.Options{Client: &http.Client{}}))
	require.NoError(t, err)
	require.NoError(t, s.Write(context.Background(), []byte(`{"a":1}`)))
	err = s.Flush(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redirect to "+other.URL)
	require.NoError(t, s.Stop(context.Background()))
	assert.Zero(t, elsewhere.Load())
}

func TestInvalidHeaderFailsAtConstruction(t *testing.T) {
	_, err := NewSink(WithEndpoint("http://127.0.0.1:1"), WithSecrets(RawSecret([]byte("k"))), WithDelivery(delivery.Options{Headers: http.Header{"X-A": {"x\r\ny"}}}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "webhook: WithDelivery: Headers")
}

func TestWithHTTPClientSendsThroughIt(t *testing.T) {
	h := newHook(t)
	tr := &testdest.CountingTransport{}
	s := newTestSink(t, h, fast(delivery.Options{Client: &http.Client{Transport: tr}}))
	send(t, s, `{"a":1}`)
	require.NoError(t, s.Stop(context.Background()))
	assert.EqualValues(t, 1, tr.N.Load())
}

func TestZeroToleranceKeepsDefault(t *testing.T) {
	c := verifyConfig{tolerance: DefaultTolerance}
	WithTolerance(0).apply(&c)
	WithTolerance(-time.Second).apply(&c)
	assert.Equal(t, DefaultTolerance, c.tolerance)
}

// Framing tells the engine what a batch's body adds to its entries (a
// JSON array): never less, so a body stays within Batch.MaxBytes.
func TestFramingCoversTheBody(t *testing.T) {
	for _, always := range []bool{false, true} {
		c := newConfig([]Option{WithSecrets(RawSecret([]byte("k")))})
		c.alwaysArray = always
		r := &request{cfg: c}
		perEntry, perBatch := r.Framing()
		var entries [][]byte
		sum := 0
		for n := 1; n <= 5; n++ {
			e := fmt.Appendf(nil, `{"n":%d}`, n)
			entries = append(entries, e)
			sum += len(e)
			body, err := r.Encode(nil, http.Header{}, "key", entries)
			require.NoError(t, err)
			assert.LessOrEqual(t, len(body), sum+n*perEntry+perBatch, "%d entries", n)
		}
	}
}
