package processor

import (
	"errors"
	"reflect"
	"strings"
)

// rejectedLocked counts the records a partial success rejected, for the
// metrics and the next flush, and reports the answer.
func (b *Batch) rejectedLocked(rejected int, answer error) {
	b.counts.exportFailed.Add(int64(rejected))
	if rejected > 0 {
		b.ledger.Lost(rejected, answer)
	}
	if b.rejects.add(rejected, answer) {
		b.reportRejectsLocked()
	}
}

// partialSuccess reports whether err is an OTLP partial success, the
// answer of a receiver that took the request but rejected some of its
// records, and how many it rejected. The OTLP specification forbids
// retrying such a request: the records it took would arrive twice, and
// those it rejected would be rejected again. otlploghttp and otlploggrpc
// return it as an error of their internal type PartialSuccess, which no
// other package can name, so it is recognised here by its type's name and
// package, and its count read by field name; a count that cannot be read
// is 0 (the error is still reported).
func partialSuccess(err error) (rejected int, ok bool) {
	var found error
	walk(err, func(e error) bool {
		t := reflect.TypeOf(e)
		if t.Kind() == reflect.Struct && t.Name() == "PartialSuccess" &&
			strings.HasPrefix(t.PkgPath(), otlpExporters) {
			found = e
			return true
		}
		return false
	})
	if found == nil {
		return 0, false
	}
	if f := reflect.ValueOf(found).FieldByName("RejectedItems"); f.IsValid() && f.CanInt() {
		rejected = int(max(f.Int(), 0))
	}
	return rejected, true
}

// otlpExporters is the package path prefix of the OpenTelemetry Go OTLP
// exporters.
const otlpExporters = "go.opentelemetry.io/otel/exporters/otlp/"

// walk calls f on err and every error it wraps, depth first, until f
// returns true, and reports whether it did.
func walk(err error, f func(error) bool) bool {
	for err != nil {
		if f(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if walk(e, f) {
					return true
				}
			}
			return false
		default:
			err = errors.Unwrap(err)
		}
	}
	return false
}
