package cache

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func upsertAll(t *testing.T, s *Store, kind string, raws ...json.RawMessage) {
	t.Helper()
	for _, raw := range raws {
		if _, _, err := s.Upsert(kind, raw); err != nil {
			t.Fatalf("upsert %s: %v", kind, err)
		}
	}
}

func TestServicesMatchingLabels(t *testing.T) {
	s, _ := newTestStore(t)
	upsertAll(t, s, KindService,
		serviceJSON(t, "1s1", "v1", lc("docker:nginx", map[string]string{"App": "Web", "tier": "front"})),
		serviceJSON(t, "1s2", "v1", lc("docker:redis", map[string]string{"app": "db", "tier": "back"})),
		// The primary has no app label; its sidekick does.
		serviceJSON(t, "1s3", "v1", lc("docker:busybox", map[string]string{"tier": "back"}),
			sidekick("side", "docker:busybox", map[string]string{"app": "WEB"})),
		serviceJSON(t, "1s10", "v1", lc("docker:nginx", nil)),
	)
	cases := []struct {
		name     string
		selector map[string]string
		want     []string
	}{
		{"case-insensitive key and value", map[string]string{"APP": "web"}, []string{"1s1", "1s3"}},
		{"key only", map[string]string{"app": ""}, []string{"1s1", "1s2", "1s3"}},
		{"two pairs on the primary", map[string]string{"app": "web", "tier": "front"}, []string{"1s1"}},
		// 1s3 has tier=back on its primary and app=web on its sidekick: no single launch config has both, so a
		// selector spanning two configs must not match (a reaction acts on one launch config).
		{"pairs split across configs", map[string]string{"app": "web", "tier": "back"}, nil},
		{"no such value", map[string]string{"app": "cache"}, nil},
		{"empty selector", map[string]string{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := serviceIDs(s.ServicesMatching(tc.selector))
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("ServicesMatching(%v) = %v, want %v", tc.selector, got, tc.want)
			}
		})
	}

	// Relabelling moves the service between index terms.
	upsertAll(t, s, KindService,
		serviceJSON(t, "1s1", "v2", lc("docker:nginx", map[string]string{"app": "api"})))
	if got := serviceIDs(s.ServicesMatching(map[string]string{"app": "web"})); !slices.Equal(got, []string{"1s3"}) {
		t.Fatalf("after relabel app=web = %v, want [1s3]", got)
	}
	if got := serviceIDs(s.ServicesMatching(map[string]string{"tier": ""})); !slices.Equal(got, []string{"1s2", "1s3"}) {
		t.Fatalf("after relabel tier= = %v, want [1s2 1s3]", got)
	}
	s.Delete(KindService, "1s3")
	if got := s.ServicesMatching(map[string]string{"app": "web"}); len(got) != 0 {
		t.Fatalf("after delete app=web = %v, want none", serviceIDs(got))
	}
}

func TestServicesWithRepository(t *testing.T) {
	s, _ := newTestStore(t)
	upsertAll(t, s, KindService,
		serviceJSON(t, "1s1", "v1", lc("docker:nginx:1.13", nil)),
		serviceJSON(t, "1s2", "v1", lc("docker:docker.io/library/nginx:1.14", nil)),
		serviceJSON(t, "1s3", "v1", lc("docker:busybox:1.36", nil), sidekick("proxy", "docker:nginx:latest", nil)),
		serviceJSON(t, "1s4", "v1", lc("docker:registry.example.com:5000/team/nginx:2", nil)),
		serviceJSON(t, "1s5", "v1", lc("docker:rancher/none:", nil)), // malformed image: indexed under nothing
	)
	want := []string{"1s1", "1s2", "1s3"}
	for _, query := range []string{"docker.io/library/nginx", "nginx", "docker:nginx:1.15", "index.docker.io/library/nginx"} {
		if got := serviceIDs(s.ServicesWithRepository(query)); !slices.Equal(got, want) {
			t.Errorf("ServicesWithRepository(%q) = %v, want %v", query, got, want)
		}
	}
	if got := serviceIDs(s.ServicesWithRepository("registry.example.com:5000/team/nginx")); !slices.Equal(got, []string{"1s4"}) {
		t.Errorf("private registry repository = %v, want [1s4]", got)
	}
	if got := s.ServicesWithRepository("redis"); len(got) != 0 {
		t.Errorf("redis = %v, want none", serviceIDs(got))
	}
	// An upgrade to another image moves the service out of the old repository (sidekick included).
	upsertAll(t, s, KindService,
		serviceJSON(t, "1s3", "v2", lc("docker:busybox:1.36", nil), sidekick("proxy", "docker:haproxy:2", nil)))
	if got := serviceIDs(s.ServicesWithRepository("nginx")); !slices.Equal(got, []string{"1s1", "1s2"}) {
		t.Errorf("after sidekick upgrade nginx = %v, want [1s1 1s2]", got)
	}
	if got := serviceIDs(s.ServicesWithRepository("haproxy")); !slices.Equal(got, []string{"1s3"}) {
		t.Errorf("after sidekick upgrade haproxy = %v, want [1s3]", got)
	}
}

func TestHostsMatching(t *testing.T) {
	s, _ := newTestStore(t)
	upsertAll(t, s, KindHost,
		hostJSON(t, "1h1", "v1", map[string]string{"Pool": "Workers", "zone": "a"}),
		hostJSON(t, "1h2", "v1", map[string]string{"pool": "workers", "zone": "b"}),
		hostJSON(t, "1h3", "v1", map[string]string{"pool": "db"}),
		hostJSON(t, "1h4", "v1", nil),
	)
	check := func(sel map[string]string, want ...string) {
		t.Helper()
		got := hostIDs(s.HostsMatching(sel))
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("HostsMatching(%v) = %v, want %v", sel, got, want)
		}
	}
	check(map[string]string{"pool": "workers"}, "1h1", "1h2")
	check(map[string]string{"POOL": "WORKERS", "zone": "b"}, "1h2")
	check(map[string]string{"zone": ""}, "1h1", "1h2")
	check(map[string]string{"pool": "none"})
	check(nil)
	upsertAll(t, s, KindHost, hostJSON(t, "1h1", "v2", map[string]string{"pool": "db"}))
	check(map[string]string{"pool": "workers"}, "1h2")
	check(map[string]string{"pool": "db"}, "1h1", "1h3")
	check(map[string]string{"zone": ""}, "1h2")
}

func TestReceiverByKey(t *testing.T) {
	s, _ := newTestStore(t)
	upsertAll(t, s, KindReceiver, receiverJSON(t, "1go1", "v1", "key-one"), receiverJSON(t, "1go2", "v1", "key-two"))
	if r, ok := s.ReceiverByKey("key-one"); !ok || r.ID != "1go1" {
		t.Fatalf("key-one → %v %v, want 1go1", r, ok)
	}
	if _, ok := s.ReceiverByKey("KEY-ONE"); ok {
		t.Fatal("keys are secrets and must match exactly, but a different case matched")
	}
	if _, ok := s.ReceiverByKey(""); ok {
		t.Fatal("the empty key matched a receiver")
	}
	// A rotated key replaces the old one.
	upsertAll(t, s, KindReceiver, receiverJSON(t, "1go1", "v2", "key-rotated"))
	if _, ok := s.ReceiverByKey("key-one"); ok {
		t.Fatal("the old key still finds the receiver after rotation")
	}
	if r, ok := s.ReceiverByKey("key-rotated"); !ok || r.ID != "1go1" {
		t.Fatalf("key-rotated → %v %v, want 1go1", r, ok)
	}
	upsertAll(t, s, KindReceiver, removedJSON(t, "1go2", "genericObject"))
	if _, ok := s.ReceiverByKey("key-two"); ok {
		t.Fatal("a removed receiver is still found by key")
	}
	if got := len(s.Receivers()); got != 1 {
		t.Fatalf("Receivers() has %d, want 1", got)
	}
}

func TestInstancesOfService(t *testing.T) {
	s, _ := newTestStore(t)
	upsertAll(t, s, KindInstance,
		instanceJSON(t, "1i1", "v1", "1s1"),
		instanceJSON(t, "1i2", "v1", "", "1s1", "1s2"), // a sidekick/LB member listed under serviceIds
		instanceJSON(t, "1i3", "v1", "1s2"),
		instanceJSON(t, "1i4", "v1", ""), // standalone container
	)
	if got := instanceIDs(s.InstancesOfService("1s1")); !slices.Equal(got, []string{"1i1", "1i2"}) {
		t.Fatalf("1s1 instances = %v", got)
	}
	if got := instanceIDs(s.InstancesOfService("1s2")); !slices.Equal(got, []string{"1i2", "1i3"}) {
		t.Fatalf("1s2 instances = %v", got)
	}
	upsertAll(t, s, KindInstance, removedJSON(t, "1i2", "instance"))
	if got := instanceIDs(s.InstancesOfService("1s1")); !slices.Equal(got, []string{"1i1"}) {
		t.Fatalf("after removal 1s1 instances = %v", got)
	}
	if got := len(s.Instances()); got != 3 {
		t.Fatalf("Instances() has %d, want 3", got)
	}
}

func TestListsAreOrderedByNumericID(t *testing.T) {
	s, _ := newTestStore(t)
	for _, id := range []string{"1s10", "1s2", "1s100", "1s1"} {
		upsertAll(t, s, KindService, serviceJSON(t, id, "v1", lc("docker:a", map[string]string{"x": "y"})))
	}
	want := []string{"1s1", "1s2", "1s10", "1s100"}
	if got := serviceIDs(s.Services()); !slices.Equal(got, want) {
		t.Fatalf("Services() = %v, want %v", got, want)
	}
	if got := serviceIDs(s.ServicesMatching(map[string]string{"x": "y"})); !slices.Equal(got, want) {
		t.Fatalf("ServicesMatching = %v, want %v", got, want)
	}
	if got := serviceIDs(s.ServicesWithRepository("a")); !slices.Equal(got, want) {
		t.Fatalf("ServicesWithRepository = %v, want %v", got, want)
	}
}

func TestTypedGettersRejectOtherKinds(t *testing.T) {
	s, _ := newTestStore(t)
	upsertAll(t, s, KindService, serviceJSON(t, "1s1", "v1", lc("docker:a", nil)))
	if _, ok := s.Host("1s1"); ok {
		t.Fatal("a service id was found as a host")
	}
	if _, ok := s.Service("1s2"); ok {
		t.Fatal("an unknown id was found")
	}
}

// TestReadersNeverBlockTheEventPath runs readers in tight loops (every read method) while events are applied
// and proves the writer finishes a bounded batch before a deadline: reads hold the lock only for a lookup or an
// index walk, and what they return stays valid without a lock. Run with -race it also proves the sharing is
// safe.
func TestReadersNeverBlockTheEventPath(t *testing.T) {
	s, _ := newTestStore(t)
	const objects, rounds, readers = 50, 40, 4
	raw := make([][]json.RawMessage, rounds)
	for r := range rounds {
		for i := range objects {
			raw[r] = append(raw[r], serviceJSON(t, fmt.Sprintf("1s%d", i+1), fmt.Sprintf("v%d", r),
				lc(fmt.Sprintf("docker:img%d:%d", i%5, r), map[string]string{"app": fmt.Sprintf("a%d", i%3)})))
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var held [readers][]string
	for n := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				all := s.Services()
				_ = s.ServicesMatching(map[string]string{"app": "a1"})
				_ = s.ServicesWithRepository("img3")
				_ = s.Counts()
				if svc, ok := s.Service("1s7"); ok {
					// Reading a returned object without any lock is allowed: it is never modified.
					held[n] = append(held[n][:0], svc.Description, svc.LaunchConfig.ImageUUID())
				}
				_ = len(all)
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r := range rounds {
			for _, raw := range raw[r] {
				if _, _, err := s.Upsert(KindService, raw); err != nil {
					t.Errorf("upsert: %v", err)
					return
				}
			}
		}
	}()
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Error("the writer did not finish while readers were reading")
	}
	close(stop)
	wg.Wait()
	<-done
	if got := serviceVersion(s, "1s7"); got != fmt.Sprintf("v%d", rounds-1) {
		t.Fatalf("final version %q, want v%d", got, rounds-1)
	}
}
