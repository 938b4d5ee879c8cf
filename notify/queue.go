package notify

import "sync"

// job is one notification on one channel.
type job struct {
	channel    string
	deliveryID string
	msg        Message
	webhook    WebhookConfig
	email      EmailConfig
}

// jobQueue is a bounded FIFO that never blocks its producer: when full, push evicts the oldest job and hands
// it back so the caller can count and log it. Newer outcomes are worth more than older ones, and the caller
// is an upgrade that must not wait for a mail server.
type jobQueue struct {
	mu    sync.Mutex
	ring  []job
	head  int // index of the oldest job
	count int
	// wake holds at most one token: "the queue may be non-empty". A worker that takes a job passes the token
	// on when jobs remain, so one token wakes as many workers as there are jobs.
	wake chan struct{}
	// metrics' queue length is set under mu, so concurrent pushes and pops cannot leave it stale.
	metrics *Metrics
}

func newJobQueue(size int, m *Metrics) *jobQueue {
	return &jobQueue{ring: make([]job, size), wake: make(chan struct{}, 1), metrics: m}
}

// push appends j; when the queue was full it returns the evicted oldest job and true.
func (q *jobQueue) push(j job) (evicted job, dropped bool) {
	q.mu.Lock()
	if q.count == len(q.ring) {
		evicted, dropped = q.ring[q.head], true
		q.ring[q.head] = job{}
		q.head = (q.head + 1) % len(q.ring)
		q.count--
	}
	q.ring[(q.head+q.count)%len(q.ring)] = j
	q.count++
	q.metrics.queueLength(q.count)
	q.mu.Unlock()
	q.signal()
	return evicted, dropped
}

// pop removes the oldest job.
func (q *jobQueue) pop() (j job, ok bool) {
	q.mu.Lock()
	if q.count == 0 {
		q.mu.Unlock()
		return job{}, false
	}
	j = q.ring[q.head]
	q.ring[q.head] = job{}
	q.head = (q.head + 1) % len(q.ring)
	q.count--
	remaining := q.count
	q.metrics.queueLength(remaining)
	q.mu.Unlock()
	if remaining > 0 {
		q.signal()
	}
	return j, true
}

// takeAll empties the queue and returns what it held, oldest first.
func (q *jobQueue) takeAll() []job {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]job, 0, q.count)
	for q.count > 0 {
		out = append(out, q.ring[q.head])
		q.ring[q.head] = job{}
		q.head = (q.head + 1) % len(q.ring)
		q.count--
	}
	q.metrics.queueLength(0)
	return out
}

func (q *jobQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
