package healthcheck

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/sirupsen/logrus"
)

// Check is one named health condition supplied by the consumer. Func returns
// nil when the condition holds and an error saying why not otherwise; it must
// return promptly once ctx is done.
type Check struct {
	// Name keys the check in the JSON body; unique within one set of checks.
	Name string
	// Func evaluates the condition.
	Func func(ctx context.Context) error
}

// checkResult is what one check goroutine reports back.
type checkResult struct {
	name string
	err  error
}

// runChecks evaluates checks concurrently and returns one entry per check
// name: nil for a pass, the reason otherwise. It returns no later than
// timeout; checks that have not finished by then are reported as timed out.
// The results channel is buffered to len(checks) so a late check can always
// deliver its result and exit without a reader.
func runChecks(ctx context.Context, log logrus.FieldLogger, timeout time.Duration, checks []Check) map[string]error {
	out := make(map[string]error, len(checks))
	if len(checks) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	results := make(chan checkResult, len(checks))
	for _, c := range checks {
		go func() {
			results <- checkResult{name: c.Name, err: safeRun(ctx, log, c)}
		}()
	}
	for len(out) < len(checks) {
		select {
		case r := <-results:
			out[r.name] = r.err
		case <-ctx.Done():
			// Take what already arrived before declaring the rest late.
			for drained := false; !drained; {
				select {
				case r := <-results:
					out[r.name] = r.err
				default:
					drained = true
				}
			}
			for _, c := range checks {
				if _, done := out[c.Name]; !done {
					out[c.Name] = fmt.Errorf("check did not finish within %s: %w", timeout, ctx.Err())
				}
			}
			return out
		}
	}
	return out
}

// safeRun calls the check, turning a panic into a failure so one broken
// check cannot kill the process that Rancher is asking about.
func safeRun(ctx context.Context, log logrus.FieldLogger, c Check) (err error) {
	defer func() {
		if p := recover(); p != nil {
			log.WithField("err", fmt.Errorf("check %q panicked: %v\n%s", c.Name, p, debug.Stack())).
				Error("health check panicked")
			err = fmt.Errorf("check panicked: %v", p)
		}
	}()
	return c.Func(ctx)
}
