package cattlesim

import (
	"strings"
	"testing"
)

// TestPopulateMatchesIncrementalRefresh proves the bulk path builds the world the per-object paths would: after
// Populate, running every real derived-field refresh (the ones instanceChangedLocked and the stack code run
// after each change) changes nothing, and the world reconciles to nothing.
func TestPopulateMatchesIncrementalRefresh(t *testing.T) {
	s := newProcSim(t)
	if _, err := s.Seed(SeedDemo, SeedOptions{}); err != nil {
		t.Fatal(err)
	}
	info, err := s.Populate(DefaultProjectID, PopulateOptions{Hosts: 7, Services: 25, Scale: 3, ServicesPerStack: 10,
		Containers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Hosts) != 7 || len(info.Services) != 25 || len(info.Instances) != 75 || len(info.Stacks) != 3 ||
		len(info.Containers) != 4 {
		t.Fatalf("created %d hosts, %d services, %d instances, %d stacks, %d containers; want 7, 25, 75, 3, 4",
			len(info.Hosts), len(info.Services), len(info.Instances), len(info.Stacks), len(info.Containers))
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.populating {
		t.Fatal("populating flag left set")
	}
	revisions := map[*Object]uint64{}
	for _, table := range s.objects {
		for _, o := range table {
			revisions[o] = o.Revision
		}
	}
	for _, id := range info.Services {
		svc := s.objectByAPIIDLocked("service", id)
		s.refreshServiceLocked(svc)
		if svc.State != "active" || svc.Str("healthState") != "healthy" || svc.Int("currentScale", -1) != 3 {
			t.Errorf("service %s: state %s health %s currentScale %v", id, svc.State, svc.Str("healthState"),
				svc.Fields["currentScale"])
		}
		if plan := s.reconcilePlanLocked(svc); len(plan) != 0 {
			t.Errorf("service %s would reconcile %d steps; a populated world must be settled", id, len(plan))
		}
	}
	for _, id := range info.Hosts {
		h := s.objectByAPIIDLocked("host", id)
		s.refreshHostLocked(h)
		if !displayActive(h) {
			t.Errorf("host %s is %s, want active", id, h.State)
		}
	}
	for _, id := range info.Stacks {
		st := s.objectByAPIIDLocked("stack", id)
		s.refreshStackLocked(st.APIID(), st.AccountID)
	}
	for o, rev := range revisions {
		if o.Revision != rev {
			t.Errorf("%s %s changed on refresh: Populate left a derived field stale", o.BaseType, o.APIID())
		}
	}
	for _, id := range info.Instances {
		c := s.objectByAPIIDLocked("instance", id)
		if c.State != "running" || c.Str("hostId") == "" || !strings.HasPrefix(c.Str("name"), "bulk-") {
			t.Errorf("instance %s: state %s host %q name %q", id, c.State, c.Str("hostId"), c.Str("name"))
		}
	}
	for _, id := range info.Containers {
		c := s.objectByAPIIDLocked("instance", id)
		if c.State != "running" || c.Str("healthState") != "healthy" || c.Fields["hostId"] != nil ||
			len(c.StrSlice("serviceIds")) != 0 {
			t.Errorf("standalone container %s: state %s health %q host %v services %v", id, c.State,
				c.Str("healthState"), c.Fields["hostId"], c.Fields["serviceIds"])
		}
	}
}

func TestPopulateRefusals(t *testing.T) {
	s := newProcSim(t)
	if _, err := s.Populate(DefaultProjectID, PopulateOptions{Services: 1}); err == nil {
		t.Error("populate before any seed: want an error (project 1a5 does not exist)")
	}
	if _, err := s.Seed(SeedEmpty, SeedOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		project string
		opts    PopulateOptions
	}{
		{"1a5", PopulateOptions{Hosts: -1}},
		{"1a5", PopulateOptions{Services: 1, Scale: -2}},
		{"nonsense", PopulateOptions{Services: 1}},
		{"1a99", PopulateOptions{Services: 1}},
	} {
		if _, err := s.Populate(tc.project, tc.opts); err == nil {
			t.Errorf("Populate(%q, %+v): want an error", tc.project, tc.opts)
		}
	}
	if st := s.State(); st.Counts["service"] != 0 || st.Counts["host"] != 0 {
		t.Errorf("refused populates created objects: %v", st.Counts)
	}
}
