package ctxsync

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBounded(t *testing.T) {
	errF := errors.New("f failed")
	t.Run("result", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		left, err := Bounded(ctx, 0, func(context.Context) error { return errF })
		if left != nil || !errors.Is(err, errF) {
			t.Fatalf("got %v, %v; want f's error", left, err)
		}
	})
	t.Run("a context that cannot end runs f inline", func(t *testing.T) {
		var ran bool
		left, err := Bounded(context.Background(), 0, func(context.Context) error { ran = true; return nil })
		if left != nil || err != nil || !ran {
			t.Fatalf("got %v, %v, ran %v", left, err, ran)
		}
	})
	t.Run("panic", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := Bounded(ctx, 0, func(context.Context) error { panic("boom") })
		if err == nil || !strings.Contains(err.Error(), "panicked: boom") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("left running", func(t *testing.T) {
		release := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		left, err := Bounded(ctx, time.Millisecond, func(context.Context) error { <-release; return nil })
		if left == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "left running") {
			t.Fatalf("got %v, %v", left, err)
		}
		select {
		case <-left:
			t.Fatal("closed while f runs")
		default:
		}
		close(release)
		<-left // f returned: no goroutine left (goleak in TestMain)
	})
	t.Run("grace", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		// f ignores the ended context but returns within the grace.
		left, err := Bounded(ctx, time.Minute, func(context.Context) error { return errF })
		if left != nil || !errors.Is(err, errF) {
			t.Fatalf("got %v, %v; want f's error within the grace", left, err)
		}
	})
}
