package processor

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// PartialSuccess has the name and fields of otlploghttp's internal type,
// but not its package: it must not be taken for an OTLP partial success
// (an error of the user's that happens to share the name would then stop
// a failed export from being retried). The real one is recognised in
// integration's TestOTLPPartialSuccessIsNotRetried, through otlploghttp.
type PartialSuccess struct{ RejectedItems int64 }

func (PartialSuccess) Error() string { return "partial" }

func TestPartialSuccessIsRecognisedByPackage(t *testing.T) {
	for _, err := range []error{
		nil,
		errors.New("OTLP partial success: looks like one (1 logs rejected)"),
		PartialSuccess{RejectedItems: 1},
		errors.Join(errors.New("a"), fmt.Errorf("b: %w", PartialSuccess{RejectedItems: 1})),
	} {
		_, ok := partialSuccess(err)
		assert.False(t, ok, "%v", err)
	}
}

func TestWalkVisitsEveryWrappedError(t *testing.T) {
	leaf := errors.New("leaf")
	tree := fmt.Errorf("top: %w", errors.Join(errors.New("x"), fmt.Errorf("mid: %w", leaf)))
	var seen int
	found := walk(tree, func(e error) bool { seen++; return e == leaf })
	assert.True(t, found)
	assert.Equal(t, 5, seen, "top, the join, x, mid, leaf")
	assert.False(t, walk(tree, func(error) bool { return false }))
}
