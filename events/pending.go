package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// DefaultMaxPending bounds the request events waiting for a reply.
const DefaultMaxPending = 1024

// PendingOptions configures a Pending.
type PendingOptions struct {
	// Replier publishes the replies; required.
	Replier *Replier
	// MaxEvents bounds the events held across all keys; default
	// DefaultMaxPending. Add fails with ErrPendingFull beyond it, so the
	// Router answers the request with an error instead of holding it.
	MaxEvents int
}

// Pending holds request events (events with a replyTo) whose work was
// handed to the queue as a key, so that the worker that processes the key
// can answer them. Events coalesce per key like the key itself: one
// processing of the key answers every event that was pending when the
// processing started; events arriving during processing wait for the next
// round, which the queue guarantees because the key was re-added. Safe for
// concurrent use.
type Pending struct {
	opts PendingOptions

	mu    sync.Mutex
	byKey map[string][]Event
	total int
}

// NewPending validates opts and returns an empty Pending.
func NewPending(opts PendingOptions) (*Pending, error) {
	if opts.Replier == nil {
		return nil, errors.New("new pending: replier is required")
	}
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = DefaultMaxPending
	}
	return &Pending{opts: opts, byKey: make(map[string][]Event)}, nil
}

// Add records ev as waiting for the outcome of key. Events without replyTo
// are ignored, and an event id already waiting on key is not held twice
// (Cattle re-sends a request on timeout).
func (p *Pending) Add(key string, ev Event) error {
	if ev.ReplyTo == "" {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.byKey[key] {
		if e.ID == ev.ID {
			return nil
		}
	}
	if p.total >= p.opts.MaxEvents {
		return fmt.Errorf("hold event %s for key %s: %w", ev.ID, key, ErrPendingFull)
	}
	p.byKey[key] = append(p.byKey[key], ev)
	p.total++
	return nil
}

// Len returns the number of events waiting for a reply.
func (p *Pending) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// take removes and returns the events waiting on key.
func (p *Pending) take(key string) []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	evs := p.byKey[key]
	delete(p.byKey, key)
	p.total -= len(evs)
	return evs
}

// restore puts events taken for a processing that will be retried back in
// front of any that arrived meanwhile. It may exceed MaxEvents: these were
// admitted already and must not be lost.
func (p *Pending) restore(key string, evs []Event) {
	if len(evs) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byKey[key] = append(evs, p.byKey[key]...)
	p.total += len(evs)
}

// finish answers evs with the outcome of their key.
func (p *Pending) finish(ctx context.Context, evs []Event, err error) {
	for _, ev := range evs {
		// Publish failures are logged and counted by the Replier.
		_ = p.opts.Replier.Finish(ctx, ev, err)
	}
}

// progress sends a keep-alive for evs, so Cattle keeps waiting while the key
// is retried.
func (p *Pending) progress(ctx context.Context, evs []Event, msg string) {
	for _, ev := range evs {
		_ = p.opts.Replier.Progress(ctx, ev, msg, 0)
	}
}

// KeyFunc maps an event to the queue key it concerns; ok false means the
// event needs no work.
type KeyFunc func(ev Event) (key string, ok bool)

// EnqueueHandler returns a Handler that adds the event's key to q. With a
// non-nil p, a request event is held in p and answered by the worker that
// processes the key (the handler returns ErrDeferred); otherwise the Router
// answers it at once.
func EnqueueHandler(q *Queue, p *Pending, keyOf KeyFunc) Handler {
	return func(_ context.Context, ev Event) error {
		key, ok := keyOf(ev)
		if !ok {
			return nil
		}
		if q.ShuttingDown() {
			return fmt.Errorf("enqueue %s: %w", key, ErrQueueShutDown)
		}
		deferred := false
		if p != nil && ev.ReplyTo != "" {
			if err := p.Add(key, ev); err != nil {
				return err
			}
			deferred = true
		}
		q.Add(key)
		if deferred {
			return ErrDeferred
		}
		return nil
	}
}
