package rotatingfile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A process killed in the middle of a write leaves its last file ending in
// part of a line. The next process cuts that part off at Start (it was
// never reported written), so every line a reader sees is whole, and says
// so through the error handler.
func TestStartCutsTornLastLine(t *testing.T) {
	big := strings.Repeat("y", 3*tailBlock+17) // spans several backward reads
	cases := []struct {
		name      string
		content   string
		want      string
		reported  bool
		compress  Compression
		wantFiles []string
	}{
		{name: "torn tail", content: entry(1) + "\n" + entry(2) + "\n" + `{"seq":3,"pa`, want: entry(1) + "\n" + entry(2) + "\n", reported: true},
		{name: "tail longer than one read", content: entry(1) + "\n" + `{"pad":"` + big, want: entry(1) + "\n", reported: true},
		{name: "no newline at all", content: `{"seq":1`, want: "", reported: true},
		{name: "whole lines", content: entry(1) + "\n", want: entry(1) + "\n"},
		{name: "empty", content: "", want: ""},
		{name: "torn tail, then compressed", content: entry(1) + "\n" + `{"se`, want: entry(1) + "\n", reported: true, compress: CompressionGzip},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &handled{}
			opts := []Option{}
			if tc.compress != CompressionNone {
				opts = append(opts, WithCompression(tc.compress))
			}
			s, _, dir := testSink(t, func(c *config) { c.handle = h.handle }, opts...)
			require.NoError(t, os.MkdirAll(dir, 0o750))
			prev := filepath.Join(dir, "fapilog-20260101-000000.jsonl")
			require.NoError(t, os.WriteFile(prev, []byte(tc.content), 0o640))
			require.NoError(t, s.Start(context.Background()))
			write(t, s, entry(10))
			stop(t, s)
			<-s.Closed()

			lines := readLines(t, dir) // fails on any file ending in a partial line
			want := strings.Split(strings.TrimSuffix(tc.want, "\n"), "\n")
			if tc.want == "" {
				want = nil
			}
			assert.Equal(t, append(want, entry(10)), lines)
			assert.Equal(t, tc.reported, h.find("ended in an incomplete line"), "reported to the handler: %v", h.errs)
			if tc.compress == CompressionNone {
				got, err := os.ReadFile(prev)
				require.NoError(t, err)
				assert.Equal(t, tc.want, string(got))
			}
		})
	}
}

// With a fixed name the next process appends to the same file: without the
// cut, its first line would be glued to the torn one and unreadable.
func TestStartCutsTornLastLineOfFixedFile(t *testing.T) {
	h := &handled{}
	s, _, dir := testSink(t, func(c *config) { c.handle = h.handle }, WithFixedName())
	require.NoError(t, os.MkdirAll(dir, 0o750))
	path := filepath.Join(dir, DefaultPrefix+DefaultExtension)
	require.NoError(t, os.WriteFile(path, []byte(entry(1)+"\n"+`{"seq":2,"pad":"xx`), 0o640))
	require.NoError(t, s.Start(context.Background()))
	write(t, s, entry(3), entry(4))
	stop(t, s)

	assert.Equal(t, []string{entry(1), entry(3), entry(4)}, readLines(t, dir))
	assert.True(t, h.find("cut its last 18 bytes"), "%v", h.errs)
}

// With a fixed name, a file that went on under its rotated name (its
// successor could not be created) and was torn there by a crash is cut too.
func TestStartCutsTornRotatedFileWithFixedName(t *testing.T) {
	h := &handled{}
	s, _, dir := testSink(t, func(c *config) { c.handle = h.handle }, WithFixedName())
	require.NoError(t, os.MkdirAll(dir, 0o750))
	older := filepath.Join(dir, "fapilog-20260101-000000.jsonl")
	newest := filepath.Join(dir, "fapilog-20260101-000001.jsonl")
	require.NoError(t, os.WriteFile(older, []byte(entry(1)+"\n"), 0o640))
	require.NoError(t, os.WriteFile(newest, []byte(entry(2)+"\n"+`{"seq":3,"pa`), 0o640))
	require.NoError(t, s.Start(context.Background()))
	write(t, s, entry(4))
	stop(t, s)

	assert.Equal(t, []string{entry(1), entry(2), entry(4)}, readLines(t, dir))
	assert.True(t, h.find("ended in an incomplete line"), "%v", h.errs)
}

// Start after writing began (a sink used without the bridge, started late)
// leaves the file being written alone, even mid-line.
func TestLateStartLeavesActiveFileAlone(t *testing.T) {
	h := &handled{}
	s, ffs, dir := testSink(t, func(c *config) { c.handle = h.handle }, WithFixedName())
	write(t, s, entry(1))
	flush(t, s)
	resume := ffs.stallWrites()
	write(t, s, entry(2))
	path := filepath.Join(dir, DefaultPrefix+DefaultExtension)
	// Simulate the writer's half-done line as seen from outside.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"half`)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, s.Start(context.Background()))
	resume()
	stop(t, s)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, entry(1)+"\n"+`{"half`+entry(2)+"\n", string(data), "the active file was not touched")
	assert.False(t, h.find("incomplete line"), "%v", h.errs)
}

// Start reads one file however many the directory keeps: the newest, the
// only one an earlier process of ours can have left torn (each process
// cuts its predecessor's before writing a file of its own). An older file
// with a torn end, which only another writer could have left, is not
// read.
func TestStartChecksOnlyTheNewestFile(t *testing.T) {
	h := &handled{}
	s, _, dir := testSink(t, func(c *config) { c.handle = h.handle })
	require.NoError(t, os.MkdirAll(dir, 0o750))
	older := filepath.Join(dir, "fapilog-20260101-000000.jsonl")
	newest := filepath.Join(dir, "fapilog-20260101-000000-2.jsonl")
	require.NoError(t, os.WriteFile(older, []byte(entry(1)+"\n"+`{"x`), 0o640))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fapilog-20260101-000000-1.jsonl"), []byte(entry(2)+"\n"), 0o640))
	require.NoError(t, os.WriteFile(newest, []byte(entry(3)+"\n"+`{"y`), 0o640))
	require.NoError(t, s.Start(context.Background()))
	stop(t, s)

	got, err := os.ReadFile(newest)
	require.NoError(t, err)
	assert.Equal(t, entry(3)+"\n", string(got), "the newest file is cut")
	got, err = os.ReadFile(older)
	require.NoError(t, err)
	assert.Equal(t, entry(1)+"\n"+`{"x`, string(got), "an older file is not read")
	assert.True(t, h.find("cut its last 3 bytes"), "%v", h.errs)
}

// Start on an ended context, twice and concurrently, still recovers the
// directory, once: the bridge calls it with the Export's context, which
// the SDK may already have ended.
func TestStartEndedContextTwiceConcurrently(t *testing.T) {
	h := &handled{}
	s, _, dir := testSink(t, func(c *config) { c.handle = h.handle })
	require.NoError(t, os.MkdirAll(dir, 0o750))
	prev := filepath.Join(dir, "fapilog-20260101-000000.jsonl")
	require.NoError(t, os.WriteFile(prev, []byte(entry(1)+"\n"+`{"x`), 0o640))
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { assert.NoError(t, s.Start(ended)) })
	}
	wg.Wait()
	require.NoError(t, s.Start(ended))
	stop(t, s)

	got, err := os.ReadFile(prev)
	require.NoError(t, err)
	assert.Equal(t, entry(1)+"\n", string(got))
	h.mu.Lock()
	defer h.mu.Unlock()
	cuts := 0
	for _, e := range h.errs {
		if strings.Contains(e.Error(), "incomplete line") {
			cuts++
		}
	}
	assert.Equal(t, 1, cuts, "recovered once: %v", h.errs)
}
