package integration

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/grpc"

	"github.com/fapilog/fapilog-otel/processor"
)

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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	svc := &partialGRPC{}
	srv := grpc.NewServer()
	collogs.RegisterLogsServiceServer(srv, svc)
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()

	otlp, err := otlploggrpc.New(context.Background(), otlploggrpc.WithEndpoint(l.Addr().String()), otlploggrpc.WithInsecure())
	require.NoError(t, err)
	b := processor.NewBatch(otlp, processor.WithMaxExportBatchSize(5), processor.WithBatchErrorHandler(func(error) {}))
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(b))
	defer shutdownWithin(t, provider, 10*time.Second)
	logger := provider.Logger("partial-grpc")
	for i := range 10 {
		var rec log.Record
		rec.SetBody(attribute.StringValue(fmt.Sprintf("record %d", i)))
		logger.Emit(context.Background(), rec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = provider.ForceFlush(ctx)
	require.ErrorContains(t, err, "2 entries lost")
	require.ErrorContains(t, err, "one record is too old")
	svc.mu.Lock()
	require.Equal(t, 2, svc.requests, "a request was sent again")
	require.Equal(t, 10, svc.records)
	svc.mu.Unlock()
	require.EqualValues(t, 2, b.Dropped())
	require.NoError(t, provider.ForceFlush(ctx))
}
