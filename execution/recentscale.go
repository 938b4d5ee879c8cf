package execution

import (
	"sync"
	"time"
)

// recentScales remembers the scale each service was last PUT to, until the cache shows it. Between our PUT and
// the event that reports it, the cache still shows the service idle at the old scale; a trigger arriving then
// would read Cattle only to learn the service is busy. With the marker it waits for that event instead.
type recentScales struct {
	mu sync.Mutex
	m  map[string]recentScale
}

type recentScale struct {
	target int64
	at     time.Time
}

func (r *recentScales) put(id string, target int64, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string]recentScale)
	}
	r.m[id] = recentScale{target: target, at: at}
}

// pending reports whether our last PUT on id is not yet visible in the cached scale. A marker older than
// maxAge is dropped: someone else may have changed the scale meanwhile, and the Cattle read is then due.
func (r *recentScales) pending(id string, cachedScale int64, now time.Time, maxAge time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	rs, ok := r.m[id]
	if !ok {
		return false
	}
	if cachedScale == rs.target || now.Sub(rs.at) > maxAge {
		delete(r.m, id)
		return false
	}
	return true
}
