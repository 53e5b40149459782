//go:build linux

package rotatingfile

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const childEnv = "FAPILOG_ROTATINGFILE_CHILD"

// runChild is the child side of TestSIGHUPReopens: a sink with
// WithReopenOn(SIGHUP) that writes one line and then waits for its stdin to
// close. The parent signals the child, never the test runner.
func runChild() bool {
	dir := os.Getenv(childEnv)
	if dir == "" {
		return false
	}
	time.AfterFunc(30*time.Second, func() { os.Exit(3) })
	s, err := NewSink(WithDirectory(dir), WithFixedName(), WithReopenOn(syscall.SIGHUP))
	if err != nil {
		os.Exit(4)
	}
	ctx := context.Background()
	if s.Start(ctx) != nil || s.Write(ctx, []byte(`{"n":1}`)) != nil || s.Flush(ctx) != nil {
		os.Exit(5)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if s.Stop(ctx) != nil {
		os.Exit(6)
	}
	os.Exit(0)
	return true
}

// openFiles lists the paths a process has open.
func openFiles(t *testing.T, pid int) []string {
	t.Helper()
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(fdDir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(fdDir, e.Name())); err == nil {
			out = append(out, target)
		}
	}
	return out
}

func holds(files []string, suffix string) bool {
	for _, f := range files {
		if strings.HasSuffix(f, suffix) {
			return true
		}
	}
	return false
}

// After logrotate moves the file, SIGHUP makes the sink let go of it at
// once, without waiting for another line to notice the move.
func TestSIGHUPReopens(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)

	require.NoError(t, os.Rename(filepath.Join(dir, "fapilog.jsonl"), filepath.Join(dir, "fapilog.jsonl.1")))
	require.True(t, holds(openFiles(t, cmd.Process.Pid), "fapilog.jsonl.1"), "the child writes to the moved file until told")
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return !holds(openFiles(t, cmd.Process.Pid), "fapilog.jsonl.1") },
		10*time.Second, time.Millisecond, "SIGHUP did not make the sink close the moved file")

	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait())
	b, err := os.ReadFile(filepath.Join(dir, "fapilog.jsonl.1"))
	require.NoError(t, err)
	assert.Equal(t, "{\"n\":1}\n", string(b))
}
