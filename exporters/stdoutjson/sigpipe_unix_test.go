//go:build unix

package stdoutjson_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/fapilog/fapilog-otel/exporters/stdoutjson"
	"github.com/fapilog/fapilog-otel/processor"
)

// sigpipeChild names the scenario a re-executed test binary runs: standard
// output is a pipe whose reader has gone (a log shipper that died).
const sigpipeChild = "FAPILOG_STDOUTJSON_SIGPIPE_CHILD"

func init() {
	// A test binary re-executed as the child runs its scenario instead of
	// the tests.
	if mode := os.Getenv(sigpipeChild); mode != "" {
		runSigpipeChild(mode)
	}
}

func runSigpipeChild(mode string) {
	time.AfterFunc(30*time.Second, func() { os.Exit(3) })
	if mode == "ignore" {
		signal.Ignore(syscall.SIGPIPE)
	}
	fmt.Fprintln(os.Stderr, "ignored-at-start:", mode != "ignore" && signal.Ignored(syscall.SIGPIPE))
	exp, err := stdoutjson.New()
	if err != nil {
		os.Exit(4)
	}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(processor.NewBatch(exp)))
	logger := provider.Logger("child")
	for range 10 {
		var r log.Record
		r.SetBody(attribute.StringValue("to a reader that is gone"))
		logger.Emit(context.Background(), r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Fprintln(os.Stderr, "flush:", provider.ForceFlush(ctx))
	fmt.Fprintln(os.Stderr, "lost:", exp.Sink().(*stdoutjson.Sink).Lost())
	fmt.Fprintln(os.Stderr, "shutdown:", provider.Shutdown(ctx))
	os.Exit(0)
}

func startSigpipeChild(t *testing.T, mode string) (stderr string, status syscall.WaitStatus) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	require.NoError(t, r.Close()) // the reader is gone before the first line
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sigpipeChild+"="+mode)
	cmd.Stdout = w
	var errBuf strings.Builder
	cmd.Stderr = &errBuf
	require.NoError(t, cmd.Start())
	require.NoError(t, w.Close())
	_ = cmd.Wait()
	return errBuf.String(), cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// With SIGPIPE ignored (as systemd starts services, or after
// signal.Ignore), a standard output whose reader has gone fails the writes
// with EPIPE: the lines are counted lost, ForceFlush says so, and the
// process goes on and stops cleanly.
func TestStdoutReaderGoneWithSIGPIPEIgnored(t *testing.T) {
	out, status := startSigpipeChild(t, "ignore")
	require.True(t, status.Exited(), "the process is not killed: %v\n%s", status, out)
	assert.Equal(t, 0, status.ExitStatus(), out)
	assert.Contains(t, out, "flush: ")
	assert.Contains(t, out, "broken pipe", "ForceFlush reports EPIPE")
	assert.Contains(t, out, "lost: 10\n", "every line counted lost")
	assert.Contains(t, out, "shutdown: <nil>\n", "the loss was reported once, by the flush")
}

// Go's own rule, documented so that nobody learns it in production: with
// SIGPIPE at its default, a write to a broken pipe on standard output ends
// the process by SIGPIPE, at the sink's first write. No library can
// change that without changing the whole process's signal handling.
func TestStdoutReaderGoneKillsByDefault(t *testing.T) {
	out, status := startSigpipeChild(t, "default")
	if strings.Contains(out, "ignored-at-start: true") {
		t.Skip("this test binary was started with SIGPIPE ignored")
	}
	require.True(t, status.Signaled(), "%v\n%s", status, out)
	assert.Equal(t, syscall.SIGPIPE, status.Signal())
	assert.NotContains(t, out, "flush:")
}
