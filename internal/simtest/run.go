package simtest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Go runs fn in a goroutine the test owns. The returned stop cancels fn's context and waits up to timeout for fn
// to return; it returns fn's result, or an error if fn did not return in time, and later calls return the same
// result. stop also runs in tb.Cleanup, where a non-nil result fails the test, so a cleanup registered before
// Go runs after fn has returned (cleanups run last-registered first).
func Go(tb testing.TB, what string, timeout time.Duration, fn func(ctx context.Context) error) (stop func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	var (
		once   sync.Once
		result error
	)
	stop = func() error {
		once.Do(func() {
			cancel()
			timer := time.NewTimer(timeout)
			defer timer.Stop()
			select {
			case result = <-done:
			case <-timer.C:
				result = fmt.Errorf("%s did not return within %s of cancel", what, timeout)
			}
		})
		return result
	}
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Errorf("%s after cancel: %v", what, err)
		}
	})
	return stop
}
