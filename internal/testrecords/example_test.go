package testrecords_test

import (
	"fmt"

	"github.com/fapilog/fapilog-otel/internal/testrecords"
)

func ExampleTenAttributes() {
	fmt.Println(testrecords.Message, len(testrecords.TenAttributes()))
	// Output: request served 10
}
