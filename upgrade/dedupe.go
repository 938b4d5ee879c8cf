package upgrade

import (
	"container/list"
	"sync"
	"time"
)

// Deduper defaults.
const (
	// DefaultDedupeWindow is far longer than any registry's retry schedule (Harbor's job retries, distribution's
	// backoff), so a redelivery within it never redeploys.
	DefaultDedupeWindow = 24 * time.Hour
	// DefaultDedupeEntries bounds the (workload, repository, tag) slots remembered.
	DefaultDedupeEntries = 10000
)

// PushKey identifies one push applied to one workload.
type PushKey struct {
	Workload   string
	Repository string
	Tag        string
	Digest     string
}

// KeyOf is the key of push applied to the workload with id workloadID.
func KeyOf(workloadID string, push Push) PushKey {
	return PushKey{Workload: workloadID, Repository: push.Repository, Tag: push.Tag, Digest: push.Digest}
}

// DeduperOptions configure a Deduper.
type DeduperOptions struct {
	// Window is how long an applied push is remembered (DefaultDedupeWindow when <= 0).
	Window time.Duration
	// MaxEntries bounds memory: beyond it the slot used longest ago is forgotten (DefaultDedupeEntries when <= 0).
	MaxEntries int
}

// Deduper recognises a repeated delivery of a push already applied, so it does not redeploy twice. It
// remembers, per workload, repository and tag, the digest last applied and when. A push is a repeat when its
// digest is the one remembered for its slot within the window. A new digest on the same tag (a mutable tag
// such as "latest" pushed again) is not a repeat and replaces the remembered one; so is going back to an older
// digest (A, B, then A again re-deploys A). A push without a digest (Docker Hub, Quay and the custom shape
// carry none) can never be told apart from a new push of the same tag, so it is never a repeat and is not
// remembered: such registries redeploy on every delivery, as the original did.
//
// Safe for concurrent use; memory is bounded by MaxEntries.
type Deduper struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	// slots maps a slot's key to its element of order.
	slots map[slotKey]*list.Element
	// order holds the *slot values in order of last change (front oldest).
	order list.List
}

type slotKey struct{ workload, repository, tag string }

type slot struct {
	key    slotKey
	digest string
	at     time.Time
}

// NewDeduper returns an empty Deduper.
func NewDeduper(opts DeduperOptions) *Deduper {
	if opts.Window <= 0 {
		opts.Window = DefaultDedupeWindow
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultDedupeEntries
	}
	return &Deduper{window: opts.Window, max: opts.MaxEntries, slots: make(map[slotKey]*list.Element)}
}

// Seen reports whether k repeats the push last applied to its slot within the window, and otherwise remembers
// k as applied at now. Call it when a push is about to be applied; when applying fails, call Forget so the
// registry's retry applies it.
func (d *Deduper) Seen(k PushKey, now time.Time) bool {
	if k.Digest == "" {
		return false
	}
	sk := slotKey{k.Workload, k.Repository, k.Tag}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pruneLocked(now)
	e := d.slots[sk]
	if e != nil {
		// A repeat does not extend the window: the slot stays where it is. The window is checked here too, as
		// pruning stops at the first live slot: after a clock went backwards an expired slot may still be
		// remembered behind it.
		if s := slotOf(e); s.digest == k.Digest && now.Sub(s.at) < d.window {
			return true
		}
		d.order.MoveToBack(e)
	} else {
		e = d.order.PushBack(&slot{key: sk})
		d.slots[sk] = e
	}
	s := slotOf(e)
	s.digest, s.at = k.Digest, now
	for len(d.slots) > d.max {
		d.dropLocked(d.order.Front())
	}
	return false
}

// Forget drops k's slot if it still remembers k's digest, so the next delivery of k is applied.
func (d *Deduper) Forget(k PushKey) {
	sk := slotKey{k.Workload, k.Repository, k.Tag}
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.slots[sk]; e != nil && slotOf(e).digest == k.Digest {
		d.dropLocked(e)
	}
}

// Len returns the number of slots remembered.
func (d *Deduper) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.slots)
}

// pruneLocked drops the slots out of the window. Slots are in order of last change, so it stops at the first
// live one (a clock going backwards only delays pruning: Seen checks the window of the slot it finds).
func (d *Deduper) pruneLocked(now time.Time) {
	for e := d.order.Front(); e != nil && now.Sub(slotOf(e).at) >= d.window; e = d.order.Front() {
		d.dropLocked(e)
	}
}

func (d *Deduper) dropLocked(e *list.Element) {
	d.order.Remove(e)
	delete(d.slots, slotOf(e).key)
}

// slotOf is the slot an element of order holds: order holds nothing else.
func slotOf(e *list.Element) *slot { return e.Value.(*slot) }
