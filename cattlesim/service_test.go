package cattlesim

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestServiceCreateDeploysUnits(t *testing.T) {
	e := newProcEnv(t, 3)
	in := map[string]any{"name": "web", "stackId": e.stack.APIID(), "scale": float64(2),
		"launchConfig":           map[string]any{"imageUuid": "nginx:1.13", "labels": map[string]any{"app": "web"}},
		"secondaryLaunchConfigs": []any{map[string]any{"name": "side", "imageUuid": "docker:busybox:1.36"}}}
	svc := e.create("service", "service", in)
	e.locked(func() {
		if svc.State != "registering" || svc.Transitioning != "yes" {
			t.Fatalf("create answered %s/%s, want registering/yes", svc.State, svc.Transitioning)
		}
	})
	e.waitState(svc, "active")
	// active means started (Cattle's activate waits for start, not for health); health follows.
	e.eventually("web healthy", func() bool { return svc.Str("healthState") == "healthy" })
	e.locked(func() {
		if got := e.rec.states[svc.APIID()]; !slices.Equal(got, []string{"registering", "inactive", "activating", "active"}) {
			t.Errorf("service states = %v", got)
		}
		insts := e.instances(svc)
		if len(insts) != 4 || countState(insts, "running") != 4 {
			t.Fatalf("instances = %d (%d running), want 4 running", len(insts), countState(insts, "running"))
		}
		if svc.Int("currentScale", -1) != 2 || svc.Str("healthState") != "healthy" {
			t.Errorf("currentScale=%v healthState=%v", svc.Fields["currentScale"], svc.Fields["healthState"])
		}
		if ids := svc.StrSlice("instanceIds"); len(ids) != 4 {
			t.Errorf("instanceIds = %v", ids)
		}
		if img := svc.Map("launchConfig")["imageUuid"]; img != "docker:nginx:1.13" {
			t.Errorf("launchConfig.imageUuid = %v, want the docker: prefix added", img)
		}
		units := map[string][]*Object{}
		hosts := map[string]bool{}
		var names []string
		for _, c := range insts {
			units[c.Str("deploymentUnitUuid")] = append(units[c.Str("deploymentUnitUuid")], c)
			names = append(names, c.Str("name"))
			labels := c.StrMap("labels")
			if labels["app"] == "" && labels[labelLaunchConfig] == primaryLaunchConfig {
				t.Errorf("%s lost its launchConfig labels: %v", c.Str("name"), labels)
			}
			if labels[labelStackServiceName] != "st/web" || labels[labelDeploymentUnit] != c.Str("deploymentUnitUuid") {
				t.Errorf("%s labels = %v", c.Str("name"), labels)
			}
			if c.Str("serviceId") != svc.APIID() || c.StrSlice("serviceIds")[0] != svc.APIID() ||
				c.Str("stackId") != e.stack.APIID() || c.Str("version") != "0" || c.Str("healthState") != "healthy" ||
				!strings.HasPrefix(c.Str("primaryIpAddress"), "10.42.") || c.Int("startCount", 0) != 1 {
				t.Errorf("%s fields = %v", c.Str("name"), c.Fields)
			}
			hosts[c.Str("hostId")] = true
		}
		slices.Sort(names)
		if want := []string{"st-web-1", "st-web-2", "st-web-side-1", "st-web-side-2"}; !slices.Equal(names, want) {
			t.Errorf("names = %v, want %v", names, want)
		}
		if len(units) != 2 {
			t.Fatalf("deployment units = %d, want 2", len(units))
		}
		for uid, members := range units {
			if len(members) != 2 || members[0].Str("hostId") != members[1].Str("hostId") {
				t.Errorf("unit %s is not primary+sidekick on one host", uid)
			}
		}
		if len(hosts) != 2 {
			t.Errorf("units share a host while others are free: %v", hosts)
		}
	})
}

func TestServiceScale(t *testing.T) {
	tests := []struct {
		name     string
		from, to int
	}{
		{"up", 1, 3},
		{"down", 3, 1},
		{"to zero", 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newProcEnv(t, 2)
			svc := e.service("web", tc.from, "docker:nginx:1.13",
				map[string]any{"name": "side", "imageUuid": "docker:busybox:1.36"})
			var before []int
			e.locked(func() {
				for _, c := range e.instances(svc) {
					before = append(before, c.Int("createIndex", 0))
				}
			})
			if aerr := e.update(svc, map[string]any{"scale": float64(tc.to)}); aerr != nil {
				t.Fatalf("PUT scale: %v", aerr)
			}
			e.locked(func() {
				if svc.State != "updating-active" {
					t.Fatalf("PUT answered state %s, want updating-active", svc.State)
				}
			})
			e.waitState(svc, "active")
			e.locked(func() {
				insts := e.instances(svc)
				if n := countState(insts, "running"); n != tc.to*2 || len(insts) != tc.to*2 {
					t.Fatalf("running = %d of %d, want %d", n, len(insts), tc.to*2)
				}
				if svc.Int("currentScale", -1) != tc.to {
					t.Errorf("currentScale = %v, want %d", svc.Fields["currentScale"], tc.to)
				}
				if tc.to < tc.from {
					// Scale-down removes the highest createIndex units: the survivors are the oldest.
					slices.Sort(before)
					for _, c := range insts {
						if !slices.Contains(before[:tc.to*2], c.Int("createIndex", 0)) {
							t.Errorf("survivor %s has createIndex %d, want one of %v", c.Str("name"),
								c.Int("createIndex", 0), before[:tc.to*2])
						}
					}
				}
			})
		})
	}
}

func TestServiceUpdateRules(t *testing.T) {
	e := newProcEnv(t, 1)
	svc := e.service("web", 1, "docker:nginx:1.13")
	t.Run("non-scheduleUpdate field is written without a process", func(t *testing.T) {
		if aerr := e.update(svc, map[string]any{"description": "front"}); aerr != nil {
			t.Fatal(aerr)
		}
		e.locked(func() {
			if svc.State != "active" || svc.Str("description") != "front" {
				t.Fatalf("state %s description %q", svc.State, svc.Str("description"))
			}
		})
	})
	t.Run("unchanged scale starts nothing", func(t *testing.T) {
		if aerr := e.update(svc, map[string]any{"scale": float64(1)}); aerr != nil {
			t.Fatal(aerr)
		}
		e.locked(func() {
			if svc.State != "active" {
				t.Fatalf("state %s", svc.State)
			}
		})
	})
	t.Run("negative scale", func(t *testing.T) {
		wantAPIError(t, e.update(svc, map[string]any{"scale": float64(-1)}), http.StatusUnprocessableEntity,
			"MinLimitExceeded", "scale")
	})
	t.Run("inactive service scales without containers", func(t *testing.T) {
		e.mustAction(svc, "deactivate", nil)
		e.waitState(svc, "inactive")
		e.locked(func() {
			if n := countState(e.instances(svc), "stopped"); n != 1 {
				t.Fatalf("stopped instances = %d, want 1", n)
			}
		})
		if aerr := e.update(svc, map[string]any{"scale": float64(3)}); aerr != nil {
			t.Fatal(aerr)
		}
		e.locked(func() {
			if svc.State != "updating-inactive" {
				t.Fatalf("state %s, want updating-inactive", svc.State)
			}
		})
		e.waitState(svc, "inactive")
		e.locked(func() {
			if n := len(e.instances(svc)); n != 1 {
				t.Fatalf("instances = %d, want 1 (nothing deployed while inactive)", n)
			}
		})
		e.mustAction(svc, "activate", nil)
		e.waitState(svc, "active")
		e.locked(func() {
			if n := countState(e.instances(svc), "running"); n != 3 {
				t.Fatalf("running = %d, want 3 after activate", n)
			}
		})
	})
}

func TestServiceHealthState(t *testing.T) {
	tests := []struct {
		name       string
		rule       *string
		wantSvc    string
		wantHealth any
	}{
		{"default rule", nil, "healthy", "healthy"},
		{"unhealthy image", ptr("unhealthy"), "unhealthy", "unhealthy"},
		{"no health check", ptr(""), "healthy", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newProcEnv(t, 1)
			if tc.rule != nil {
				e.locked(func() { e.s.healthRules["docker:app:1"] = *tc.rule })
			}
			svc := e.service("app", 2, "docker:app:1")
			e.eventually("health settled", func() bool {
				for _, c := range e.instances(svc) {
					if c.Str("healthState") == "initializing" {
						return false
					}
				}
				return true
			})
			e.locked(func() {
				for _, c := range e.instances(svc) {
					if !jsonEqual(c.Fields["healthState"], tc.wantHealth) {
						t.Errorf("%s healthState = %v, want %v", c.Str("name"), c.Fields["healthState"], tc.wantHealth)
					}
				}
				if got := svc.Str("healthState"); got != tc.wantSvc {
					t.Errorf("service healthState = %s, want %s", got, tc.wantSvc)
				}
			})
			if tc.rule != nil && *tc.rule == "unhealthy" {
				var first *Object
				e.locked(func() {
					first = e.instances(svc)[0]
					if aerr := e.s.setContainerHealthLocked(first, "healthy"); aerr != nil {
						t.Fatal(aerr)
					}
					if got := svc.Str("healthState"); got != "degraded" {
						t.Errorf("one healthy of two: service healthState = %s, want degraded", got)
					}
					wantAPIError(t, e.s.setContainerHealthLocked(first, "splendid"), http.StatusUnprocessableEntity,
						"InvalidOption", "healthState")
				})
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestServiceRemoveAndStack(t *testing.T) {
	e := newProcEnv(t, 1)
	web := e.service("web", 2, "docker:nginx:1.13")
	db := e.service("db", 1, "docker:postgres:9.6")
	e.locked(func() {
		if ids := e.stack.StrSlice("serviceIds"); !slices.Equal(ids, []string{web.APIID(), db.APIID()}) {
			t.Errorf("stack serviceIds = %v", ids)
		}
	})
	var aerr *apiError
	e.locked(func() { aerr = e.s.removeLocked(web) })
	if aerr != nil {
		t.Fatal(aerr)
	}
	e.eventually("web removed", func() bool { return web.State == "removed" && web.Removed != nil })
	e.locked(func() {
		if n := len(e.instances(web)); n != 0 {
			t.Errorf("web still has %d instances", n)
		}
		wantAPIError(t, e.s.removeLocked(web), http.StatusMethodNotAllowed, "Method not allowed", "")
	})
	e.locked(func() { aerr = e.s.removeLocked(e.stack) })
	if aerr != nil {
		t.Fatal(aerr)
	}
	e.eventually("stack removed with its services", func() bool {
		return e.stack.State == "removed" && db.State == "removed" && len(e.instances(db)) == 0
	})
}

func TestServiceRestart(t *testing.T) {
	e := newProcEnv(t, 2)
	svc := e.service("web", 2, "docker:nginx:1.13")
	wantAPIError(t, e.action(svc, "restart", map[string]any{"rollingRestartStrategy": map[string]any{"batchSize": float64(0)}}),
		http.StatusUnprocessableEntity, "MinLimitExceeded", "batchSize")
	e.mustAction(svc, "restart", map[string]any{"rollingRestartStrategy": map[string]any{
		"batchSize": float64(1), "intervalMillis": float64(100)}})
	e.locked(func() {
		if svc.State != "restarting" {
			t.Fatalf("state %s, want restarting", svc.State)
		}
	})
	e.waitState(svc, "active")
	e.locked(func() {
		for _, c := range e.instances(svc) {
			if c.Int("startCount", 0) != 2 || c.State != "running" {
				t.Errorf("%s startCount=%d state=%s, want restarted once", c.Str("name"), c.Int("startCount", 0), c.State)
			}
		}
	})
}

func TestServiceCreateValidation(t *testing.T) {
	e := newProcEnv(t, 1)
	e.service("web", 1, "docker:nginx:1.13")
	tests := []struct {
		name  string
		input map[string]any
		code  string
		field string
	}{
		{"missing name", map[string]any{"stackId": e.stack.APIID()}, "MissingRequired", "name"},
		{"duplicate name in stack", map[string]any{"name": "web", "stackId": e.stack.APIID()}, "NotUnique", "name"},
		{"unknown stack", map[string]any{"name": "x", "stackId": "1st999"}, "InvalidReference", "stackId"},
		{"sidekick without name", map[string]any{"name": "x", "secondaryLaunchConfigs": []any{map[string]any{}}},
			"MissingRequired", "name"},
		{"launchConfig not an object", map[string]any{"name": "x", "launchConfig": "nginx"}, "InvalidFormat", "launchConfig"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var aerr *apiError
			e.locked(func() { _, aerr = e.s.createLocked(5, procSchema("service", "service"), tc.input) })
			wantAPIError(t, aerr, http.StatusUnprocessableEntity, tc.code, tc.field)
		})
	}
}

func TestDNSServiceHasNoContainers(t *testing.T) {
	e := newProcEnv(t, 1)
	svc := e.create("dnsService", "service", map[string]any{"name": "alias", "stackId": e.stack.APIID()})
	e.waitState(svc, "active")
	e.locked(func() {
		if n := len(e.instances(svc)); n != 0 || svc.Str("healthState") != "healthy" {
			t.Fatalf("dnsService instances=%d healthState=%s", n, svc.Str("healthState"))
		}
	})
}

func TestServiceLinks(t *testing.T) {
	e := newProcEnv(t, 1)
	web := e.service("web", 1, "docker:nginx:1.13")
	db := e.service("db", 1, "docker:postgres:9.6")
	e.mustAction(web, "addservicelink", map[string]any{"serviceLink": map[string]any{"serviceId": db.APIID(), "name": "database"}})
	e.locked(func() {
		if got := web.Map("linkedServices"); !jsonEqual(got, map[string]any{"database": db.APIID()}) {
			t.Fatalf("linkedServices = %v", got)
		}
	})
	wantAPIError(t, e.action(web, "addservicelink", map[string]any{"serviceLink": map[string]any{"serviceId": "1s99"}}),
		http.StatusUnprocessableEntity, "InvalidReference", "serviceId")
	e.mustAction(web, "removeservicelink", map[string]any{"serviceLink": map[string]any{"serviceId": db.APIID()}})
	e.locked(func() {
		if got := web.Map("linkedServices"); len(got) != 0 {
			t.Fatalf("linkedServices after remove = %v", got)
		}
	})
}

func TestServiceStartOnCreateFalse(t *testing.T) {
	e := newProcEnv(t, 1)
	svc := e.create("service", "service", map[string]any{"name": "idle", "stackId": e.stack.APIID(),
		"startOnCreate": false, "launchConfig": map[string]any{"imageUuid": "docker:nginx:1.13"}})
	e.waitState(svc, "inactive")
	// Another service's whole create passes: the idle one must not have been activated meanwhile.
	e.service("other", 1, "docker:redis:4")
	e.locked(func() {
		if svc.State != "inactive" || len(e.instances(svc)) != 0 {
			t.Fatalf("startOnCreate=false service is %s with %d instances", svc.State, len(e.instances(svc)))
		}
	})
}
