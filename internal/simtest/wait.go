package simtest

import (
	"fmt"
	"testing"
	"time"
)

// DefaultTimeout bounds the harness's waits when an option leaves the bound zero. The conditions themselves take
// milliseconds to a few seconds; the margin is for -race on a loaded 2-core machine.
const DefaultTimeout = 30 * time.Second

// PollInterval is how often Eventually re-checks its condition.
const PollInterval = 10 * time.Millisecond

// Until calls cond every interval until it holds, and returns an error if it still does not once timeout has
// passed (cond is asked one last time at the deadline). It never touches a test, so goroutines and benchmarks
// that report errors their own way can use it.
func Until(timeout, interval time.Duration, cond func() bool) error {
	if cond() {
		return nil
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			if cond() {
				return nil
			}
			return fmt.Errorf("not reached within %s", timeout)
		case <-tick.C:
			if cond() {
				return nil
			}
		}
	}
}

// Eventually polls cond every PollInterval until it holds, and fails the test once timeout has passed with what
// and cond's last explanation. Call it from the test's goroutine (it calls tb.Fatalf).
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	EventuallyEvery(tb, timeout, PollInterval, what, cond)
}

// EventuallyEvery is Eventually polling every interval: for a test that must catch a state lasting a few
// milliseconds (a transitioning state of a fast emulator), or that waits on a cheap in-process condition.
func EventuallyEvery(tb testing.TB, timeout, interval time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	var why string
	err := Until(timeout, interval, func() bool {
		var ok bool
		ok, why = cond()
		return ok
	})
	if err == nil {
		return
	}
	if why == "" {
		tb.Fatalf("%s: %v", what, err)
	}
	tb.Fatalf("%s: %v: %s", what, err, why)
}

// Recv waits up to timeout for one value from ch, and fails the test without one.
func Recv[T any](tb testing.TB, ch <-chan T, timeout time.Duration, what string) T {
	tb.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		tb.Fatalf("no %s within %s", what, timeout)
		var zero T
		return zero
	}
}
