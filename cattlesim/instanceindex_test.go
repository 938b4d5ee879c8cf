package cattlesim

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// instancesWhereLocked is the full scan the instance index replaced (every non-removed instance matching pred, in
// id order): the reference the index is checked against.
func (s *Sim) instancesWhereLocked(pred func(*Object) bool) []*Object {
	var out []*Object
	for _, c := range s.objects["instance"] {
		if c.Removed == nil && pred(c) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// instanceIndexProblemsLocked compares every lookup the index serves with a full scan: each service's and each
// host's instances (removed owners included), and the keys each instance is indexed under. It returns one line
// per difference.
func (s *Sim) instanceIndexProblemsLocked() []string {
	var problems []string
	same := func(what string, got, want []*Object) {
		if !slices.Equal(got, want) {
			problems = append(problems, fmt.Sprintf("%s: index %v, scan %v", what, apiIDsOf(got), apiIDsOf(want)))
		}
	}
	for _, svc := range s.listLocked("service") {
		id := svc.APIID()
		same("service "+id, s.serviceInstancesLocked(svc), s.instancesWhereLocked(func(c *Object) bool {
			return c.AccountID == svc.AccountID &&
				(c.Str("serviceId") == id || slices.Contains(c.StrSlice("serviceIds"), id))
		}))
	}
	for _, h := range s.listLocked("host") {
		id := h.APIID()
		same("host "+id, s.hostInstancesWhereLocked(h, func(*Object) bool { return true }),
			s.instancesWhereLocked(func(c *Object) bool { return c.AccountID == h.AccountID && c.Str("hostId") == id }))
	}
	for _, c := range s.listLocked("instance") {
		k, indexed := s.instIndex.keys[c]
		switch {
		case c.Removed != nil && indexed:
			problems = append(problems, "removed instance "+c.APIID()+" still indexed")
		case c.Removed == nil && !indexed:
			problems = append(problems, "live instance "+c.APIID()+" not indexed")
		case indexed && fmt.Sprint(k) != fmt.Sprint(keysOf(c)):
			// The index relies on membership fields never changing after the insert.
			problems = append(problems, fmt.Sprintf("instance %s indexed under %v, its fields now say %v", c.APIID(),
				k, keysOf(c)))
		}
	}
	return problems
}

func apiIDsOf(objs []*Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.APIID())
	}
	return out
}

// checkInstanceIndex fails the test when the index disagrees with a full scan. The state-machine helpers run it
// when each test ends, so every scenario they drive (scaling, upgrades, evacuations, removals...) checks it.
func checkInstanceIndex(t *testing.T, s *Sim) {
	t.Helper()
	s.mu.Lock()
	problems := s.instanceIndexProblemsLocked()
	s.mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("instance index disagrees with a full scan:\n%s", strings.Join(problems, "\n"))
	}
}

// TestInstanceIndexFollowsTheWorld drives services (one with a sidekick) through create, scale up and down, a
// host evacuation and removal, then checks the index against a full scan, and that the check sees a broken
// index.
func TestInstanceIndexFollowsTheWorld(t *testing.T) {
	e := newProcEnv(t, 3)
	web := e.service("web", 3, "docker:nginx")
	side := e.service("side", 2, "docker:nginx",
		map[string]any{"name": "log", "imageUuid": "docker:busybox", "labels": map[string]any{}})
	if aerr := e.update(web, map[string]any{"scale": float64(5)}); aerr != nil {
		t.Fatalf("scale web up: %v", aerr)
	}
	e.eventually("web at 5", func() bool {
		return web.Int("currentScale", 0) == 5 && countState(e.instances(web), "running") == 5
	})
	if aerr := e.update(side, map[string]any{"scale": float64(1)}); aerr != nil {
		t.Fatalf("scale side down: %v", aerr)
	}
	e.eventually("side at 1", func() bool { return len(e.instances(side)) == 2 && serviceSettledIn(side, "active") })
	var onHost int
	e.locked(func() { onHost = len(e.s.hostInstancesLocked(e.hosts[0], true)) })
	if onHost == 0 {
		t.Fatal("no instance on the first host to evacuate")
	}
	e.mustAction(e.hosts[0], "evacuate", nil)
	e.eventually("first host empty and web back at 5", func() bool {
		return serviceSettledIn(e.hosts[0], "inactive") && len(e.s.hostInstancesLocked(e.hosts[0], true)) == 0 &&
			web.Int("currentScale", 0) == 5 && serviceSettledIn(web, "active")
	})
	e.mustAction(side, "remove", nil)
	e.waitState(side, "removed")
	checkInstanceIndex(t, e.s)

	e.locked(func() {
		var live *Object
		for _, c := range e.instances(web) {
			live = c
		}
		e.s.instIndex.remove(live) // as if its removal had been missed
		if len(e.s.instanceIndexProblemsLocked()) == 0 {
			t.Error("the index check does not notice a live instance missing from the index")
		}
		e.s.instIndex.add(live)
		if p := e.s.instanceIndexProblemsLocked(); len(p) > 0 {
			t.Errorf("index still wrong after re-adding: %v", p)
		}
	})
}
