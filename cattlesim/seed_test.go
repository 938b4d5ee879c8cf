package cattlesim

import (
	"slices"
	"sort"
	"testing"
)

func TestDemoSeed(t *testing.T) {
	s := newProcSim(t)
	info, err := s.Seed(SeedDemo, SeedOptions{AccessKey: "ENVKEY", SecretKey: "envsecret"})
	if err != nil {
		t.Fatal(err)
	}
	e := &procEnv{t: t, s: s}

	t.Run("projects and keys", func(t *testing.T) {
		e.locked(func() {
			for id, name := range map[int64]string{5: "Default", 7: "Second"} {
				p := s.getLocked("account", id)
				if p == nil || p.Type != "project" || p.Str("name") != name || p.State != "active" {
					t.Errorf("project %d = %+v", id, p)
				}
			}
			if n := len(s.listLocked("account")); n != 2 {
				t.Errorf("accounts = %d, want 2", n)
			}
		})
		want := []struct {
			account int64
			kind    string
		}{{5, KindProject}, {7, KindProject}, {1, KindAdmin}, {2, KindService}}
		if len(info.Credentials) != len(want) {
			t.Fatalf("credentials = %+v", info.Credentials)
		}
		for i, w := range want {
			c := info.Credentials[i]
			generated := i > 0
			if c.AccountID != w.account || c.Kind != w.kind || c.AccessKey == "" || (generated && len(c.SecretKey) != 40) {
				t.Errorf("credential %d = %+v, want account %d kind %s", i, c, w.account, w.kind)
			}
		}
		if c := info.Credentials[0]; c.AccessKey != "ENVKEY" || c.SecretKey != "envsecret" {
			t.Errorf("1a5 key = %+v, want the given pair", c)
		}
		if got := s.Credentials(); len(got) != 4 {
			t.Errorf("registered credentials = %d, want 4", len(got))
		}
	})

	t.Run("hosts", func(t *testing.T) {
		e.locked(func() {
			hosts := s.hostsLocked(5)
			var names []string
			for _, h := range hosts {
				names = append(names, h.Str("hostname"))
				if !displayActive(h) || h.Transitioning != "no" || !jsonEqual(h.Map("labels"), map[string]any{"pool": "workers"}) {
					t.Errorf("%s state %s labels %v", h.Str("hostname"), h.State, h.Map("labels"))
				}
			}
			if !slices.Equal(names, []string{"worker-01", "worker-02", "custom-01"}) {
				t.Fatalf("hosts = %v", names)
			}
			for _, h := range hosts[:2] {
				cfg := h.Map("amazonec2Config")
				if h.Str("driver") != "amazonec2" || cfg["type"] != "amazonec2Config" || cfg["region"] == nil || cfg["instanceType"] == nil {
					t.Errorf("%s driver %q config %v", h.Str("hostname"), h.Str("driver"), cfg)
				}
			}
			custom := hosts[2]
			if custom.Fields["driver"] != nil {
				t.Errorf("custom-01 driver = %v", custom.Fields["driver"])
			}
			for k := range custom.Fields {
				if len(k) > 6 && k[len(k)-6:] == "Config" {
					t.Errorf("custom-01 has %s", k)
				}
			}
			if !(hosts[0].Created.Before(hosts[1].Created) && hosts[1].Created.Before(hosts[2].Created)) {
				t.Errorf("created not increasing: %v %v %v", hosts[0].Created, hosts[1].Created, hosts[2].Created)
			}
			if info.Objects["1a5/host/worker-01"] != hosts[0].APIID() {
				t.Errorf("info.Objects = %v", info.Objects)
			}
			if len(s.hostsLocked(7)) != 0 {
				t.Errorf("project 1a7 has hosts")
			}
		})
	})

	type wantSvc struct {
		kind      string
		scale     int
		image     string
		labels    map[string]any
		sidekicks []string
		instances int
	}
	wantServices := map[string]wantSvc{
		"web":     {"service", 2, "docker:nginx:1.13", map[string]any{"app": "web"}, nil, 2},
		"worker":  {"service", 1, "docker:busybox:1.36", map[string]any{"app": "worker"}, []string{"worker-sidekick"}, 2},
		"lb":      {"loadBalancerService", 1, "docker:rancher/lb-service-haproxy:v0.7.15", nil, nil, 1},
		"monitor": {"service", 1, "docker:prom/node-exporter:v0.15.2", map[string]any{labelGlobal: "true"}, nil, 3},
	}
	t.Run("stack, services and containers of 1a5", func(t *testing.T) {
		e.locked(func() {
			var stacks []string
			for _, st := range s.listLocked("stack") {
				if st.AccountID == 5 {
					stacks = append(stacks, st.Str("name"))
				}
			}
			if !slices.Equal(stacks, []string{"demo"}) {
				t.Fatalf("stacks of 1a5 = %v", stacks)
			}
			hostIDs := map[string]bool{}
			for _, h := range s.hostsLocked(5) {
				hostIDs[h.APIID()] = true
			}
			seen := map[string]bool{}
			total := 0
			for _, svc := range s.listLocked("service") {
				if svc.AccountID != 5 {
					continue
				}
				name := svc.Str("name")
				w, ok := wantServices[name]
				if !ok {
					t.Errorf("unexpected service %s", name)
					continue
				}
				seen[name] = true
				lc := svc.Map("launchConfig")
				labelsOK := jsonEqual(lc["labels"], w.labels)
				if w.labels == nil {
					labelsOK = lc["labels"] == nil
				}
				if svc.Type != w.kind || svc.Int("scale", -1) != w.scale || lc["imageUuid"] != w.image || !labelsOK ||
					svc.Str("stackId") != info.Objects["1a5/stack/demo"] {
					t.Errorf("%s: type %s scale %v launchConfig %v", name, svc.Type, svc.Fields["scale"], lc)
				}
				var sidekicks []string
				for _, l := range serviceLaunchConfigs(svc)[1:] {
					sidekicks = append(sidekicks, l.name)
				}
				if !slices.Equal(sidekicks, w.sidekicks) {
					t.Errorf("%s sidekicks = %v", name, sidekicks)
				}
				if !serviceSettledIn(svc, "active") || svc.Str("healthState") != "healthy" {
					t.Errorf("%s %s/%s health %s", name, svc.State, svc.Transitioning, svc.Str("healthState"))
				}
				insts := s.serviceInstancesLocked(svc)
				total += len(insts)
				if len(insts) != w.instances || len(svc.StrSlice("instanceIds")) != w.instances {
					t.Errorf("%s has %d instances, want %d", name, len(insts), w.instances)
				}
				units := map[string]string{}
				onHost := map[string]int{}
				for _, c := range insts {
					if c.State != "running" || c.Transitioning != "no" || c.Str("healthState") != "healthy" ||
						!hostIDs[c.Str("hostId")] || c.Str("version") != "0" {
						t.Errorf("%s: %s %s health %v host %s", name, c.Str("name"), c.State, c.Fields["healthState"], c.Str("hostId"))
					}
					if h, ok := units[c.Str("deploymentUnitUuid")]; ok && h != c.Str("hostId") {
						t.Errorf("%s: unit split across hosts", name)
					}
					units[c.Str("deploymentUnitUuid")] = c.Str("hostId")
					onHost[c.Str("hostId")]++
				}
				if name == "monitor" && len(onHost) != 3 {
					t.Errorf("monitor containers on %d hosts, want one per host", len(onHost))
				}
				wantCurrent := w.scale
				if name == "monitor" {
					wantCurrent = 3
				}
				if svc.Int("currentScale", -1) != wantCurrent {
					t.Errorf("%s currentScale = %v, want %d", name, svc.Fields["currentScale"], wantCurrent)
				}
			}
			if len(seen) != len(wantServices) {
				t.Errorf("services = %v", seen)
			}
			n5 := 0
			for _, c := range s.listLocked("instance") {
				if c.AccountID == 5 {
					n5++
				}
			}
			if n5 != total || total != 8 {
				t.Errorf("containers in 1a5 = %d (services account for %d), want 8", n5, total)
			}
		})
	})

	t.Run("project 1a7", func(t *testing.T) {
		e.locked(func() {
			var names []string
			for _, base := range []string{"stack", "service"} {
				for _, o := range s.listLocked(base) {
					if o.AccountID == 7 {
						names = append(names, base+"/"+o.Str("name"))
					}
				}
			}
			sort.Strings(names)
			if !slices.Equal(names, []string{"service/api", "stack/other"}) {
				t.Fatalf("1a7 = %v", names)
			}
			api := s.objectByAPIIDLocked("service", info.Objects["1a7/service/api"])
			if api == nil || !serviceSettledIn(api, "active") || len(s.serviceInstancesLocked(api)) != 1 {
				t.Fatalf("api = %+v", api)
			}
		})
	})

	t.Run("settled: nothing moves afterwards", func(t *testing.T) {
		revisions := map[*Object]uint64{}
		e.locked(func() {
			for _, base := range []string{"service", "instance", "host", "stack"} {
				for _, o := range s.listLocked(base) {
					if o.Transitioning != "no" {
						t.Errorf("%s still %s/%s", o.APIID(), o.State, o.Transitioning)
					}
					revisions[o] = o.Revision
				}
			}
		})
		// Let a few Steps pass (longer than a reconcile check's delay) through a process of its own, rather
		// than sleeping: create a generic object and remove it again.
		var g *Object
		e.locked(func() {
			var aerr *apiError
			g, aerr = s.createLocked(5, procSchema("genericObject", "genericObject"), map[string]any{"name": "tick"})
			if aerr != nil {
				t.Fatal(aerr)
			}
		})
		e.waitState(g, "active")
		e.locked(func() {
			if aerr := s.removeLocked(g); aerr != nil {
				t.Fatal(aerr)
			}
		})
		e.waitState(g, "removed")
		e.locked(func() {
			for o, rev := range revisions {
				if o.Revision != rev {
					t.Errorf("%s changed after seeding: %s", o.APIID(), o.State)
				}
			}
		})
	})
}

func TestSeedEmptyAndErrors(t *testing.T) {
	s := newProcSim(t)
	if _, err := s.Seed("bogus", SeedOptions{}); err == nil {
		t.Fatal("unknown seed accepted")
	}
	info, err := s.Seed(SeedEmpty, SeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := info.Credentials[0]; len(c.AccessKey) != 20 || len(c.SecretKey) != 40 || c.AccountID != 5 {
		t.Errorf("generated 1a5 key = %+v", c)
	}
	s.mu.Lock()
	for _, base := range []string{"service", "instance", "host", "stack"} {
		if n := len(s.listLocked(base)); n != 0 {
			t.Errorf("empty seed has %d %s", n, base)
		}
	}
	s.mu.Unlock()
	if _, err := s.Seed(SeedDemo, SeedOptions{}); err == nil {
		t.Fatal("seeding twice accepted")
	}
}
