package events

import (
	"context"
	"sync"
	"time"
)

// Default per-key retry backoff of the queue (client-go's per-item limiter,
// with a lower cap: a Cattle conflict clears in seconds, not minutes).
const (
	DefaultRetryBaseDelay = 5 * time.Millisecond
	DefaultRetryMaxDelay  = 2 * time.Minute
)

// QueueOptions configures a Queue. Zero fields take defaults.
type QueueOptions struct {
	// RetryBaseDelay is the delay of the first AddRateLimited of a key; it
	// doubles on every further one until Forget.
	RetryBaseDelay time.Duration
	// RetryMaxDelay caps the per-key retry delay.
	RetryMaxDelay time.Duration
	// Metrics receives the queue depth and retry count; nil records nothing.
	Metrics *Metrics
}

// Queue is a keyed work queue with client-go workqueue semantics; see the
// package documentation for the guarantees. The zero value is not usable;
// build one with NewQueue. All methods are safe for concurrent use.
type Queue struct {
	opts QueueOptions

	mu   sync.Mutex
	cond *sync.Cond
	// fifo holds waiting keys in arrival order; every key in it is in dirty.
	fifo []string
	// dirty holds keys that need processing: waiting in fifo, or added
	// again while in flight (then not in fifo until Done).
	dirty map[string]struct{}
	// processing holds keys handed out by Get and not yet Done.
	processing map[string]struct{}
	// failures counts AddRateLimited calls per key since the last Forget.
	failures map[string]int
	// delayed holds one timer per key scheduled by AddAfter.
	delayed map[string]*delayedAdd

	shuttingDown bool
	draining     bool
	drained      chan struct{}
}

type delayedAdd struct {
	at    time.Time
	timer *time.Timer
}

// NewQueue returns an empty, running queue.
func NewQueue(opts QueueOptions) *Queue {
	if opts.RetryBaseDelay <= 0 {
		opts.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if opts.RetryMaxDelay <= 0 {
		opts.RetryMaxDelay = DefaultRetryMaxDelay
	}
	if opts.RetryMaxDelay < opts.RetryBaseDelay {
		opts.RetryMaxDelay = opts.RetryBaseDelay
	}
	q := &Queue{
		opts:       opts,
		dirty:      make(map[string]struct{}),
		processing: make(map[string]struct{}),
		failures:   make(map[string]int),
		delayed:    make(map[string]*delayedAdd),
		drained:    make(chan struct{}),
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add marks key as needing processing. A key already waiting is not queued
// twice; a key in flight is queued again when its worker calls Done. Add
// after shutdown is ignored.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(key)
}

func (q *Queue) addLocked(key string) {
	if q.shuttingDown {
		return
	}
	if _, ok := q.dirty[key]; ok {
		return
	}
	q.dirty[key] = struct{}{}
	if _, ok := q.processing[key]; ok {
		return
	}
	q.fifo = append(q.fifo, key)
	q.opts.Metrics.setQueueDepth(len(q.fifo))
	q.cond.Signal()
}

// Get blocks until a key is available and hands it out; the caller owns the
// key until it calls Done. shutdown is true once the queue has been shut down
// and (with ShutDownWithDrain) every waiting key has been handed out; the
// caller must then stop. Get has no context: ShutDown is what unblocks it.
func (q *Queue) Get() (key string, shutdown bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.fifo) == 0 && !q.shuttingDown {
		q.cond.Wait()
	}
	if len(q.fifo) == 0 {
		return "", true
	}
	key = q.fifo[0]
	q.fifo[0] = ""
	q.fifo = q.fifo[1:]
	if len(q.fifo) == 0 {
		// Let the backing array go; a long-running queue otherwise keeps
		// the largest backlog it ever had.
		q.fifo = nil
	}
	q.opts.Metrics.setQueueDepth(len(q.fifo))
	q.processing[key] = struct{}{}
	delete(q.dirty, key)
	return key, false
}

// Done marks the end of processing key. If key was added while in flight it
// is queued again now.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if _, ok := q.dirty[key]; ok {
		if q.shuttingDown && !q.draining {
			delete(q.dirty, key)
		} else {
			q.fifo = append(q.fifo, key)
			q.opts.Metrics.setQueueDepth(len(q.fifo))
			q.cond.Signal()
		}
	}
	q.checkDrainedLocked()
}

// Len returns the number of keys waiting (not in flight, not delayed).
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.fifo)
}

// ShuttingDown reports whether ShutDown or ShutDownWithDrain was called.
func (q *Queue) ShuttingDown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.shuttingDown
}

// ShutDown stops the queue at once: Add is ignored from now on, waiting and
// delayed keys are discarded, and every Get returns shutdown. Keys in flight
// still need their Done. Discarding is safe because processing is
// level-triggered: the next start resyncs everything.
func (q *Queue) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shuttingDown = true
	q.draining = false
	q.stopDelayedLocked()
	for _, k := range q.fifo {
		delete(q.dirty, k)
	}
	q.fifo = nil
	q.opts.Metrics.setQueueDepth(0)
	q.cond.Broadcast()
	q.checkDrainedLocked()
}

// ShutDownWithDrain stops accepting keys, lets workers take every waiting
// key, and blocks until no key is waiting or in flight. Delayed keys
// (AddAfter, AddRateLimited) are discarded. If ctx ends first the queue is
// shut down hard (see ShutDown) and ctx's error is returned.
func (q *Queue) ShutDownWithDrain(ctx context.Context) error {
	q.mu.Lock()
	if !q.shuttingDown {
		q.shuttingDown = true
		q.draining = true
	}
	q.stopDelayedLocked()
	q.cond.Broadcast()
	q.checkDrainedLocked()
	drained := q.drained
	q.mu.Unlock()

	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		q.ShutDown()
		return ctx.Err()
	}
}

func (q *Queue) checkDrainedLocked() {
	if !q.shuttingDown || len(q.fifo) != 0 || len(q.processing) != 0 {
		return
	}
	select {
	case <-q.drained:
	default:
		close(q.drained)
	}
}

// AddAfter adds key once delay has passed. While a key is scheduled, a later
// AddAfter only moves its time earlier, so a storm of AddAfter calls keeps one
// timer per key.
func (q *Queue) AddAfter(key string, delay time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shuttingDown {
		return
	}
	if delay <= 0 {
		q.addLocked(key)
		return
	}
	at := time.Now().Add(delay)
	if d, ok := q.delayed[key]; ok {
		if !at.Before(d.at) {
			return
		}
		d.timer.Stop()
	}
	d := &delayedAdd{at: at}
	d.timer = time.AfterFunc(delay, func() { q.fireDelayed(key, d) })
	q.delayed[key] = d
}

func (q *Queue) fireDelayed(key string, d *delayedAdd) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if cur, ok := q.delayed[key]; !ok || cur != d {
		// Superseded by an earlier schedule or stopped by shutdown.
		return
	}
	delete(q.delayed, key)
	q.addLocked(key)
}

func (q *Queue) stopDelayedLocked() {
	for k, d := range q.delayed {
		d.timer.Stop()
		delete(q.delayed, k)
	}
}
