package alertmanager

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"maps"
	"slices"
	"sync"
	"time"
)

// Deduper defaults.
const (
	// DefaultWindow is longer than Alertmanager's default repeat_interval (4h), so an unchanged group re-sent
	// while still firing does nothing; after the window a repeat acts again.
	DefaultWindow = 24 * time.Hour
	// DefaultMaxEntries bounds the alerts remembered across all groups.
	DefaultMaxEntries = 10000
)

// DeduperOptions configure a Deduper.
type DeduperOptions struct {
	// Window is how long an alert is remembered after it was first seen (DefaultWindow when <= 0).
	Window time.Duration
	// MaxEntries bounds memory: the number of alerts remembered across all groups. Beyond it the groups
	// touched longest ago are forgotten first, then the oldest alerts of a group larger than the bound
	// (DefaultMaxEntries when <= 0).
	MaxEntries int
}

type hash = [sha256.Size]byte

// Deduper recognises repeated notifications. It remembers, per receiver, group (groupKey) and status, the
// alerts seen (by fingerprint and startsAt) and when each was first seen. A notification is a repeat when every
// one of its alerts was seen within the window: an identical re-send (repeat_interval, a retry, the other
// Alertmanager of an HA pair), a group that shrank (an alert resolved without send_resolved) or one whose
// alerts changed only their own status. A notification with an alert not seen before (one joined the group,
// or restarted with a new startsAt), or with another status, is new. The window runs from an alert's first
// sighting and is not extended by repeats, so an unchanged group acts at most once per window.
//
// Safe for concurrent use; memory is bounded by MaxEntries.
type Deduper struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	// groups maps a group's key to its element of order.
	groups map[hash]*list.Element
	// order holds the *group values in the order they were last given a new alert (front oldest).
	order list.List
	// alerts counts the alerts remembered in all groups.
	alerts int
}

type group struct {
	key hash
	// seen maps an alert identity to when it was first seen.
	seen map[hash]time.Time
	// touched is the latest first-seen time of its alerts: the group is over when touched is out of the window.
	touched time.Time
}

// NewDeduper returns an empty Deduper.
func NewDeduper(opts DeduperOptions) *Deduper {
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	return &Deduper{window: opts.Window, max: opts.MaxEntries, groups: make(map[hash]*list.Element)}
}

// Seen reports whether n is a repeat for receiverID at now, and otherwise remembers its alerts. When acting on
// a notification that was not a repeat fails, call Forget so the sender's retry acts.
func (d *Deduper) Seen(receiverID string, n Notification, now time.Time) bool {
	key, ids := groupKey(receiverID, n), alertIDs(n)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pruneLocked(now)
	e := d.groups[key]
	if e != nil && d.coveredLocked(groupOf(e), ids, now) {
		return true
	}
	var g *group
	if e == nil {
		g = &group{key: key, seen: make(map[hash]time.Time, len(ids))}
		e = d.order.PushBack(g)
		d.groups[key] = e
	} else {
		g = groupOf(e)
		d.order.MoveToBack(e)
		for id, at := range g.seen {
			if now.Sub(at) >= d.window {
				delete(g.seen, id)
				d.alerts--
			}
		}
	}
	for _, id := range ids {
		if _, ok := g.seen[id]; !ok {
			g.seen[id] = now
			d.alerts++
		}
	}
	g.touched = now
	for d.alerts > d.max && d.order.Front() != e {
		d.dropLocked(d.order.Front())
	}
	if d.alerts > d.max {
		d.trimLocked(g, d.max)
	}
	return false
}

// trimLocked keeps the keep alerts of g seen last: the only group left is larger than the memory bound.
func (d *Deduper) trimLocked(g *group, keep int) {
	ids := slices.SortedFunc(maps.Keys(g.seen), func(a, b hash) int { return g.seen[a].Compare(g.seen[b]) })
	for _, id := range ids[:len(ids)-keep] {
		delete(g.seen, id)
		d.alerts--
	}
}

// Forget drops the alerts of n from what receiverID has seen, so the next identical notification is not a
// repeat.
func (d *Deduper) Forget(receiverID string, n Notification) {
	key, ids := groupKey(receiverID, n), alertIDs(n)
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.groups[key]
	if e == nil {
		return
	}
	g := groupOf(e)
	for _, id := range ids {
		if _, ok := g.seen[id]; ok {
			delete(g.seen, id)
			d.alerts--
		}
	}
	if len(g.seen) == 0 {
		d.dropLocked(e)
	}
}

// Len returns the number of alerts remembered.
func (d *Deduper) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.alerts
}

// coveredLocked reports whether every id was seen in g within the window.
func (d *Deduper) coveredLocked(g *group, ids []hash, now time.Time) bool {
	for _, id := range ids {
		at, ok := g.seen[id]
		if !ok || now.Sub(at) >= d.window {
			return false
		}
	}
	return true
}

// pruneLocked drops the groups whose every alert is out of the window. Groups are in touched order, so it stops
// at the first live one (a clock going backwards only delays pruning: coveredLocked checks each alert's window).
func (d *Deduper) pruneLocked(now time.Time) {
	for e := d.order.Front(); e != nil && now.Sub(groupOf(e).touched) >= d.window; e = d.order.Front() {
		d.dropLocked(e)
	}
}

// dropLocked forgets the group of e and its alerts.
func (d *Deduper) dropLocked(e *list.Element) {
	g := groupOf(e)
	d.order.Remove(e)
	d.alerts -= len(g.seen)
	delete(d.groups, g.key)
}

// groupOf is the group an element of order holds: order holds nothing else.
func groupOf(e *list.Element) *group { return e.Value.(*group) }

// groupKey identifies the receiver, group and status of n.
func groupKey(receiverID string, n Notification) hash {
	return sum(receiverID, n.GroupKey, n.Status)
}

// alertIDs identifies each alert of n by fingerprint and startsAt (an alert without a fingerprint, from
// Alertmanager before 0.19, by its sorted labels instead). Order and duplicates do not matter: the ids are
// looked up in a set.
func alertIDs(n Notification) []hash {
	ids := make([]hash, 0, len(n.Alerts))
	for _, a := range n.Alerts {
		parts := []string{a.Fingerprint}
		if a.Fingerprint == "" {
			for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
				parts = append(parts, k, a.Labels[k])
			}
		}
		parts = append(parts, a.StartsAt.UTC().Format(time.RFC3339Nano))
		ids = append(ids, sum(parts...))
	}
	if len(ids) == 0 {
		// A notification without alerts (Parse never returns one) still counts as one entry, so memory stays
		// bounded by MaxEntries.
		ids = append(ids, sum())
	}
	return ids
}

// sum hashes parts, each prefixed by its length so that ("ab","c") and ("a","bc") differ, and so do parts
// containing any byte (a separator byte could appear in a label value and join two different lists).
func sum(parts ...string) hash {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, p := range parts {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
	var out hash
	h.Sum(out[:0])
	return out
}
