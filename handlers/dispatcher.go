package handlers

import (
	"context"
	"fmt"
	"sync"

	"github.com/rancher/scale-subscriber/events"
)

// Reconciler does the work for one object id of its kind. It must be level-triggered: read the current state
// (from the cache or Cattle) and act on it, whatever led to the key being queued.
type Reconciler func(ctx context.Context, id string) error

// Dispatcher routes dequeued keys ("kind:id") to the reconciler registered for their kind. It is the queue's
// events.Processor.
type Dispatcher struct {
	mu          sync.RWMutex
	reconcilers map[string]Reconciler
}

// NewDispatcher returns a Dispatcher with no reconcilers.
func NewDispatcher() *Dispatcher {
	return &Dispatcher{reconcilers: map[string]Reconciler{}}
}

// Register installs the reconciler of a key kind; registering a kind twice is an error.
func (d *Dispatcher) Register(kind string, r Reconciler) error {
	if kind == "" || r == nil {
		return fmt.Errorf("register reconciler %q: kind and reconciler are required", kind)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, dup := d.reconcilers[kind]; dup {
		return fmt.Errorf("register reconciler %q: already registered", kind)
	}
	d.reconcilers[kind] = r
	return nil
}

// Process implements events.Processor. A malformed key is a permanent error (retrying cannot fix it); a kind
// without a reconciler needs no work.
func (d *Dispatcher) Process(ctx context.Context, key string) error {
	kind, id, ok := events.SplitKey(key)
	if !ok {
		return events.Permanent(fmt.Errorf("process key %q: malformed key", key))
	}
	d.mu.RLock()
	r := d.reconcilers[kind]
	d.mu.RUnlock()
	if r == nil {
		return nil
	}
	if err := r(ctx, id); err != nil {
		return fmt.Errorf("reconcile %s: %w", key, err)
	}
	return nil
}
