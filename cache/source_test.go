package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
)

// fakeSource is an in-memory Cattle for informer tests: lists are in id order, honour id_gt and Limit (one
// page), and ignore offsets. Lists and reads take their snapshot first and then call
// the hooks before returning it, so a test can hold a stale answer in flight while it applies newer events:
// exactly the interleavings the informer's protocol must survive.
type fakeSource struct {
	mu      sync.Mutex
	objects map[string]map[string]json.RawMessage // schema → id → rendering
	// afterList and afterByID run after the snapshot, before the answer is returned; they may block.
	afterList func(ctx context.Context, schema string) error
	afterByID func(ctx context.Context, schema, id string) error
	listOpts  map[string][]cattle.ListOptions
	// ignoreIDFilter makes List ignore id_gt, like a server that does not know the filter.
	ignoreIDFilter bool
	byIDs          []string // "schema/id" in call order
}

func newFakeSource() *fakeSource {
	return &fakeSource{objects: map[string]map[string]json.RawMessage{}, listOpts: map[string][]cattle.ListOptions{}}
}

// set stores (or, with raw nil, deletes) the truth for one object.
func (f *fakeSource) set(schema, id string, raw json.RawMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.objects[schema] == nil {
		f.objects[schema] = map[string]json.RawMessage{}
	}
	if raw == nil {
		delete(f.objects[schema], id)
		return
	}
	f.objects[schema][id] = raw
}

func (f *fakeSource) hooks(afterList func(context.Context, string) error, afterByID func(context.Context, string, string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.afterList, f.afterByID = afterList, afterByID
}

func (f *fakeSource) byIDCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.byIDs...)
}

func (f *fakeSource) List(ctx context.Context, schema string, opts cattle.ListOptions, out any) error {
	f.mu.Lock()
	f.listOpts[schema] = append(f.listOpts[schema], opts)
	ids := make([]string, 0, len(f.objects[schema]))
	after := opts.Filters.Get("id_gt")
	for id := range f.objects[schema] {
		if after == "" || f.ignoreIDFilter || idAfter(id, after) {
			ids = append(ids, id)
		}
	}
	sortIDs(ids)
	if opts.Limit > 0 && len(ids) > opts.Limit {
		ids = ids[:opts.Limit]
	}
	rows := make([]json.RawMessage, 0, len(ids))
	for _, id := range ids {
		rows = append(rows, f.objects[schema][id])
	}
	hook := f.afterList
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, schema); err != nil {
			return fmt.Errorf("list %s: %w", schema, err)
		}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func (f *fakeSource) ByID(ctx context.Context, schema, id string, out any) error {
	f.mu.Lock()
	f.byIDs = append(f.byIDs, schema+"/"+id)
	raw, ok := f.objects[schema][id]
	hook := f.afterByID
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, schema, id); err != nil {
			return fmt.Errorf("get %s %s: %w", schema, id, err)
		}
	}
	if !ok {
		return fmt.Errorf("get %s %s: %w", schema, id, cattle.ErrNotFound)
	}
	return json.Unmarshal(raw, out)
}

// runInformer starts inf.Run and stops it when the test ends.
func runInformer(t *testing.T, inf *Informer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inf.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("informer run: %v", err)
		}
	})
}

// changeLog records OnChange calls.
type changeLog struct {
	mu      sync.Mutex
	changes []Change
}

func (l *changeLog) add(c Change) {
	l.mu.Lock()
	l.changes = append(l.changes, c)
	l.mu.Unlock()
}

func (l *changeLog) all() []Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Change(nil), l.changes...)
}

func newTestInformer(t *testing.T, src *fakeSource, mod func(*InformerOptions)) (*Informer, *Store, *changeLog) {
	t.Helper()
	s, _ := newTestStore(t)
	log := &changeLog{}
	opts := InformerOptions{Store: s, Source: src, OnChange: log.add, RetryInitial: 5 * time.Millisecond,
		RetryMax: 20 * time.Millisecond}
	if mod != nil {
		mod(&opts)
	}
	inf, err := NewInformer(opts)
	if err != nil {
		t.Fatalf("new informer: %v", err)
	}
	return inf, s, log
}

// gate holds a hooked call until the test releases it: the call announces itself on entered (buffered) and
// then waits for release or its context.
type gate struct {
	entered chan string
	release chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan string, 64), release: make(chan struct{})} }

func (g *gate) wait(ctx context.Context, what string) error {
	g.entered <- what
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// open lets one waiting call through, failing the test if none is waiting.
func (g *gate) open(t *testing.T) {
	t.Helper()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case g.release <- struct{}{}:
	case <-timer.C:
		t.Fatal("no call waiting at the gate")
	}
}
