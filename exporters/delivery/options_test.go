package delivery

import (
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each wrong field is named with the option and the field, so a user
// finds what they typed.
func TestValidateNamesTheField(t *testing.T) {
	for field, o := range map[string]Options{
		"Batch.MaxEntries: -1 is negative":                     {Batch: Batch{MaxEntries: -1}},
		"Batch.MaxBytes: -1 is negative":                       {Batch: Batch{MaxBytes: -1}},
		"Batch.MaxAge: -1s is negative":                        {Batch: Batch{MaxAge: -time.Second}},
		"Pending.MaxBytes: -1 is negative":                     {Pending: Pending{MaxBytes: -1}},
		"Pending.BlockTimeout: -1s is negative":                {Pending: Pending{BlockTimeout: -time.Second}},
		"Pending.Overflow: unknown policy 9":                   {Pending: Pending{Overflow: 9}},
		"Pending.MaxBytes: 10 is below Batch.MaxBytes (100)":   {Pending: Pending{MaxBytes: 10}, Batch: Batch{MaxBytes: 100}},
		"Concurrency: -2 is negative":                          {Concurrency: -2},
		"Concurrency: 1025 is above 1024":                      {Concurrency: MaxConcurrency + 1},
		"RequestTimeout: -1s is negative":                      {RequestTimeout: -time.Second},
		"Retry.InitialInterval: -1s is negative":               {Retry: Retry{InitialInterval: -time.Second}},
		"Retry.MaxInterval: -1s is negative":                   {Retry: Retry{MaxInterval: -time.Second}},
		"Retry.MaxElapsedTime: -1s is negative":                {Retry: Retry{MaxElapsedTime: -time.Second}},
		"Retry.MaxInterval: 1s is below Retry.InitialInterval": {Retry: Retry{InitialInterval: 2 * time.Second, MaxInterval: time.Second}},
		"RetryableStatuses: 42 is not an HTTP status":          {RetryableStatuses: []int{503, 42}},
		"Spool.MaxBytes: -1 is negative":                       {Spool: Spool{Dir: "d", MaxBytes: -1}},
		"Spool.SyncEvery: -1s is negative":                     {Spool: Spool{Dir: "d", SyncEvery: -time.Second}},
		"Spool.Sync: unknown policy 9":                         {Spool: Spool{Dir: "d", Sync: 9}},
		"Spool.Dir: settings given without a directory":        {Spool: Spool{MaxBytes: 1 << 20}},
		"Spool.MaxBytes: 100 is below Batch.MaxBytes (1000)":   {Spool: Spool{Dir: "d", MaxBytes: 100}, Batch: Batch{MaxBytes: 1000}},
	} {
		err := o.validate("x: WithDelivery")
		require.Error(t, err, field)
		assert.Contains(t, err.Error(), "x: WithDelivery: "+field)
	}
	assert.NoError(t, Options{}.validate("x"), "the zero value is the default configuration")
	assert.NoError(t, Options{Pending: Pending{MaxBytes: 1000}}.validate("x"),
		"a small bound alone is fine: the batch size follows it down")
}

// Every field of a valid Options reaches the sink: the network exporters
// pass Options through unchanged, so this is each field's effect.
func TestOptionsReachTheEngine(t *testing.T) {
	o := Options{
		Batch:          Batch{MaxEntries: 3, MaxBytes: 300, MaxAge: time.Minute},
		Pending:        Pending{MaxBytes: 3000, Overflow: OverflowBlock, BlockTimeout: time.Second},
		Retry:          Retry{InitialInterval: time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: time.Hour},
		Concurrency:    4,
		RequestTimeout: time.Minute,
	}
	c := (&Sink{}).engineConfig("n", o)
	assert.Equal(t, []any{"n", 3, 300, time.Minute, 3000, uint8(OverflowBlock), time.Second, time.Millisecond, time.Second, time.Hour, time.Minute, 4},
		[]any{c.Name, c.MaxBatchEntries, c.MaxBatchBytes, c.MaxBatchAge, c.MaxPendingBytes, uint8(c.Overflow), c.BlockTimeout,
			c.InitialBackoff, c.MaxBackoff, c.RetryBudget, c.RequestTimeout, c.Concurrency})
}

func TestSpoolSyncString(t *testing.T) {
	for p, want := range map[SpoolSync]string{SpoolSyncOnFlush: "flush", SpoolSyncInterval: "interval", SpoolSyncAlways: "always", SpoolSyncNever: "never", 9: "SpoolSync(9)"} {
		assert.Equal(t, want, p.String())
	}
}

// Each spool setting reaches the spool.
func TestSpoolOptionsReachTheSpool(t *testing.T) {
	c := (&Sink{}).engineConfig("n", Options{Spool: Spool{Dir: "d", MaxBytes: 1 << 20, Sync: SpoolSyncInterval, SyncEvery: time.Second}})
	require.NotNil(t, c.Spool)
	assert.Equal(t, "d", c.Spool.Dir)
	assert.EqualValues(t, 1<<20, c.Spool.MaxBytes)
	assert.EqualValues(t, SpoolSyncInterval, c.Spool.Sync)
	assert.Equal(t, time.Second, c.Spool.SyncEvery)
	assert.Equal(t, 1<<20, c.MaxPendingBytes, "the spool's bound is the pending bound")
	c = (&Sink{}).engineConfig("n", Options{Spool: Spool{Dir: "d"}})
	assert.EqualValues(t, DefaultSpoolMaxBytes, c.Spool.MaxBytes)
	assert.Nil(t, (&Sink{}).engineConfig("n", Options{}).Spool, "off by default")
}

func TestOverflowString(t *testing.T) {
	assert.Equal(t, "drop_newest", OverflowDropNewest.String())
	assert.Equal(t, "drop_oldest", OverflowDropOldest.String())
	assert.Equal(t, "block", OverflowBlock.String())
	assert.Equal(t, "Overflow(7)", Overflow(7).String())
}

func TestBufferResolve(t *testing.T) {
	b, err := Buffer{}.Resolve("x")
	require.NoError(t, err)
	assert.Equal(t, Buffer{Size: DefaultBufferSize, MaxBytes: DefaultMaxBufferedBytes}, b)
	b, err = Buffer{Size: 4 << 20}.Resolve("x")
	require.NoError(t, err)
	assert.Equal(t, 8<<20, b.MaxBytes, "never less than two buffers")
	_, err = Buffer{Size: -1}.Resolve("x: WithBuffer")
	assert.EqualError(t, err, "x: WithBuffer: Size: -1 is negative")
	_, err = Buffer{MaxBytes: -1}.Resolve("x: WithBuffer")
	assert.EqualError(t, err, "x: WithBuffer: MaxBytes: -1 is negative")
	_, err = Buffer{Size: MaxBufferSize + 1}.Resolve("x: WithBuffer")
	assert.EqualError(t, err, "x: WithBuffer: Size: 268435457 is above 268435456 (MaxBufferSize)")
	b, err = Buffer{Size: MaxBufferSize}.Resolve("x")
	require.NoError(t, err)
	assert.Equal(t, 2*MaxBufferSize, b.MaxBytes, "the largest buffer still gets two")
}

// TLS and AllowInsecure are connection settings: one refuses plain http
// off loopback unless allowed, the other reaches the sink's own client.
func TestConnectionSettings(t *testing.T) {
	_, err := NewSink("x", "http://example.com/logs", layout{}, Options{})
	assert.ErrorContains(t, err, "x: WithEndpoint: plain http to example.com needs")
	s, err := NewSink("x", "http://example.com/logs", layout{}, Options{AllowInsecure: true})
	require.NoError(t, err)
	require.NoError(t, s.Stop(t.Context()))
	_, err = NewSink("x", "https://example.com", layout{}, Options{TLS: &tls.Config{MinVersion: tls.VersionTLS13}, Headers: http.Header{"Bad Name": {"v"}}})
	assert.ErrorContains(t, err, "x: WithDelivery: Headers")
	_, err = NewSink("x", "https://example.com", nil, Options{})
	assert.ErrorContains(t, err, "nil Request")
}
