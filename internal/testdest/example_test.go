package testdest_test

import (
	"fmt"

	"github.com/fapilog/fapilog-otel/internal/testdest"
)

func ExampleWriter() {
	w := testdest.New()
	_, _ = w.Write([]byte("one\ntwo\n"))
	heal := w.Fail()
	_, err := w.Write([]byte("lost\n"))
	heal()
	fmt.Println(len(w.Lines()), err)
	// Output: 2 testdest: injected write failure
}
