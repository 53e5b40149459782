//go:build unix

package shutdown_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/shutdown"
)

// The signal tests re-execute this test binary as a child process, which
// runs one of the scenarios below instead of the tests, and signal the child
// rather than the test runner.
const childEnv = "FAPILOG_SHUTDOWN_CHILD"

// runChild runs a child scenario and reports whether this process is a
// child. A child never returns to the test framework: it ends by signal or
// by os.Exit.
func runChild() bool {
	mode := os.Getenv(childEnv)
	if mode == "" {
		return false
	}
	// A child that is never signalled must not linger.
	time.AfterFunc(30*time.Second, func() { os.Exit(3) })

	exp, err := stdoutjson.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(4)
	}
	// A long interval keeps records queued in the BatchProcessor, so only
	// the flush triggered by the signal can get them out.
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp,
		sdklog.WithExportInterval(time.Hour), sdklog.WithMaxQueueSize(1<<20))))
	logger := slog.New(otelslog.NewHandler("child", otelslog.WithLoggerProvider(provider)))

	switch mode {
	case "notify":
		shutdown.Notify(provider)
		logContinuously(logger)
	case "notify-int":
		shutdown.Notify(provider, shutdown.WithSignals(os.Interrupt))
		logContinuously(logger)
	case "context":
		ctx, stop := shutdown.NotifyContext(context.Background(), provider)
		defer stop()
		for i := range 1000 {
			logger.Info("record", "seq", i)
		}
		fmt.Fprintln(os.Stderr, "ready 1000")
		<-ctx.Done()
		fmt.Fprintln(os.Stderr, "cause:", context.Cause(ctx))
		if err := shutdown.FlushAndShutdown(context.Background(), provider); err != nil {
			os.Exit(5)
		}
		os.Exit(0)
	case "second-signal":
		stuck := flushFunc(func(ctx context.Context) error {
			fmt.Fprintln(os.Stderr, "flushing")
			<-ctx.Done()
			return ctx.Err()
		})
		shutdown.Notify(stuck, shutdown.WithTimeout(20*time.Second))
		fmt.Fprintln(os.Stderr, "ready 0")
		select {}
	case "error-handler":
		failing := flushFunc(func(context.Context) error { return errors.New("receiver down") })
		shutdown.Notify(failing, shutdown.WithTimeout(time.Second),
			shutdown.WithErrorHandler(func(err error) { fmt.Fprintln(os.Stderr, "handled:", err) }))
		fmt.Fprintln(os.Stderr, "ready 0")
		select {}
	case "timeout-report":
		stuck := flushFunc(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		shutdown.Notify(shutdown.Group{provider, stuck}, shutdown.WithTimeout(200*time.Millisecond),
			shutdown.WithErrorHandler(func(err error) { fmt.Fprintln(os.Stderr, "handled:", strings.ReplaceAll(err.Error(), "\n", " | ")) }))
		fmt.Fprintln(os.Stderr, "ready 0")
		select {}
	case "panic-target":
		buggy := flushFunc(func(context.Context) error { panic("flush bug") })
		shutdown.Notify(shutdown.Group{provider, buggy}, shutdown.WithTimeout(time.Second),
			shutdown.WithErrorHandler(func(err error) { fmt.Fprintln(os.Stderr, "handled:", strings.ReplaceAll(err.Error(), "\n", " | ")) }))
		fmt.Fprintln(os.Stderr, "ready 0")
		select {}
	case "stop-restores":
		// After stop, SIGTERM must act as it did before: here, ignored.
		signal.Ignore(syscall.SIGTERM)
		stop := shutdown.Notify(provider)
		stop()
		fmt.Fprintln(os.Stderr, "ready 0")
		time.Sleep(300 * time.Millisecond)
		os.Exit(0)
	}
	os.Exit(6)
	return true
}

type flushFunc func(context.Context) error

func (f flushFunc) ForceFlush(ctx context.Context) error { return f(ctx) }

// logContinuously reports on stderr how many records it has emitted, so
// the parent knows which records were certainly emitted before its signal.
func logContinuously(logger *slog.Logger) {
	for i := 0; ; i++ {
		logger.Info("record", "seq", i)
		if i == 2000 {
			fmt.Fprintf(os.Stderr, "ready %d\n", i+1)
		}
		if i%64 == 0 {
			time.Sleep(100 * time.Microsecond) // leave the signal handler some CPU on 2 cores
		}
	}
}

type child struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	ready  int
	stderr *bufio.Reader
}

func startChild(t *testing.T, mode string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], "-test.run=^$")}
	c.cmd.Env = append(os.Environ(), childEnv+"="+mode)
	c.cmd.Stdout = &c.stdout
	errPipe, err := c.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, c.cmd.Start())
	c.stderr = bufio.NewReader(errPipe)
	line := c.readLine(t, "ready ")
	c.ready, err = strconv.Atoi(strings.TrimPrefix(line, "ready "))
	require.NoError(t, err)
	return c
}

// readLine returns the next stderr line starting with prefix.
func (c *child) readLine(t *testing.T, prefix string) string {
	t.Helper()
	for {
		line, err := c.stderr.ReadString('\n')
		if err != nil {
			t.Fatalf("child stderr ended before %q: %v", prefix, err)
		}
		if line = strings.TrimSpace(line); strings.HasPrefix(line, prefix) {
			return line
		}
	}
}

func (c *child) wait(t *testing.T) (status syscall.WaitStatus, rest string) {
	t.Helper()
	restBytes, _ := io.ReadAll(c.stderr)
	err := c.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return c.cmd.ProcessState.Sys().(syscall.WaitStatus), string(restBytes)
}

// seqs parses the child's stdout and returns how often each seq appears.
func (c *child) seqs(t *testing.T) map[int]int {
	t.Helper()
	counts := map[int]int{}
	for _, line := range bytes.Split(c.stdout.Bytes(), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var e struct {
			Log struct {
				Data struct {
					Seq *int `json:"seq"`
				} `json:"data"`
			} `json:"log"`
		}
		require.NoError(t, json.Unmarshal(line, &e), "child wrote a line that is not JSON: %q", line)
		require.NotNil(t, e.Log.Data.Seq)
		counts[*e.Log.Data.Seq]++
	}
	return counts
}

func requireAllOnce(t *testing.T, counts map[int]int, emitted int) {
	t.Helper()
	for i := range emitted {
		require.Equal(t, 1, counts[i], "record %d, emitted before the signal, appears %d times", i, counts[i])
	}
	for seq, n := range counts {
		require.Equal(t, 1, n, "record %d appears %d times", seq, n)
	}
}

func TestSIGTERMWhileLoggingFlushesThenDies(t *testing.T) {
	c := startChild(t, "notify")
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	status, _ := c.wait(t)
	require.True(t, status.Signaled(), "child exited with %v instead of dying by signal", status)
	assert.Equal(t, syscall.SIGTERM, status.Signal())
	assert.Equal(t, 143, 128+int(status.Signal()), "a shell reports 143")
	requireAllOnce(t, c.seqs(t), c.ready)
}

func TestSIGINTReraised(t *testing.T) {
	c := startChild(t, "notify-int")
	require.NoError(t, c.cmd.Process.Signal(os.Interrupt))
	status, _ := c.wait(t)
	require.True(t, status.Signaled())
	assert.Equal(t, syscall.SIGINT, status.Signal())
	assert.Equal(t, 130, 128+int(status.Signal()))
	requireAllOnce(t, c.seqs(t), c.ready)
}

func TestNotifyContextLetsTheApplicationExit(t *testing.T) {
	c := startChild(t, "context")
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	cause := c.readLine(t, "cause:")
	assert.Contains(t, cause, "terminated")
	status, _ := c.wait(t)
	require.True(t, status.Exited(), "status %v", status)
	assert.Equal(t, 0, status.ExitStatus())
	requireAllOnce(t, c.seqs(t), c.ready)
	assert.Len(t, c.seqs(t), 1000)
}

func TestSecondSignalExitsAtOnce(t *testing.T) {
	c := startChild(t, "second-signal")
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	c.readLine(t, "flushing")
	start := time.Now()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	status, _ := c.wait(t)
	assert.Less(t, time.Since(start), 10*time.Second, "the second signal waited for the 20s flush")
	require.True(t, status.Signaled())
	assert.Equal(t, syscall.SIGTERM, status.Signal())
}

// WithErrorHandler receives the flush failure before the process ends.
func TestErrorHandlerHearsFailedFlush(t *testing.T) {
	line, status, _ := handledOnSIGTERM(t, "error-handler")
	assert.Contains(t, line, "receiver down")
	assert.Contains(t, line, "flush on terminated")
	require.True(t, status.Signaled(), "status %v", status)
}

// The report of a flush cut short by its deadline names the timeout and
// the target that did not finish, not the one that did.
func TestTimeoutReportNamesTargetAndTimeout(t *testing.T) {
	line, status, _ := handledOnSIGTERM(t, "timeout-report")
	assert.Contains(t, line, "did not finish within 200ms (WithTimeout)")
	assert.Contains(t, line, "flush of target 1 (shutdown_test.flushFunc)")
	assert.Contains(t, line, "flush of target 0 (*log.LoggerProvider) succeeded")
	require.True(t, status.Signaled(), "status %v", status)
}

// A target that panics while the signal is handled is reported as that
// target's failure; the other target is flushed and the process still
// dies by its signal, not by the panic.
func TestPanickingTargetOnSignal(t *testing.T) {
	line, status, rest := handledOnSIGTERM(t, "panic-target")
	assert.Contains(t, line, "flush of target 1 (shutdown_test.flushFunc): shutdown: panic: flush bug")
	assert.Contains(t, line, "flush of target 0 (*log.LoggerProvider) succeeded")
	require.True(t, status.Signaled(), "status %v, stderr %s", status, rest)
	assert.Equal(t, syscall.SIGTERM, status.Signal())
	assert.NotContains(t, rest, "goroutine ", "no panic trace")
}

// handledOnSIGTERM runs a child scenario, sends it SIGTERM, and returns
// what its error handler printed, how it ended and the rest of its stderr.
func handledOnSIGTERM(t *testing.T, mode string) (line string, status syscall.WaitStatus, rest string) {
	t.Helper()
	c := startChild(t, mode)
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	line = c.readLine(t, "handled:")
	status, rest = c.wait(t)
	return line, status, rest
}

func TestStopRestoresPreviousDisposition(t *testing.T) {
	c := startChild(t, "stop-restores")
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	status, _ := c.wait(t)
	require.True(t, status.Exited(), "SIGTERM was ignored before Notify and must be again after stop; got %v", status)
	assert.Equal(t, 0, status.ExitStatus())
}
