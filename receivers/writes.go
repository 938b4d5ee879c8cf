package receivers

import (
	"sync"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
)

// recentWritesTTL is how long the API remembers its own writes. resource.change events reach the cache within
// milliseconds; the margin covers slow event delivery and a relist racing with the write.
const recentWritesTTL = 10 * time.Minute

// recentWrites makes this API read its own writes even while the cache lags behind them. Writing to the cache
// directly is not enough: an event rendered before the write (the "active" of a receiver that has just been
// deleted) or a relist listed before it can still arrive afterwards and move the cached copy back. So the API
// also remembers, for a while, what it created and what it removed, and every read applies that on top of the
// cache: a removed receiver stays revoked whatever the cache says (ids are never reused and removal is final),
// and a created one is served even before the cache holds it.
type recentWrites struct {
	mu      sync.Mutex
	now     func() time.Time
	created map[string]createdEntry
	removed map[string]time.Time
}

type createdEntry struct {
	obj *cattle.GenericObject
	at  time.Time
}

func newRecentWrites(now func() time.Time) *recentWrites {
	return &recentWrites{now: now, created: map[string]createdEntry{}, removed: map[string]time.Time{}}
}

// noteCreated remembers a receiver this API created.
func (w *recentWrites) noteCreated(obj *cattle.GenericObject) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pruneLocked()
	w.created[obj.ID] = createdEntry{obj: obj, at: w.now()}
}

// noteRemoved remembers a receiver this API removed.
func (w *recentWrites) noteRemoved(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pruneLocked()
	delete(w.created, id)
	w.removed[id] = w.now()
}

// isRemoved reports whether this API removed the receiver recently.
func (w *recentWrites) isRemoved(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.removed[id]
	return ok
}

// createdObjects returns the receivers this API created recently and has not removed.
func (w *recentWrites) createdObjects() []*cattle.GenericObject {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*cattle.GenericObject, 0, len(w.created))
	for _, e := range w.created {
		out = append(out, e.obj)
	}
	return out
}

// createdByID returns a receiver this API created recently and has not removed.
func (w *recentWrites) createdByID(id string) (*cattle.GenericObject, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.created[id]
	return e.obj, ok
}

// pruneLocked forgets writes older than recentWritesTTL; it runs on every write, so memory is bounded by the
// writes of one TTL.
func (w *recentWrites) pruneLocked() {
	cutoff := w.now().Add(-recentWritesTTL)
	for id, e := range w.created {
		if e.at.Before(cutoff) {
			delete(w.created, id)
		}
	}
	for id, at := range w.removed {
		if at.Before(cutoff) {
			delete(w.removed, id)
		}
	}
}
