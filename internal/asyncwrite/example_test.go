package asyncwrite_test

import (
	"context"
	"fmt"
	"os"

	"github.com/fapilog/fapilog-otel/internal/asyncwrite"
)

func ExampleWriter() {
	w := asyncwrite.New("example", os.Stdout, 64<<10, 1<<20)
	ctx := context.Background()
	_ = w.Write(ctx, []byte(`{"n":1}`))
	_ = w.Write(ctx, []byte(`{"n":2}`))
	// Flush returns once both lines are written to stdout.
	if err := w.Flush(ctx); err != nil {
		fmt.Println(err)
	}
	_ = w.Close(ctx)
	// Output:
	// {"n":1}
	// {"n":2}
}
