package cattle

import (
	"context"
	"math/rand/v2"
	"time"
)

// RetryPolicy retries a call while it fails with an error IsRetryable accepts: at most Retries times, waiting
// Initial before the first retry and twice as long before each next one (capped at Max when Max is set), each
// wait jittered to [w/2, 3w/2) so that several clients retrying against one Cattle do not move in step. The
// client's GETs and the cache's relist requests share it.
type RetryPolicy struct {
	Retries int
	Initial time.Duration
	Max     time.Duration
}

// Do runs call until it succeeds, fails with an error that is not retryable, the retries are spent or ctx ends,
// and returns its last error. onRetry, when set, is told of each failure that is retried and the wait before it.
func (p RetryPolicy) Do(ctx context.Context, call func() error, onRetry func(retry int, wait time.Duration, err error)) error {
	wait := p.Initial
	for retry := 1; ; retry++ {
		err := call()
		if err == nil || retry > p.Retries || !IsRetryable(err) || ctx.Err() != nil {
			return err
		}
		d := wait/2 + time.Duration(rand.Int64N(int64(wait)+1))
		if onRetry != nil {
			onRetry(retry, d, err)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
		if p.Max > 0 {
			wait = min(wait, p.Max)
		}
	}
}
