package httpexporter

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/fapilog/fapilog-otel/internal/testdest"
	"github.com/klauspost/compress/zstd"
)

// receiver is a loopback endpoint that decodes every body it is sent, keeps
// the entries of the requests it accepted, and answers as the test scripts.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	accepted [][]byte
	requests int
	// respond returns the status for request n (0-based); nil means 200.
	respond func(n int, w http.ResponseWriter) int
	// gate, while stalled, holds requests until resumed or the client
	// gives up.
	gate testdest.Gate
	// reset, when true for request n, drops the connection unanswered.
	reset  func(n int) bool
	bodies []string // Content-Encoding of each request
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(r.handle))
	t.Cleanup(func() {
		r.gate.Open()
		r.srv.Close()
	})
	return r
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	n := r.requests
	r.requests++
	respond, reset := r.respond, r.reset
	r.bodies = append(r.bodies, req.Header.Get("Content-Encoding"))
	r.mu.Unlock()

	if reset != nil && reset(n) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	if r.gate.Wait(req.Context()) != nil {
		return
	}
	entries, err := decodeBody(req)
	if err != nil {
		r.t.Errorf("receiver: bad body: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	status := http.StatusOK
	if respond != nil {
		status = respond(n, w)
	}
	if status >= 200 && status < 300 {
		r.mu.Lock()
		r.accepted = append(r.accepted, entries...)
		r.mu.Unlock()
	}
	w.WriteHeader(status)
}

func decodeBody(req *http.Request) ([][]byte, error) {
	var body io.Reader = req.Body
	switch req.Header.Get("Content-Encoding") {
	case "gzip":
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			return nil, err
		}
		body = zr
	case "zstd":
		zr, err := zstd.NewReader(req.Body)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	if req.Header.Get("Content-Type") == "application/x-ndjson" {
		var out [][]byte
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			if !json.Valid(sc.Bytes()) {
				return nil, io.ErrUnexpectedEOF
			}
			out = append(out, bytes.Clone(sc.Bytes()))
		}
		return out, sc.Err()
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err != nil {
		var wrapped map[string][]json.RawMessage
		if err := json.Unmarshal(raw, &wrapped); err != nil {
			return nil, err
		}
		for _, v := range wrapped {
			arr = append(arr, v...)
		}
	}
	out := make([][]byte, len(arr))
	for i, e := range arr {
		out[i] = []byte(e)
	}
	return out, nil
}

func (r *receiver) entries() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.accepted...)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

func (r *receiver) set(fn func(r *receiver)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(r)
}

func (r *receiver) Stall() (resume func()) { return r.gate.Stall() }

func (r *receiver) Fail() (heal func()) {
	r.set(func(r *receiver) {
		r.respond = func(int, http.ResponseWriter) int { return http.StatusServiceUnavailable }
	})
	return func() { r.set(func(r *receiver) { r.respond = nil }) }
}
