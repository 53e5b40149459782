package processor

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// Enrich adds attributes to records, in place: static ones given once, and
// ones computed from the context of the logging call (a request id that
// middleware stored, a tenant). An attribute the record already has is left
// as the caller set it. Register it before the processors that export.
//
// With nothing configured OnEmit returns at once. Enrich is safe for
// concurrent use if the context functions are.
type Enrich struct {
	static  []attribute.KeyValue
	fromCtx []func(context.Context) []attribute.KeyValue
}

// EnrichOption configures Enrich.
type EnrichOption interface{ applyEnrich(*Enrich) }

type enrichOption func(*Enrich)

func (f enrichOption) applyEnrich(e *Enrich) { f(e) }

// WithAttributes adds the same attributes to every record.
func WithAttributes(kvs ...attribute.KeyValue) EnrichOption {
	return enrichOption(func(e *Enrich) { e.static = append(e.static, kvs...) })
}

// WithContextAttributes adds the attributes f derives from the logging
// call's context; f returns nil when it has nothing to add.
func WithContextAttributes(f func(context.Context) []attribute.KeyValue) EnrichOption {
	return enrichOption(func(e *Enrich) { e.fromCtx = append(e.fromCtx, f) })
}

// NewEnrich returns an Enrich configured by opts.
func NewEnrich(opts ...EnrichOption) *Enrich {
	e := &Enrich{}
	for _, o := range opts {
		o.applyEnrich(e)
	}
	return e
}

// OnEmit adds the configured attributes that record does not have yet.
func (e *Enrich) OnEmit(ctx context.Context, record *sdklog.Record) error {
	if len(e.static) == 0 && len(e.fromCtx) == 0 {
		return nil
	}
	add := make([]attribute.KeyValue, 0, len(e.static)+2)
	add = append(add, e.static...)
	for _, f := range e.fromCtx {
		add = append(add, f(ctx)...)
	}
	if len(add) == 0 {
		return nil
	}
	record.WalkAttributes(func(kv attribute.KeyValue) bool {
		for i := 0; i < len(add); i++ {
			if add[i].Key == kv.Key {
				add = append(add[:i], add[i+1:]...)
				i--
			}
		}
		return len(add) > 0
	})
	record.AddAttributes(add...)
	return nil
}

// Enabled reports false: Enrich exports nothing (see Redact.Enabled).
func (e *Enrich) Enabled(context.Context, sdklog.EnabledParameters) bool { return false }

// Shutdown does nothing.
func (e *Enrich) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing.
func (e *Enrich) ForceFlush(context.Context) error { return nil }
