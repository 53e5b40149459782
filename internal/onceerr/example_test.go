package onceerr_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/fapilog/fapilog-otel/internal/onceerr"
)

// A second Shutdown does not run the work again, and does not turn the
// first one's failure into nil.
func Example() {
	var once onceerr.Once
	shutdown := func(ctx context.Context) error {
		return once.Do(ctx, "shutdown", func() error {
			fmt.Println("closing")
			return errors.New("disk full")
		})
	}
	fmt.Println(shutdown(context.Background()))
	fmt.Println(shutdown(context.Background()))
	// Output:
	// closing
	// disk full
	// disk full
}
