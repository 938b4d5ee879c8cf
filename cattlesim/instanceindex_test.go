package cattlesim

import (
	"fmt"
	"maps"
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
// host's instances (removed owners included), each host's load, and the keys each instance is indexed under. It
// returns one line per difference.
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
	// Every host's load, hosts of other accounts and instances naming no existing host included.
	load := map[hostSlot]int{}
	for _, c := range s.instancesWhereLocked(func(c *Object) bool { return !gone(c) && c.Str("hostId") != "" }) {
		load[hostSlot{c.AccountID, c.Str("hostId")}]++
	}
	if !maps.Equal(s.instIndex.load, load) {
		problems = append(problems, fmt.Sprintf("host loads: index %v, scan %v", s.instIndex.load, load))
	}
	for _, h := range s.listLocked("host") {
		if got, want := s.hostLoadLocked(h.AccountID, h.APIID()), len(s.hostInstancesLocked(h, true)); got != want {
			problems = append(problems, fmt.Sprintf("host %s: load %d, %d live instances", h.APIID(), got, want))
		}
	}
	// Placement reads those loads: it must pick the host the scan it replaced picked, for every service and for
	// a container of no service.
	for _, svc := range s.listLocked("service") {
		if svc.Removed != nil {
			continue
		}
		if got, want := s.pickHostLocked(svc.AccountID, svc), s.pickHostByScanLocked(svc.AccountID, svc); got != want {
			problems = append(problems, fmt.Sprintf("service %s placed on %q, the scan picks %q", svc.APIID(), got, want))
		}
	}
	accounts := map[int64]bool{}
	for _, h := range s.listLocked("host") {
		accounts[h.AccountID] = true
	}
	for a := range accounts {
		if got, want := s.pickHostLocked(a, nil), s.pickHostByScanLocked(a, nil); got != want {
			problems = append(problems, fmt.Sprintf("account %d: a container placed on %q, the scan picks %q", a, got, want))
		}
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

// pickHostByScanLocked is pickHostLocked as it was before the index kept the host loads: it counts the live
// instances of every active host, and keeps its own order of the tie-breaks. The reference placement is checked
// against.
func (s *Sim) pickHostByScanLocked(accountID int64, svc *Object) string {
	hosts := s.activeHostsLocked(accountID)
	if len(hosts) == 0 {
		return ""
	}
	svcUnits := s.unitsPerHostLocked(svc)
	load := map[string]int{}
	for _, h := range hosts {
		load[h.APIID()] = len(s.instancesWhereLocked(func(c *Object) bool {
			return c.AccountID == h.AccountID && c.Str("hostId") == h.APIID() && !gone(c)
		}))
	}
	best := hosts[0]
	for _, h := range hosts[1:] {
		id, bid := h.APIID(), best.APIID()
		if a, b := len(svcUnits[id]), len(svcUnits[bid]); a != b {
			if a < b {
				best = h
			}
			continue
		}
		if load[id] < load[bid] {
			best = h
		}
	}
	return best.APIID()
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

		live.State = "stopping" // a state change that bypassed setStateLocked: the load still counts it
		e.s.instanceStateLocked(live)
		live.State = "removing"
		if len(e.s.instanceIndexProblemsLocked()) == 0 {
			t.Error("the index check does not notice a host load that missed a state change")
		}
		e.s.instanceStateLocked(live)
		if p := e.s.instanceIndexProblemsLocked(); len(p) > 0 {
			t.Errorf("host load still wrong after the recount: %v", p)
		}
	})
}

// TestPlacementCountsOnlyLiveInstances: a host's load is its live instances. Containers being removed or
// removed leave it at once, stopped ones still count, and ties go to the oldest host, as with the scan; a
// service's own units come first.
func TestPlacementCountsOnlyLiveInstances(t *testing.T) {
	e := newProcEnv(t, 3)
	h1, h2, h3 := e.hosts[0], e.hosts[1], e.hosts[2]
	load := func(h *Object) int { return e.s.hostLoadLocked(h.AccountID, h.APIID()) }
	e.locked(func() {
		on := func(h *Object, state string) *Object {
			c := e.s.insertInstanceLocked(5, map[string]any{"imageUuid": "docker:busybox", "hostId": h.APIID()},
				true, true)
			if state != "running" {
				e.s.setStateLocked(c, state, false)
			}
			return c
		}
		on(h1, "running")
		on(h1, "running")
		on(h2, "running")
		on(h2, "removing")
		e.s.markRemovedLocked(on(h2, "running"))
		on(h3, "running")
		on(h3, "stopped")
		// Loads 2, 1 and 2: h2, whatever it holds that is going or gone.
		if got, want := e.s.pickHostLocked(5, nil), h2.APIID(); got != want {
			t.Errorf("placed on %s, want %s (loads h1 %d, h2 %d, h3 %d)", got, want, load(h1), load(h2), load(h3))
		}
		on(h2, "running")
		// Loads 2, 2 and 2: the oldest.
		if got, want := e.s.pickHostLocked(5, nil), h1.APIID(); got != want {
			t.Errorf("placed on %s with equal loads, want the oldest host %s", got, want)
		}
		if p := e.s.instanceIndexProblemsLocked(); len(p) > 0 {
			t.Errorf("index disagrees with a scan: %v", p)
		}
	})
	// A service of scale 2 goes where it has no unit, then to the least loaded of the rest.
	svc := e.service("web", 2, "docker:nginx")
	e.locked(func() {
		hosts := map[string]bool{}
		for _, c := range e.instances(svc) {
			hosts[c.Str("hostId")] = true
		}
		if len(hosts) != 2 || !hosts[h1.APIID()] || !hosts[h2.APIID()] {
			t.Errorf("web's units run on %v, want h1 and h2 (equal loads, the oldest first)", hosts)
		}
		if got, want := e.s.pickHostLocked(5, svc), h3.APIID(); got != want {
			t.Errorf("web's third unit placed on %s, want %s, the host without one", got, want)
		}
	})
}
