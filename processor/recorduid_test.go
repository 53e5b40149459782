package processor

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/log/logtest"

	"github.com/fapilog/fapilog-otel/internal/encoding"
)

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func uidOf(r *sdklog.Record) (string, int) {
	var uid string
	n := 0
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		if kv.Key == RecordUIDKey {
			uid = kv.Value.AsString()
			n++
		}
		return true
	})
	return uid, n
}

// The key stamped here is the one the encoder turns into message_id.
func TestRecordUIDKeyIsTheEncoders(t *testing.T) {
	assert.Equal(t, encoding.RecordUIDKey, RecordUIDKey)
}

func TestRecordUIDStampsOnce(t *testing.T) {
	p := NewRecordUID()
	seen := map[string]bool{}
	for range 10000 {
		r := logtest.RecordFactory{}.NewRecord()
		require.NoError(t, p.OnEmit(context.Background(), &r))
		uid, n := uidOf(&r)
		require.Equal(t, 1, n)
		require.Regexp(t, uuidV7, uid)
		require.False(t, seen[uid], "repeated id")
		seen[uid] = true
		require.NoError(t, p.OnEmit(context.Background(), &r))
		again, n := uidOf(&r)
		require.Equal(t, 1, n, "a second pass adds nothing")
		require.Equal(t, uid, again)
	}
	r := logtest.RecordFactory{Attributes: []attribute.KeyValue{attribute.String(string(RecordUIDKey), "mine")}}.NewRecord()
	require.NoError(t, p.OnEmit(context.Background(), &r))
	uid, n := uidOf(&r)
	assert.Equal(t, "mine", uid, "a record's own id is kept")
	assert.Equal(t, 1, n)
	assert.False(t, p.Enabled(context.Background(), sdklog.EnabledParameters{}))
}

// The id sorts by the millisecond of its time.
func TestRecordUIDIsTimeOrdered(t *testing.T) {
	p := NewRecordUID()
	base := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 100 {
		id := p.next(base.Add(time.Duration(i) * time.Millisecond))
		require.Regexp(t, uuidV7, id)
		require.Greater(t, id, prev)
		prev = id
	}
	assert.Equal(t, "01a22499-f800", p.next(base)[:13], "48 bits of Unix milliseconds up front (1795996800000)")
}
