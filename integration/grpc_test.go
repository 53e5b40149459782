package integration

import (
	"context"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fapilog/fapilog-otel/processor"
)

// otlpGRPCTo serves svc as an OTLP/gRPC logs service on a loopback port,
// with serverOpts, until the test ends, and returns an otlploggrpc
// exporter with opts sending to it.
func otlpGRPCTo(t *testing.T, svc collogs.LogsServiceServer, serverOpts []grpc.ServerOption, opts ...otlploggrpc.Option) *otlploggrpc.Exporter {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer(serverOpts...)
	collogs.RegisterLogsServiceServer(srv, svc)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	opts = append([]otlploggrpc.Option{otlploggrpc.WithEndpoint(l.Addr().String()), otlploggrpc.WithInsecure()}, opts...)
	otlp, err := otlploggrpc.New(context.Background(), opts...)
	require.NoError(t, err)
	return otlp
}

// partialGRPC is an OTLP/gRPC logs service that takes every request and
// rejects one record of each in a partial success.
type partialGRPC struct {
	collogs.UnimplementedLogsServiceServer
	mu       sync.Mutex
	requests int
	records  int
}

func (s *partialGRPC) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			s.records += len(sl.LogRecords)
		}
	}
	return &collogs.ExportLogsServiceResponse{PartialSuccess: &collogs.ExportLogsPartialSuccess{
		RejectedLogRecords: 1, ErrorMessage: "one record is too old"}}, nil
}

// TestOTLPGRPCPartialSuccessIsNotRetried: otlploggrpc returns a partial
// success as an error too (its own internal type); processor.NewBatch
// recognises it as it does otlploghttp's: not retried, the rejected record
// counted lost.
func TestOTLPGRPCPartialSuccessIsNotRetried(t *testing.T) {
	svc := &partialGRPC{}
	otlp := otlpGRPCTo(t, svc, nil)
	b := processor.NewBatch(otlp, processor.WithMaxExportBatchSize(5), processor.WithBatchErrorHandler(func(error) {}))
	provider, ctx := emitThrough(t, b, 10, "record %d", 10*time.Second)
	err := provider.ForceFlush(ctx)
	require.ErrorContains(t, err, "2 entries lost")
	require.ErrorContains(t, err, "one record is too old")
	svc.mu.Lock()
	require.Equal(t, 2, svc.requests, "a request was sent again")
	require.Equal(t, 10, svc.records)
	svc.mu.Unlock()
	require.EqualValues(t, 2, b.Dropped())
	require.NoError(t, provider.ForceFlush(ctx))
}

// countingGRPC is an OTLP/gRPC logs service that takes every request and
// counts its records by body.
type countingGRPC struct {
	collogs.UnimplementedLogsServiceServer
	mu     sync.Mutex
	bodies map[string]int
}

func (s *countingGRPC) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				s.bodies[lr.Body.GetStringValue()]++
			}
		}
	}
	return &collogs.ExportLogsServiceResponse{}, nil
}

// TestOTLPGRPCThroughMessageSizeLimit: a gRPC server refuses messages over
// its receive limit with ResourceExhausted (the Collector's OTLP receiver:
// 4 MiB by default); here 32 KiB, with batches of 512 records of about 300
// bytes. Behind processor.NewBatch every record arrives once, the batches
// sent in halves; behind the SDK's BatchProcessor every batch over the
// limit is lost (logged, not asserted).
func TestOTLPGRPCThroughMessageSizeLimit(t *testing.T) {
	run := func(newProcessor func(sdklog.Exporter) sdklog.Processor) (delivered, twice int, flushErr error) {
		svc := &countingGRPC{bodies: map[string]int{}}
		otlp := otlpGRPCTo(t, svc, []grpc.ServerOption{grpc.MaxRecvMsgSize(32 << 10)})
		provider, ctx := emitThrough(t, newProcessor(otlp), 2000, "record %d "+strings.Repeat("x", 250), time.Minute)
		flushErr = provider.ForceFlush(ctx)
		svc.mu.Lock()
		defer svc.mu.Unlock()
		for _, n := range svc.bodies {
			if n > 1 {
				twice++
			}
		}
		return len(svc.bodies), twice, flushErr
	}
	delivered, twice, err := run(func(e sdklog.Exporter) sdklog.Processor {
		return processor.NewBatch(e, processor.WithBatchErrorHandler(func(error) {}))
	})
	require.NoError(t, err)
	require.Equal(t, 2000, delivered, "processor.NewBatch lost %d records to the message size limit", 2000-delivered)
	require.Zero(t, twice)
	t.Logf("processor.NewBatch: 2000 sent, %d delivered", delivered)

	delivered, _, err = run(func(e sdklog.Exporter) sdklog.Processor { return sdklog.NewBatchProcessor(e) })
	t.Logf("sdklog.NewBatchProcessor: 2000 sent, %d delivered (%d lost); ForceFlush: %v", delivered, 2000-delivered, err)
}

// TestOTLPGRPCRecordThatIsNotUTF8: otlploggrpc meets a string that is not
// UTF-8 as an Internal status from gRPC's codec, failing the whole batch;
// behind processor.NewBatch at its defaults every record arrives, that one
// repaired, as through otlploghttp.
func TestOTLPGRPCRecordThatIsNotUTF8(t *testing.T) {
	svc := &countingGRPC{bodies: map[string]int{}}
	otlp := otlpGRPCTo(t, svc, nil)
	reports := make(chan error, 100)
	b := processor.NewBatch(otlp, processor.WithBatchErrorHandler(func(err error) {
		select {
		case reports <- err:
		default: // never block the processor
		}
	}))
	provider, ctx := emitBodies(t, b, 2000, oneNotUTF8, 20*time.Second)
	require.NoError(t, provider.ForceFlush(ctx))
	svc.mu.Lock()
	defer svc.mu.Unlock()
	require.Len(t, svc.bodies, 2000)
	require.Equal(t, 1, svc.bodies[repaired])
	require.ErrorContains(t, <-reports, "error while marshaling")
}

// hostileGRPC is an OTLP/gRPC logs service that, at random, answers
// Unavailable, or takes the request and rejects its first record in a
// partial success; messages over the server's receive limit are refused
// by gRPC itself (ResourceExhausted).
type hostileGRPC struct {
	collogs.UnimplementedLogsServiceServer
	mu       sync.Mutex
	rng      *rand.Rand
	accepted []string
	rejected map[string]bool
}

func (s *hostileGRPC) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	var bodies []string
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				bodies = append(bodies, lr.Body.GetStringValue())
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch p := s.rng.Float64(); {
	case p < 0.25:
		return nil, status.Error(codes.Unavailable, "overloaded")
	case p < 0.45:
		s.rejected[bodies[0]] = true
		s.accepted = append(s.accepted, bodies[1:]...)
		return &collogs.ExportLogsServiceResponse{PartialSuccess: &collogs.ExportLogsPartialSuccess{
			RejectedLogRecords: 1, ErrorMessage: "the first one"}}, nil
	}
	s.accepted = append(s.accepted, bodies...)
	return &collogs.ExportLogsServiceResponse{}, nil
}

// TestOTLPGRPCThroughAHostileReceiver is TestOTLPThroughAHostileReceiver
// through otlploggrpc (its own retries off) and an OTLP/gRPC service that
// answers Unavailable, a partial success, or, for messages over 32 KiB,
// ResourceExhausted: every record arrives once and in order (those not
// UTF-8 repaired) but the rejected ones, which are the ones counted lost.
func TestOTLPGRPCThroughAHostileReceiver(t *testing.T) {
	svc := &hostileGRPC{rng: rand.New(rand.NewPCG(3, 4)), rejected: map[string]bool{}}
	otlp := otlpGRPCTo(t, svc, []grpc.ServerOption{grpc.MaxRecvMsgSize(32 << 10)},
		otlploggrpc.WithRetry(otlploggrpc.RetryConfig{Enabled: false}))
	b := processor.NewBatch(otlp, processor.WithMaxQueueSize(6000), processor.WithBatchErrorHandler(func(error) {}))
	const n = 6000
	provider, ctx := emitBodies(t, b, n, hostileBody, 2*time.Minute)
	for provider.ForceFlush(ctx) != nil {
		require.NoError(t, ctx.Err(), "the flush never succeeded")
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	requireOnceInOrder(t, n, svc.accepted, svc.rejected, b)
}
