package cattlesim

import (
	"net/http"
	"slices"
	"testing"
)

func TestHostCreateProvisions(t *testing.T) {
	e := newProcEnv(t, 0)
	h := e.create("host", "host", map[string]any{"hostname": "worker-03",
		"amazonec2Config": map[string]any{"region": "us-west-2", "instanceType": "t2.medium"},
		"labels":          map[string]any{"pool": "workers"}})
	e.locked(func() {
		if h.State != "registering" || h.Transitioning != "yes" {
			t.Fatalf("create answered %s/%s", h.State, h.Transitioning)
		}
		if h.Str("driver") != "amazonec2" || h.Map("amazonec2Config")["type"] != "amazonec2Config" || h.Str("name") != "worker-03" {
			t.Fatalf("fields = %v", h.Fields)
		}
	})
	e.waitState(h, "active")
	e.locked(func() {
		want := []string{"registering", "inactive", "provisioning", "provisioned", "activating", "active"}
		if got := e.rec.states[h.APIID()]; !slices.Equal(got, want) {
			t.Fatalf("states = %v, want %v", got, want)
		}
		if h.Str("agentIpAddress") == "" {
			t.Errorf("no agentIpAddress once active")
		}
	})
}

func TestHostCreateValidation(t *testing.T) {
	e := newProcEnv(t, 0)
	e.locked(func() {
		e.s.insertLocked(&Object{Type: "hostTemplate", BaseType: "hostTemplate", AccountID: 5, State: "active",
			Fields: map[string]any{"name": "tmpl", "driver": "digitalocean"}})
	})
	tests := []struct {
		name  string
		input map[string]any
		code  string
		field string
	}{
		{"no config", map[string]any{"hostname": "a"}, "DriverConfigExactlyOneRequired", ""},
		{"two configs", map[string]any{"hostname": "a", "amazonec2Config": map[string]any{},
			"digitaloceanConfig": map[string]any{}}, "DriverConfigExactlyOneRequired", ""},
		{"config and template", map[string]any{"hostname": "a", "amazonec2Config": map[string]any{},
			"hostTemplateId": "1ht1"}, "DriverConfigExactlyOneRequired", ""},
		{"null config does not count", map[string]any{"hostname": "a", "amazonec2Config": nil},
			"DriverConfigExactlyOneRequired", ""},
		{"missing hostname", map[string]any{"amazonec2Config": map[string]any{}}, "MissingRequired", "hostname"},
		{"unknown template", map[string]any{"hostname": "a", "hostTemplateId": "1ht9"}, "InvalidReference",
			"hostTemplateId"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var aerr *apiError
			e.locked(func() { _, aerr = e.s.createLocked(5, procSchema("host", "host"), tc.input) })
			wantAPIError(t, aerr, http.StatusUnprocessableEntity, tc.code, tc.field)
		})
	}
	t.Run("template host takes the template's driver", func(t *testing.T) {
		h := e.create("host", "host", map[string]any{"hostname": "b", "hostTemplateId": "1ht1"})
		e.locked(func() {
			if h.Str("driver") != "digitalocean" || h.Str("hostTemplateId") != "1ht1" {
				t.Fatalf("fields = %v", h.Fields)
			}
		})
		e.waitState(h, "active")
	})
}

func TestHostRemoveAndPurge(t *testing.T) {
	e := newProcEnv(t, 1)
	h := e.hosts[0]
	var aerr *apiError
	e.locked(func() { aerr = e.s.removeLocked(h) })
	wantAPIError(t, aerr, http.StatusMethodNotAllowed, "Method not allowed", "")
	e.mustAction(h, "deactivate", nil)
	e.waitState(h, "inactive")
	e.locked(func() { aerr = e.s.removeLocked(h) })
	if aerr != nil {
		t.Fatal(aerr)
	}
	e.eventually("host removed", func() bool { return h.State == "removed" && h.Removed != nil })
	e.mustAction(h, "purge", nil)
	e.waitState(h, "purged")
	e.locked(func() {
		if e.s.getLocked("host", h.ID) != h || len(e.s.actionsLocked(h)) != 0 {
			t.Fatalf("purged host must stay stored without actions")
		}
	})
}

func TestHostAgentState(t *testing.T) {
	e := newProcEnv(t, 2)
	h := e.hosts[0]
	e.locked(func() {
		wantAPIError(t, e.s.setHostAgentStateLocked(h, "sleepy"), http.StatusUnprocessableEntity, "InvalidOption", "agentState")
		if aerr := e.s.setHostAgentStateLocked(h, "disconnected"); aerr != nil {
			t.Fatal(aerr)
		}
		if h.Fields["agentState"] != "disconnected" || h.State != "active" {
			t.Fatalf("agentState %v state %s", h.Fields["agentState"], h.State)
		}
	})
	// A disconnected host takes no new containers; its own stay.
	svc := e.service("web", 2, "docker:nginx:1.13")
	e.locked(func() {
		for _, c := range e.instances(svc) {
			if c.Str("hostId") == h.APIID() {
				t.Errorf("%s scheduled on a disconnected host", c.Str("name"))
			}
		}
		if aerr := e.s.setHostAgentStateLocked(h, ""); aerr != nil || h.Fields["agentState"] != nil {
			t.Fatalf("clearing agentState: %v %v", aerr, h.Fields["agentState"])
		}
	})
}

func TestEvacuateReschedules(t *testing.T) {
	e := newProcEnv(t, 3)
	svc := e.service("web", 2, "docker:nginx:1.13")
	var victim *Object
	e.locked(func() {
		victim = e.s.objectByAPIIDLocked("host", e.instances(svc)[0].Str("hostId"))
	})
	ev := e.create("externalHostEvent", "externalEvent", map[string]any{"eventType": "host.evacuate",
		"hostId": victim.APIID(), "deleteHost": true})
	e.locked(func() {
		if ev.State != "creating" || ev.Transitioning != "yes" {
			t.Fatalf("event answered %s/%s", ev.State, ev.Transitioning)
		}
	})
	e.waitState(ev, "created")
	e.locked(func() {
		if victim.State != "purged" || victim.Removed == nil {
			t.Fatalf("victim host state %s", victim.State)
		}
		want := []string{"active", "deactivating", "inactive", "removing", "removed", "purging", "purged"}
		if got := e.rec.states[victim.APIID()]; !slices.Equal(got, want) {
			t.Errorf("host states = %v, want %v", got, want)
		}
	})
	e.eventually("service back to 2 running units elsewhere", func() bool {
		insts := e.instances(svc)
		for _, c := range insts {
			if c.Str("hostId") == victim.APIID() {
				return false
			}
		}
		return serviceSettledIn(svc, "active") && len(insts) == 2 && countState(insts, "running") == 2
	})
}

func TestEvacuateValidationAndAction(t *testing.T) {
	e := newProcEnv(t, 2)
	tests := []struct {
		name  string
		input map[string]any
		code  string
		field string
	}{
		{"no event type", map[string]any{"hostId": "1h1"}, "MissingRequired", "eventType"},
		{"other event type", map[string]any{"eventType": "host.explode", "hostId": "1h1"}, "InvalidOption", "eventType"},
		{"no target", map[string]any{"eventType": "host.evacuate"}, "MissingRequired", "hostId"},
		{"unknown host", map[string]any{"eventType": "host.evacuate", "hostId": "1h99"}, "InvalidReference", "hostId"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var aerr *apiError
			e.locked(func() {
				_, aerr = e.s.createLocked(5, procSchema("externalHostEvent", "externalEvent"), tc.input)
			})
			wantAPIError(t, aerr, http.StatusUnprocessableEntity, tc.code, tc.field)
		})
	}
	t.Run("evacuate action keeps the host", func(t *testing.T) {
		h := e.hosts[1]
		e.mustAction(h, "evacuate", nil)
		e.eventually("host evacuated to inactive", func() bool { return serviceSettledIn(h, "inactive") })
		var evs []*Object
		e.locked(func() { evs = e.s.listLocked("externalEvent") })
		if len(evs) != 1 || evs[0].Str("hostId") != h.APIID() || evs[0].Bool("deleteHost") {
			t.Fatalf("events = %v", evs)
		}
		e.waitState(evs[0], "created")
	})
	t.Run("by label", func(t *testing.T) {
		e.locked(func() { e.hosts[0].Fields["labels"] = map[string]any{"pool": "drain"} })
		ev := e.create("externalHostEvent", "externalEvent", map[string]any{"eventType": "host.evacuate",
			"hostLabel": "pool=drain", "deleteHost": true})
		e.waitState(ev, "created")
		e.locked(func() {
			if e.hosts[0].State != "purged" {
				t.Fatalf("labelled host %s", e.hosts[0].State)
			}
		})
	})
}

func TestGlobalServiceFollowsHosts(t *testing.T) {
	e := newProcEnv(t, 2)
	in := map[string]any{"name": "monitor", "stackId": e.stack.APIID(), "launchConfig": map[string]any{
		"imageUuid": "docker:prom/node-exporter:v0.15.2", "labels": map[string]any{labelGlobal: "true"}}}
	svc := e.create("service", "service", in)
	e.waitState(svc, "active")
	perHost := func(n int) func() bool {
		return func() bool {
			hosts := map[string]int{}
			for _, c := range e.instances(svc) {
				if c.State == "running" {
					hosts[c.Str("hostId")]++
				}
			}
			for _, h := range e.s.activeHostsLocked(5) {
				if hosts[h.APIID()] != 1 {
					return false
				}
			}
			return len(hosts) == n && len(e.instances(svc)) == n
		}
	}
	e.eventually("one container on each of 2 hosts", perHost(2))
	h := e.create("host", "host", map[string]any{"hostname": "h3", "amazonec2Config": map[string]any{}})
	e.waitState(h, "active")
	e.eventually("one container on each of 3 hosts", perHost(3))
	ev := e.create("externalHostEvent", "externalEvent", map[string]any{"eventType": "host.evacuate",
		"hostId": e.hosts[0].APIID(), "deleteHost": true})
	e.waitState(ev, "created")
	e.eventually("back to 2", func() bool { return perHost(2)() && serviceSettledIn(svc, "active") })
	e.locked(func() {
		if hs := svc.Str("healthState"); hs != "healthy" {
			t.Errorf("global healthState = %s", hs)
		}
	})
}

func TestStallHoldsTransition(t *testing.T) {
	e := newProcEnv(t, 1)
	svc := e.service("web", 1, "docker:nginx:1.13")
	e.locked(func() { e.s.setStalledLocked(svc, true) })
	if aerr := e.update(svc, map[string]any{"scale": float64(2)}); aerr != nil {
		t.Fatal(aerr)
	}
	// Another service completes its whole create meanwhile: time passed, the stalled one did not move.
	e.service("other", 1, "docker:redis:4")
	e.locked(func() {
		if svc.State != "updating-active" || len(e.instances(svc)) != 1 {
			t.Fatalf("stalled service moved: %s, %d instances", svc.State, len(e.instances(svc)))
		}
		e.s.setStalledLocked(svc, false)
	})
	e.waitState(svc, "active")
	e.locked(func() {
		if n := countState(e.instances(svc), "running"); n != 2 {
			t.Fatalf("running = %d after release", n)
		}
	})
}

func TestContainerLifecycle(t *testing.T) {
	e := newProcEnv(t, 1)
	c := e.create("container", "instance", map[string]any{"imageUuid": "busybox", "name": "box"})
	e.locked(func() {
		if c.State != "creating" || c.Str("imageUuid") != "docker:busybox" || c.Str("hostId") != e.hosts[0].APIID() {
			t.Fatalf("create answered %s %v", c.State, c.Fields)
		}
	})
	e.waitState(c, "running")
	steps := []struct {
		action, transitioning, done string
	}{
		{"stop", "stopping", "stopped"},
		{"start", "starting", "running"},
		{"restart", "restarting", "running"},
		{"remove", "stopping", "removed"},
		{"purge", "purging", "purged"},
	}
	for _, st := range steps {
		t.Run(st.action, func(t *testing.T) {
			e.mustAction(c, st.action, nil)
			e.locked(func() {
				if c.State != st.transitioning {
					t.Fatalf("%s answered %s, want %s", st.action, c.State, st.transitioning)
				}
			})
			e.waitState(c, st.done)
		})
	}
	e.locked(func() {
		want := []string{"creating", "starting", "running", "stopping", "stopped", "starting", "running",
			"restarting", "running", "stopping", "stopped", "removing", "removed", "purging", "purged"}
		if got := e.rec.states[c.APIID()]; !slices.Equal(got, want) {
			t.Fatalf("states = %v", got)
		}
		if c.Int("startCount", 0) != 3 {
			t.Errorf("startCount = %d", c.Int("startCount", 0))
		}
	})
	t.Run("missing image", func(t *testing.T) {
		var aerr *apiError
		e.locked(func() { _, aerr = e.s.createLocked(5, procSchema("container", "instance"), map[string]any{}) })
		wantAPIError(t, aerr, http.StatusUnprocessableEntity, "MissingRequired", "imageUuid")
	})
}

func TestGenericObjectLifecycle(t *testing.T) {
	e := newProcEnv(t, 0)
	g := e.create("genericObject", "genericObject", map[string]any{"name": "hook", "key": "k1",
		"kind": "webhookReceiver", "resourceData": map[string]any{"driver": "scaleService"}})
	e.locked(func() {
		if g.State != "activating" || g.Str("kind") != "webhookReceiver" {
			t.Fatalf("create answered %s kind %s", g.State, g.Str("kind"))
		}
	})
	e.waitState(g, "active")
	var aerr *apiError
	e.locked(func() { aerr = e.s.removeLocked(g) })
	if aerr != nil {
		t.Fatal(aerr)
	}
	e.eventually("removed", func() bool { return g.State == "removed" && g.Removed != nil })
	e.locked(func() {
		if got := e.rec.states[g.APIID()]; !slices.Equal(got, []string{"activating", "active", "removing", "removed"}) {
			t.Errorf("states = %v", got)
		}
		wantAPIError(t, e.s.removeLocked(g), http.StatusMethodNotAllowed, "Method not allowed", "")
	})
}
