package events

import "time"

// AddRateLimited schedules key again after its per-key backoff:
// RetryBaseDelay * 2^(n-1), capped at RetryMaxDelay, where n counts the
// AddRateLimited calls for key since its last Forget.
func (q *Queue) AddRateLimited(key string) {
	q.mu.Lock()
	if q.shuttingDown {
		q.mu.Unlock()
		return
	}
	q.failures[key]++
	delay := q.retryDelayLocked(q.failures[key])
	q.mu.Unlock()
	q.opts.Metrics.retry()
	q.AddAfter(key, delay)
}

// Forget clears key's retry history, so its next AddRateLimited starts from
// RetryBaseDelay again. Call it when a key succeeded or was given up.
func (q *Queue) Forget(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.failures, key)
}

// NumRequeues returns how many times key went through AddRateLimited since
// its last Forget.
func (q *Queue) NumRequeues(key string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.failures[key]
}

func (q *Queue) retryDelayLocked(n int) time.Duration {
	d := q.opts.RetryBaseDelay
	for i := 1; i < n; i++ {
		d *= 2
		if d >= q.opts.RetryMaxDelay || d <= 0 {
			return q.opts.RetryMaxDelay
		}
	}
	if d > q.opts.RetryMaxDelay {
		return q.opts.RetryMaxDelay
	}
	return d
}
