package ctxsync_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fapilog/fapilog-otel/internal/ctxsync"
)

func ExampleMutex() {
	mu := ctxsync.NewMutex()
	_ = mu.Lock(context.Background()) // held, say, by a write stuck on a full pipe

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := mu.Lock(ctx) // a flush waiting behind it gives up on time
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	mu.Unlock()
	// Output: true
}
