package httppost

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)
	assert.Equal(t, 7*time.Second, RetryAfter("7", now))
	assert.Equal(t, 30*time.Second, RetryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now))
	assert.Zero(t, RetryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now), "a date in the past means now")
	assert.Zero(t, RetryAfter("-3", now))
	assert.Zero(t, RetryAfter("soon", now))
	assert.Zero(t, RetryAfter("", now))
	assert.Zero(t, RetryAfter("+5", now), "delay-seconds is digits only")
	assert.Zero(t, RetryAfter("5s", now))
	// Too large for a Duration: saturated, never wrapped into a short or
	// negative wait (the retry budget then refuses to wait that long).
	assert.Equal(t, time.Duration(math.MaxInt64), RetryAfter("99999999999", now))
	assert.Equal(t, time.Duration(math.MaxInt64), RetryAfter("9223372037", now))
	assert.Equal(t, time.Duration(math.MaxInt64), RetryAfter("184467440737095516160", now), "beyond uint64")
	assert.Equal(t, 9223372036*time.Second, RetryAfter("9223372036", now))
	assert.Equal(t, time.Duration(math.MaxInt64), RetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now))
}

func TestRedact(t *testing.T) {
	assert.Equal(t, "https://logs.example.com/v1/ingest", Redact("https://u:p@logs.example.com/v1/ingest?token=x#frag"))
}

func TestEndpointRules(t *testing.T) {
	for _, bad := range []string{"", "ftp://x", "://", "http://example.com"} {
		_, err := New(Config{Endpoint: bad, Option: "WithEndpoint"})
		assert.ErrorContains(t, err, "WithEndpoint", bad)
	}
	for _, good := range []string{"https://example.com", "http://127.0.0.1:1", "http://localhost/x", "http://[::1]:8080"} {
		p, err := New(Config{Endpoint: good})
		assert.NoError(t, err, good)
		if p != nil {
			p.Close()
		}
	}
}

// Errors show what was typed, with anything that may be a credential cut
// out, and say what is likely wrong.
func TestEndpointErrorsEchoTheValue(t *testing.T) {
	for raw, want := range map[string][]string{
		"127.0.0.1:18099/ingest":          {`WithEndpoint("127.0.0.1:18099/ingest")`, `did you mean "http://127.0.0.1:18099/ingest"`},
		"not a url":                       {`WithEndpoint("not a url")`, "no scheme"},
		"ftp://example.com/x":             {`WithEndpoint("ftp://example.com/x")`, `scheme "ftp"`},
		"https://user:pw@/x?token=secret": {`WithEndpoint("https://…@/x")`, "no host"},
	} {
		_, err := New(Config{Endpoint: raw, Option: "WithEndpoint"})
		for _, w := range want {
			assert.ErrorContains(t, err, w, raw)
		}
		for _, secret := range []string{"pw", "secret", "%20"} {
			assert.NotContains(t, err.Error(), secret, raw)
		}
	}
	assert.Equal(t, "not a url", Redact("not a url"), "not percent-encoded")
}

func TestEvaluate(t *testing.T) {
	def := Evaluate(nil)
	for _, tc := range []struct {
		err   error
		retry bool
		after time.Duration
	}{
		{&StatusError{Status: 503}, true, 0},
		{&StatusError{Status: 429, RetryAfter: time.Minute}, true, time.Minute},
		{&StatusError{Status: 501}, false, 0},
		{&StatusError{Status: 400}, false, 0},
		{fmt.Errorf("wrapped: %w", &StatusError{Status: 408}), true, 0},
		{errors.New("connection refused"), true, 0},
		{&StatusError{Status: 413}, false, 0},                                   // too large: split, not retried as is
		{&StatusError{Status: 413, RetryAfter: time.Second}, true, time.Second}, // temporary (RFC 9110)
	} {
		retry, after := def(tc.err)
		assert.Equal(t, tc.retry, retry, "%v", tc.err)
		assert.Equal(t, tc.after, after, "%v", tc.err)
	}
	assert.True(t, TooLarge(fmt.Errorf("wrapped: %w", &StatusError{Status: 413})))
	assert.False(t, TooLarge(&StatusError{Status: 413, RetryAfter: time.Second}), "temporary: retried whole")
	assert.False(t, TooLarge(&StatusError{Status: 400}))
	assert.False(t, TooLarge(errors.New("connection refused")))
	only400 := Evaluate(func(s int) bool { return s == 400 })
	retry, _ := only400(&StatusError{Status: 400})
	assert.True(t, retry)
	retry, _ = only400(&StatusError{Status: 503})
	assert.False(t, retry)
}
