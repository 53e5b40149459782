package processor

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// RecordUIDKey is OpenTelemetry's log.record.uid attribute: the one the
// encoder reads as the envelope's message_id.
const RecordUIDKey attribute.Key = "log.record.uid"

// RecordUID gives every record one id, the log.record.uid attribute, so
// that a record can be matched across destinations and retries: the
// fapilog envelope uses it as message_id, OTLP/JSON and otlploghttp carry
// it as the attribute. The id is a UUIDv7 (RFC 9562): it sorts by the
// millisecond the record was stamped, and is still a valid envelope
// message_id. A record that already has a log.record.uid keeps it.
//
// Register it before the processors that export: it changes the record in
// place, and each exporting processor copies the record it sees. Enabled
// reports false, as Enrich's does. It is safe for concurrent use.
type RecordUID struct {
	seq atomic.Uint64 // orders ids within a millisecond
}

// NewRecordUID returns a RecordUID.
func NewRecordUID() *RecordUID {
	p := &RecordUID{}
	p.seq.Store(rand.Uint64())
	return p
}

// OnEmit sets log.record.uid unless the record has one.
func (p *RecordUID) OnEmit(_ context.Context, r *sdklog.Record) error {
	has := false
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		has = kv.Key == RecordUIDKey
		return !has
	})
	if !has {
		r.AddAttributes(attribute.String(string(RecordUIDKey), p.next(time.Now())))
	}
	return nil
}

// next returns a UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, the
// version, 12 bits of a counter started at random, the variant and 62
// random bits.
func (p *RecordUID) next(now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	binary.BigEndian.PutUint64(b[0:8], ms<<16)
	seq := p.seq.Add(1)
	b[6] = 0x70 | byte(seq>>8)&0x0f
	b[7] = byte(seq)
	binary.BigEndian.PutUint64(b[8:16], rand.Uint64())
	b[8] = 0x80 | b[8]&0x3f
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// Enabled reports false: RecordUID exports nothing.
func (*RecordUID) Enabled(context.Context, sdklog.EnabledParameters) bool { return false }

// Shutdown does nothing.
func (*RecordUID) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing.
func (*RecordUID) ForceFlush(context.Context) error { return nil }
