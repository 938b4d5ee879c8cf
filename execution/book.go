package execution

import (
	"errors"
	"sort"
	"sync"
)

// DefaultMaxIntents bounds the intents waiting in a Book when BookOptions.Max is zero.
const DefaultMaxIntents = 10000

// ErrBookFull is returned when too many triggers are waiting; the sender gets a 503 and retries.
var ErrBookFull = errors.New("too many triggers waiting to be executed")

// ErrUnknownExecution is returned when a webhook.execute event names no parked intent (a duplicate delivery).
var ErrUnknownExecution = errors.New("no parked trigger for this execution")

// ErrShuttingDown is returned for a trigger that arrives once the executor was closed: the sender gets a 503
// and sends it again to the next instance.
var ErrShuttingDown = errors.New("scale-subscriber is shutting down: the trigger was not executed, send it again")

// Book holds intents between the trigger and the worker that executes them: first parked under their execution id
// (until the webhook.execute event is routed), then filed under their target key until a worker takes every intent
// of that key at once. Bounded in total; safe for concurrent use.
type Book struct {
	mu     sync.Mutex
	max    int
	total  int
	parked map[string]*intent
	byKey  map[string][]*intent
	// closed refuses new intents once the executor shut down (see close).
	closed bool
}

// NewBook returns a Book that holds at most max intents (DefaultMaxIntents when max <= 0).
func NewBook(max int) *Book {
	if max <= 0 {
		max = DefaultMaxIntents
	}
	return &Book{max: max, parked: make(map[string]*intent), byKey: make(map[string][]*intent)}
}

// park holds in until file is called with its id.
func (b *Book) park(in *intent) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrShuttingDown
	}
	if b.total >= b.max {
		return ErrBookFull
	}
	b.total++
	b.parked[in.entry.ID()] = in
	return nil
}

// unpark removes a parked intent that will never be filed (routing failed).
func (b *Book) unpark(id string) { b.unparkIfParked(id) }

// file moves the parked intent id under its key and returns the key to enqueue.
func (b *Book) file(id string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.parked[id]
	if !ok {
		return "", ErrUnknownExecution
	}
	delete(b.parked, id)
	b.byKey[in.key] = append(b.byKey[in.key], in)
	return in.key, nil
}

// take removes and returns every intent filed under key, oldest first.
func (b *Book) take(key string) []*intent {
	b.mu.Lock()
	defer b.mu.Unlock()
	ins := b.byKey[key]
	delete(b.byKey, key)
	b.total -= len(ins)
	return ins
}

// putBack files intents again in front of any filed since, after a retryable failure, so order is kept.
func (b *Book) putBack(key string, ins []*intent) {
	if len(ins) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.byKey[key] = append(ins, b.byKey[key]...)
	b.total += len(ins)
}

// Len is the number of intents held.
func (b *Book) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

// unparkIfParked removes id if it is still parked and says whether it was.
func (b *Book) unparkIfParked(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.parked[id]; !ok {
		return false
	}
	delete(b.parked, id)
	b.total--
	return true
}

// close refuses every later park and returns every intent held, parked or filed, so the executor can answer
// them when it shuts down. Filed intents come in key order, oldest first within a key.
func (b *Book) close() []*intent {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	keys := make([]string, 0, len(b.byKey))
	for k := range b.byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*intent
	for _, k := range keys {
		out = append(out, b.byKey[k]...)
	}
	ids := make([]string, 0, len(b.parked))
	for id := range b.parked {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		out = append(out, b.parked[id])
	}
	b.byKey = make(map[string][]*intent)
	b.parked = make(map[string]*intent)
	b.total = 0
	return out
}
