package scale

import (
	"sync"
	"time"
)

// DefaultCooldownEntries bounds a Cooldown created with maxEntries <= 0.
const DefaultCooldownEntries = 10000

// Cooldown remembers, per key (normally a receiver id), until when that key is cooling down after it last
// scaled, as a simple-scaling policy's cooldown does: triggers arriving in that time change nothing and are
// answered "cooling down". A cooldown starts when a scale was actually applied (Commit after the PUT
// succeeded), so a failed call does not hold back the retry.
//
// Memory is bounded: entries are dropped once their cooldown is over, and beyond maxEntries the entries ending
// soonest are dropped first. Safe for concurrent use.
type Cooldown struct {
	mu    sync.Mutex
	until map[string]time.Time
	max   int
}

// NewCooldown returns an empty Cooldown keeping at most maxEntries keys (DefaultCooldownEntries when <= 0).
func NewCooldown(maxEntries int) *Cooldown {
	if maxEntries <= 0 {
		maxEntries = DefaultCooldownEntries
	}
	return &Cooldown{until: make(map[string]time.Time), max: maxEntries}
}

// Remaining returns how long key still cools down at now (0 when it does not).
func (c *Cooldown) Remaining(key string, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if u, ok := c.until[key]; ok && u.After(now) {
		return u.Sub(now)
	}
	return 0
}

// Plan is PlanServiceScale honouring each request's cooldown: a request whose receiver is cooling down at now,
// or that already scaled earlier in this batch, is a "none" decision with reason "cooling down". Plan does not
// record anything; call Commit once the plan was applied.
func (c *Cooldown) Plan(current int, reqs []ServiceRequest, now time.Time) ServicePlan {
	c.mu.Lock()
	cooling := make(map[string]bool)
	for _, r := range reqs {
		if r.cooldown() > 0 {
			if u, ok := c.until[r.Receiver]; ok && u.After(now) {
				cooling[r.Receiver] = true
			}
		}
	}
	c.mu.Unlock()
	return planService(current, reqs, func(i int, decided []Decision) bool {
		r := reqs[i]
		if r.cooldown() <= 0 {
			return false
		}
		if cooling[r.Receiver] {
			return true
		}
		for j, d := range decided {
			if d.Result == ResultScaled && reqs[j].Receiver == r.Receiver && reqs[j].cooldown() > 0 {
				return true
			}
		}
		return false
	})
}

// Commit starts the cooldown of every request of p that scaled (and has a cooldown), from now. reqs must be the
// requests p was planned from.
func (c *Cooldown) Commit(reqs []ServiceRequest, p ServicePlan, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, d := range p.Decisions {
		if i >= len(reqs) || d.Result != ResultScaled {
			continue
		}
		if cd := reqs[i].cooldown(); cd > 0 {
			c.until[reqs[i].Receiver] = now.Add(cd)
		}
	}
	c.pruneLocked(now)
}

// Len returns the number of keys remembered.
func (c *Cooldown) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.until)
}

func (c *Cooldown) pruneLocked(now time.Time) {
	for k, u := range c.until {
		if !u.After(now) {
			delete(c.until, k)
		}
	}
	for len(c.until) > c.max {
		var first string
		var at time.Time
		for k, u := range c.until {
			if first == "" || u.Before(at) {
				first, at = k, u
			}
		}
		delete(c.until, first)
	}
}
