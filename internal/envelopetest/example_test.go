package envelopetest_test

import (
	"fmt"

	"github.com/fapilog/fapilog-otel/internal/envelopetest"
)

func ExampleValidate() {
	err := envelopetest.Validate([]byte(`{"schema_version":"1.1","log":{}}`))
	fmt.Println(err != nil)
	// Output: true
}
