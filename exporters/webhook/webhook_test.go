package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otel/bridge/sinktest"
	"github.com/fapilog/fapilog-otel/exporters/delivery"
	"github.com/fapilog/fapilog-otel/internal/testdest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	secretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretB = "whsec_c2Vjb25kIHNlY3JldCBmb3Igcm90YXRpb24="
)

func mustSecret(t *testing.T, s string) Secret {
	t.Helper()
	sec, err := ParseSecret(s)
	require.NoError(t, err)
	return sec
}

type received struct {
	header http.Header
	body   []byte
}

// hook is a loopback webhook receiver that keeps every request and answers
// with what status says.
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []received
	status func(n int) int
	gate   testdest.Gate
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		n := len(h.reqs)
		h.reqs = append(h.reqs, received{header: r.Header.Clone(), body: body})
		status := h.status
		h.mu.Unlock()
		if h.gate.Wait(r.Context()) != nil {
			return
		}
		code := http.StatusOK
		if status != nil {
			code = status(n)
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(func() {
		h.gate.Open()
		h.srv.Close()
	})
	return h
}

func (h *hook) requests() []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]received(nil), h.reqs...)
}

// accepted splits the 2xx-answered bodies into entries.
func (h *hook) accepted() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out [][]byte
	for i, r := range h.reqs {
		if h.status != nil && h.status(i)/100 != 2 {
			continue
		}
		var arr []json.RawMessage
		if json.Unmarshal(r.body, &arr) == nil {
			for _, e := range arr {
				out = append(out, []byte(e))
			}
		} else {
			out = append(out, r.body)
		}
	}
	return out
}

var fastRetry = delivery.Retry{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsedTime: 5 * time.Second}

// fast returns d with quick retries unless d sets its own.
func fast(d delivery.Options) Option {
	if d.Retry == (delivery.Retry{}) {
		d.Retry = fastRetry
	}
	return WithDelivery(d)
}

func newTestSink(t *testing.T, h *hook, opts ...Option) *delivery.Sink {
	t.Helper()
	s, err := NewSink(append([]Option{WithEndpoint(h.srv.URL), WithSecrets(mustSecret(t, secretA)), fast(delivery.Options{})}, opts...)...)
	require.NoError(t, err)
	return s
}

func send(t *testing.T, s *delivery.Sink, entries ...string) {
	t.Helper()
	for _, e := range entries {
		require.NoError(t, s.Write(context.Background(), []byte(e)))
	}
	require.NoError(t, s.Flush(context.Background()))
}

func TestStandardWebhooksVerifiedIndependently(t *testing.T) {
	h := newHook(t)
	s := newTestSink(t, h, WithSecrets(mustSecret(t, secretB)))
	send(t, s, `{"n":1}`)
	send(t, s, `{"n":2}`, `{"n":3}`)
	require.NoError(t, s.Stop(context.Background()))

	reqs := h.requests()
	require.Len(t, reqs, 2)
	assert.JSONEq(t, `{"n":1}`, string(reqs[0].body), "a single entry is one object")
	assert.JSONEq(t, `[{"n":2},{"n":3}]`, string(reqs[1].body), "several are an array")
	for _, r := range reqs {
		// The reference library, holding either secret of the rotation.
		for _, secret := range []string{secretA, secretB} {
			wh, err := standardwebhooks.NewWebhook(secret)
			require.NoError(t, err)
			assert.NoError(t, wh.Verify(r.body, r.header), "reference verification with %s", secret[:9])
		}
		// And a plain HMAC written here.
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secretA, "whsec_"))
		m := hmac.New(sha256.New, key)
		m.Write([]byte(r.header.Get("webhook-id") + "." + r.header.Get("webhook-timestamp") + "." + string(r.body)))
		assert.Contains(t, r.header.Get("webhook-signature"), "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
		// And our own verifier.
		assert.NoError(t, Verify(r.header, r.body, []Secret{mustSecret(t, secretB)}))
	}
	assert.NotEqual(t, reqs[0].header.Get("webhook-id"), reqs[1].header.Get("webhook-id"))
}

func TestFapilogScheme(t *testing.T) {
	h := newHook(t)
	raw := []byte("fapilog-shared-secret")
	s, err := NewSink(WithEndpoint(h.srv.URL), WithSecrets(RawSecret(raw)), WithScheme(SchemeFapilog), fast(delivery.Options{}))
	require.NoError(t, err)
	send(t, s, `{"n":1}`)
	require.NoError(t, s.Stop(context.Background()))
	r := h.requests()[0]
	ts := r.header.Get("X-Fapilog-Timestamp")
	_, err = strconv.ParseInt(ts, 10, 64)
	require.NoError(t, err)
	m := hmac.New(sha256.New, raw)
	m.Write([]byte(ts + "." + string(r.body)))
	assert.Equal(t, "sha256="+hex.EncodeToString(m.Sum(nil)), r.header.Get("X-Fapilog-Signature-256"))
	assert.NoError(t, Verify(r.header, r.body, []Secret{RawSecret(raw)}, WithVerifyScheme(SchemeFapilog)))
}

func TestIDReusedOnRetry(t *testing.T) {
	h := newHook(t)
	h.status = func(n int) int {
		if n == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	s := newTestSink(t, h)
	send(t, s, `{"n":1}`)
	require.NoError(t, s.Stop(context.Background()))
	reqs := h.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, reqs[0].header.Get("webhook-id"), reqs[1].header.Get("webhook-id"))
	assert.Equal(t, [][]byte{[]byte(`{"n":1}`)}, h.accepted(), "delivered exactly once")
}

func TestGoneDisablesEndpoint(t *testing.T) {
	var reports []error
	var mu sync.Mutex
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() }))
	defer otel.SetErrorHandler(prev)

	h := newHook(t)
	h.status = func(int) int { return http.StatusGone }
	s := newTestSink(t, h)
	require.NoError(t, s.Write(context.Background(), []byte(`{"n":1}`)))
	err := s.Flush(context.Background())
	assert.ErrorIs(t, err, delivery.ErrGone)
	for range 3 {
		require.NoError(t, s.Write(context.Background(), []byte(`{"n":2}`)))
		assert.ErrorIs(t, s.Flush(context.Background()), delivery.ErrGone)
	}
	assert.Len(t, h.requests(), 1, "nothing is sent after 410")
	assert.EqualValues(t, 4, s.Lost())
	assert.ErrorIs(t, s.HealthCheck(context.Background()), delivery.ErrGone)
	mu.Lock()
	gone := 0
	for _, r := range reports {
		if strings.Contains(r.Error(), "410") {
			gone++
		}
	}
	mu.Unlock()
	assert.Equal(t, 1, gone, "410 is reported once")
	require.NoError(t, s.Stop(context.Background()))
}

func TestVerifyRejects(t *testing.T) {
	sec := mustSecret(t, secretA)
	now := time.Unix(1_800_000_000, 0)
	at := func(ts time.Time, id string, body string) http.Header {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		h.Set(HeaderSignature, standardSignature([]Secret{sec}, id, ts.Unix(), []byte(body)))
		return h
	}
	clock := verifyOptionFunc(func(c *verifyConfig) { c.now = func() time.Time { return now } })
	body := `{"n":1}`
	assert.NoError(t, Verify(at(now, "msg_1", body), []byte(body), []Secret{sec}, clock))
	assert.ErrorIs(t, Verify(at(now, "msg_1", body), []byte(`{"n":2}`), []Secret{sec}, clock), ErrBadSignature)
	assert.ErrorIs(t, Verify(at(now, "msg_1", body), []byte(body), []Secret{mustSecret(t, secretB)}, clock), ErrBadSignature)
	assert.ErrorIs(t, Verify(at(now.Add(-6*time.Minute), "msg_1", body), []byte(body), []Secret{sec}, clock), ErrStale)
	assert.ErrorIs(t, Verify(at(now.Add(6*time.Minute), "msg_1", body), []byte(body), []Secret{sec}, clock), ErrStale)
	assert.NoError(t, Verify(at(now.Add(-6*time.Minute), "msg_1", body), []byte(body), []Secret{sec}, clock, WithTolerance(10*time.Minute)))
	assert.ErrorIs(t, Verify(http.Header{}, []byte(body), []Secret{sec}, clock), ErrMissingHeaders)

	guard := NewReplayWindow(5 * time.Minute)
	assert.NoError(t, Verify(at(now, "msg_7", body), []byte(body), []Secret{sec}, clock, WithReplayGuard(guard)))
	assert.ErrorIs(t, Verify(at(now, "msg_7", body), []byte(body), []Secret{sec}, clock, WithReplayGuard(guard)), ErrReplayed)
	assert.False(t, guard.Seen("msg_7", now.Add(6*time.Minute)), "ids are forgotten after the window")
}

func TestSecretsNeverShown(t *testing.T) {
	sec := mustSecret(t, secretA)
	for _, s := range []string{fmt.Sprint(sec), fmt.Sprintf("%v %+v %#v %s", sec, sec, sec, sec)} {
		assert.NotContains(t, s, "MfKQ9r8")
	}
	_, err := ParseSecret("whsec_not*base64*MfKQ9r8")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "MfKQ9r8")
	_, err = NewSink(WithEndpoint("http://example.com/hook?key=MfKQ9r8"), WithSecrets(sec))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "MfKQ9r8")
	_, err = NewSink(WithEndpoint("https://example.com"))
	assert.ErrorContains(t, err, "WithSecrets")
}

func TestAlwaysArray(t *testing.T) {
	h := newHook(t)
	s := newTestSink(t, h, WithAlwaysArray())
	send(t, s, `{"n":1}`)
	require.NoError(t, s.Stop(context.Background()))
	assert.JSONEq(t, `[{"n":1}]`, string(h.requests()[0].body))
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		h := newHook(t)
		s := newTestSink(t, h, fast(delivery.Options{Retry: delivery.Retry{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsedTime: 100 * time.Millisecond}}))
		return sinktest.Harness{
			Sink:      s,
			Delivered: h.accepted,
			Stall:     h.gate.Stall,
			Fail: func() func() {
				h.mu.Lock()
				failFrom := len(h.reqs)
				h.status = func(n int) int {
					if n >= failFrom {
						return http.StatusServiceUnavailable
					}
					return http.StatusOK
				}
				h.mu.Unlock()
				return func() {
					h.mu.Lock()
					healFrom := len(h.reqs)
					h.status = func(n int) int {
						if n >= failFrom && n < healFrom {
							return http.StatusServiceUnavailable
						}
						return http.StatusOK
					}
					h.mu.Unlock()
				}
			},
		}
	})
}
