package cattlesim

import (
	"net/http"
	"slices"
	"testing"
)

// upgradeInput builds an inServiceStrategy upgrade to image with batch size 1 and the minimum interval.
func upgradeInput(image string, startFirst bool) map[string]any {
	return map[string]any{"inServiceStrategy": map[string]any{
		"batchSize": float64(1), "intervalMillis": float64(100), "startFirst": startFirst,
		"launchConfig": map[string]any{"imageUuid": image, "labels": map[string]any{"app": "web"}},
	}}
}

func TestUpgradeToFinish(t *testing.T) {
	for _, startFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "stop first", true: "start first"}[startFirst], func(t *testing.T) {
			e := newProcEnv(t, 2)
			svc := e.service("web", 2, "docker:nginx:1.13")
			var oldIDs []string
			e.locked(func() {
				for _, c := range e.instances(svc) {
					oldIDs = append(oldIDs, c.APIID())
				}
			})
			e.mustAction(svc, "upgrade", upgradeInput("nginx:1.14", startFirst))
			var newVersion string
			e.locked(func() {
				if svc.State != "upgrading" || svc.Transitioning != "yes" {
					t.Fatalf("upgrade answered %s/%s", svc.State, svc.Transitioning)
				}
				lc := svc.Map("launchConfig")
				newVersion, _ = lc["version"].(string)
				if lc["imageUuid"] != "docker:nginx:1.14" || newVersion == "" || newVersion == "0" {
					t.Fatalf("launchConfig not replaced at once: %v", lc)
				}
				in := anyMap(svc.Map("upgrade")["inServiceStrategy"])
				prev := anyMap(in["previousLaunchConfig"])
				if prev["imageUuid"] != "docker:nginx:1.13" || prev["version"] != "0" ||
					in["startFirst"] != startFirst || in["batchSize"] != float64(1) ||
					in["type"] != "inServiceUpgradeStrategy" || svc.Map("upgrade")["type"] != "serviceUpgrade" {
					t.Fatalf("upgrade record = %v", svc.Map("upgrade"))
				}
			})
			wantAPIError(t, e.action(svc, "upgrade", upgradeInput("nginx:1.15", false)),
				http.StatusUnprocessableEntity, "ActionNotAvailable", "action")
			e.waitState(svc, "upgraded")
			e.locked(func() {
				insts := e.instances(svc)
				if len(insts) != 4 || countState(insts, "stopped") != 2 || countState(insts, "running") != 2 {
					t.Fatalf("after upgrade: %d instances, %d stopped, %d running", len(insts),
						countState(insts, "stopped"), countState(insts, "running"))
				}
				for _, c := range insts {
					old := slices.Contains(oldIDs, c.APIID())
					if old != (c.State == "stopped") || old != (c.Str("version") == "0") {
						t.Errorf("%s old=%v state=%s version=%s", c.APIID(), old, c.State, c.Str("version"))
					}
					if !old && (c.Str("imageUuid") != "docker:nginx:1.14" || c.Str("version") != newVersion) {
						t.Errorf("new %s image=%s version=%s", c.APIID(), c.Str("imageUuid"), c.Str("version"))
					}
				}
				if ids := svc.StrSlice("instanceIds"); len(ids) != 4 {
					t.Errorf("instanceIds = %v, want old and new", ids)
				}
				if svc.Int("currentScale", 0) != 2 {
					t.Errorf("currentScale = %v", svc.Fields["currentScale"])
				}
			})
			wantAPIError(t, e.action(svc, "upgrade", upgradeInput("nginx:1.15", false)),
				http.StatusUnprocessableEntity, "ActionNotAvailable", "action")
			wantAPIError(t, e.update(svc, map[string]any{"scale": float64(3)}), http.StatusConflict, "Conflict", "")

			e.mustAction(svc, "finishupgrade", nil)
			e.waitState(svc, "active")
			e.locked(func() {
				insts := e.instances(svc)
				if len(insts) != 2 || countState(insts, "running") != 2 || !slices.Equal(versions(insts), []string{newVersion}) {
					t.Fatalf("after finish: %d instances, versions %v", len(insts), versions(insts))
				}
				for _, id := range oldIDs {
					if o := e.s.objectByAPIIDLocked("instance", id); o.State != "removed" || o.Removed == nil {
						t.Errorf("old %s state %s, want removed", id, o.State)
					}
				}
				if got := e.rec.states[svc.APIID()]; !slices.Equal(got[len(got)-4:],
					[]string{"upgrading", "upgraded", "finishing-upgrade", "active"}) {
					t.Errorf("service states = %v", got)
				}
			})
		})
	}
}

func TestUpgradeRollback(t *testing.T) {
	e := newProcEnv(t, 2)
	svc := e.service("web", 2, "docker:nginx:1.13")
	var oldIDs []string
	e.locked(func() {
		for _, c := range e.instances(svc) {
			oldIDs = append(oldIDs, c.APIID())
		}
	})
	e.mustAction(svc, "upgrade", upgradeInput("docker:nginx:1.14", false))
	e.waitState(svc, "upgraded")
	e.mustAction(svc, "rollback", nil)
	e.locked(func() {
		if svc.State != "rolling-back" {
			t.Fatalf("rollback answered %s", svc.State)
		}
	})
	e.waitState(svc, "active")
	e.locked(func() {
		if img := svc.Map("launchConfig")["imageUuid"]; img != "docker:nginx:1.13" {
			t.Errorf("launchConfig.imageUuid = %v after rollback", img)
		}
		insts := e.instances(svc)
		var ids []string
		for _, c := range insts {
			ids = append(ids, c.APIID())
			if c.State != "running" || c.Str("imageUuid") != "docker:nginx:1.13" {
				t.Errorf("%s %s %s", c.APIID(), c.State, c.Str("imageUuid"))
			}
		}
		if !slices.Equal(ids, oldIDs) {
			t.Errorf("instances after rollback = %v, want the old ones %v (new removed, old restarted)", ids, oldIDs)
		}
	})
}

// TestUpgradeHealthGating covers both batch orders with new containers that come up unhealthy: the loop blocks
// (service stays upgrading) with the old unit still running (start first) or already stopped (stop first),
// until the new container is set healthy.
func TestUpgradeHealthGating(t *testing.T) {
	tests := []struct {
		startFirst     bool
		runningOld     int
		stoppedOld     int
		wantTotalWhile int
		health         string // service healthState while blocked (§3.2: healthy running ≥ scale ⇒ healthy)
	}{
		{startFirst: true, runningOld: 2, stoppedOld: 0, wantTotalWhile: 3, health: "healthy"},
		{startFirst: false, runningOld: 1, stoppedOld: 1, wantTotalWhile: 3, health: "degraded"},
	}
	for _, tc := range tests {
		t.Run(map[bool]string{false: "stop first", true: "start first"}[tc.startFirst], func(t *testing.T) {
			e := newProcEnv(t, 2)
			svc := e.service("web", 2, "docker:nginx:1.13")
			e.locked(func() { e.s.healthRules["docker:nginx:broken"] = "unhealthy" })
			e.mustAction(svc, "upgrade", upgradeInput("docker:nginx:broken", tc.startFirst))
			fresh := func() []*Object {
				var out []*Object
				for _, c := range e.instances(svc) {
					if c.Str("imageUuid") == "docker:nginx:broken" {
						out = append(out, c)
					}
				}
				return out
			}
			e.eventually("first new container unhealthy", func() bool {
				f := fresh()
				return len(f) == 1 && f[0].Str("healthState") == "unhealthy"
			})
			// Prove the block with progress elsewhere rather than a sleep: another service completes a
			// whole create while this upgrade stays where it is.
			e.service("other", 1, "docker:redis:4")
			e.locked(func() {
				if svc.State != "upgrading" || len(fresh()) != 1 {
					t.Fatalf("upgrade moved past an unhealthy container: state %s, %d new", svc.State, len(fresh()))
				}
				var runningOld, stoppedOld int
				for _, c := range e.instances(svc) {
					if c.Str("imageUuid") == "docker:nginx:1.13" {
						switch c.State {
						case "running":
							runningOld++
						case "stopped":
							stoppedOld++
						}
					}
				}
				if runningOld != tc.runningOld || stoppedOld != tc.stoppedOld || len(e.instances(svc)) != tc.wantTotalWhile {
					t.Fatalf("while blocked: old running %d stopped %d, total %d", runningOld, stoppedOld, len(e.instances(svc)))
				}
				if hs := svc.Str("healthState"); hs != tc.health {
					t.Errorf("service healthState = %s while blocked, want %s", hs, tc.health)
				}
			})
			// Releasing each new container in turn lets the loop finish.
			for i := 0; i < 2; i++ {
				e.eventually("a new unhealthy container", func() bool {
					for _, c := range fresh() {
						if c.Str("healthState") == "unhealthy" {
							if aerr := e.s.setContainerHealthLocked(c, "healthy"); aerr != nil {
								t.Fatal(aerr)
							}
							return true
						}
					}
					return false
				})
			}
			e.waitState(svc, "upgraded")
		})
	}
}

func TestUpgradeCancelContinue(t *testing.T) {
	e := newProcEnv(t, 2)
	svc := e.service("web", 2, "docker:nginx:1.13")
	e.locked(func() { e.s.healthRules["docker:nginx:slow"] = "unhealthy" })
	e.mustAction(svc, "upgrade", upgradeInput("docker:nginx:slow", true))
	var first *Object
	e.eventually("first new container", func() bool {
		for _, c := range e.instances(svc) {
			if c.Str("imageUuid") == "docker:nginx:slow" && c.Str("healthState") == "unhealthy" {
				first = c
				return true
			}
		}
		return false
	})
	e.mustAction(svc, "cancelupgrade", nil)
	e.locked(func() {
		if svc.State != "canceling-upgrade" {
			t.Fatalf("cancel answered %s", svc.State)
		}
	})
	e.waitState(svc, "canceled-upgrade")
	e.locked(func() {
		if aerr := e.s.setContainerHealthLocked(first, "healthy"); aerr != nil {
			t.Fatal(aerr)
		}
		if got := actionsForState("service", svc.State); !slices.Contains(got, "continueupgrade") || !slices.Contains(got, "rollback") {
			t.Fatalf("actions in canceled-upgrade = %v", got)
		}
	})
	// A canceled loop must not go on: let another service complete a create meanwhile.
	e.service("other", 1, "docker:redis:4")
	e.locked(func() {
		n := 0
		for _, c := range e.instances(svc) {
			if c.Str("imageUuid") == "docker:nginx:slow" {
				n++
			}
		}
		if svc.State != "canceled-upgrade" || n != 1 {
			t.Fatalf("after cancel: state %s, %d new containers (want 1)", svc.State, n)
		}
		e.s.healthRules["docker:nginx:slow"] = "healthy"
	})
	wantAPIError(t, e.update(svc, map[string]any{"scale": float64(3)}), http.StatusConflict, "Conflict", "")
	e.mustAction(svc, "continueupgrade", nil)
	e.locked(func() {
		if svc.State != "upgrading" {
			t.Fatalf("continue answered %s", svc.State)
		}
	})
	e.waitState(svc, "upgraded")
	e.locked(func() {
		if n := countState(e.instances(svc), "running"); n != 2 {
			t.Errorf("running after continue = %d", n)
		}
	})
}

func TestUpgradeSidekicks(t *testing.T) {
	e := newProcEnv(t, 1)
	svc := e.service("worker", 1, "docker:busybox:1.36",
		map[string]any{"name": "side", "imageUuid": "docker:busybox:1.36"},
		map[string]any{"name": "net", "imageUuid": "docker:busybox:1.36", "networkLaunchConfig": "side"},
		map[string]any{"name": "other", "imageUuid": "docker:busybox:1.36"})
	e.mustAction(svc, "upgrade", map[string]any{"inServiceStrategy": map[string]any{
		"intervalMillis":         float64(100),
		"secondaryLaunchConfigs": []any{map[string]any{"name": "side", "imageUuid": "docker:busybox:1.37"}}}})
	e.waitState(svc, "upgraded")
	e.locked(func() {
		lcs := serviceLaunchConfigs(svc)
		got := map[string]string{}
		for _, lc := range lcs {
			got[lc.label()] = lc.version()
		}
		if got[primaryLaunchConfig] != "0" || got["other"] != "0" || got["side"] == "0" || got["net"] == "0" {
			t.Fatalf("versions = %v: want side and its network dependant net upgraded, primary and other not", got)
		}
		in := anyMap(svc.Map("upgrade")["inServiceStrategy"])
		if in["previousLaunchConfig"] != nil || len(anyStrSliceOfMaps(in["previousSecondaryLaunchConfigs"])) != 2 {
			t.Errorf("previous configs = %v / %v", in["previousLaunchConfig"], in["previousSecondaryLaunchConfigs"])
		}
		insts := e.instances(svc)
		if len(insts) != 6 || countState(insts, "stopped") != 2 {
			t.Fatalf("instances %d stopped %d, want 6 and 2 (side, net replaced)", len(insts), countState(insts, "stopped"))
		}
	})
}

// anyStrSliceOfMaps returns the "name" of each object in a JSON array.
func anyStrSliceOfMaps(v any) []string {
	var out []string
	arr, _ := v.([]any)
	for _, x := range arr {
		if n, ok := anyMap(x)["name"].(string); ok {
			out = append(out, n)
		}
	}
	return out
}

func TestUpgradeValidation(t *testing.T) {
	e := newProcEnv(t, 1)
	svc := e.service("web", 1, "docker:nginx:1.13")
	strategy := func(field string, value any) map[string]any {
		return map[string]any{"inServiceStrategy": map[string]any{
			"launchConfig": map[string]any{"imageUuid": "docker:nginx:1.14"}, field: value}}
	}
	tests := []struct {
		name  string
		input map[string]any
		code  string
		field string
	}{
		{"no strategy", map[string]any{}, "MissingRequired", "Upgrade strategy needs to be set"},
		{"null strategies", map[string]any{"inServiceStrategy": nil, "toServiceStrategy": nil}, "MissingRequired",
			"Upgrade strategy needs to be set"},
		{"no launch configs", map[string]any{"inServiceStrategy": map[string]any{"batchSize": float64(1)}},
			"InvalidOption", "launchConfig/secondaryLaunchConfigs"},
		{"batchSize 0", strategy("batchSize", float64(0)), "MinLimitExceeded", "batchSize"},
		{"intervalMillis 99", strategy("intervalMillis", float64(99)), "MinLimitExceeded", "intervalMillis"},
		{"batchSize not a number", strategy("batchSize", "many"), "InvalidFormat", "batchSize"},
		{"startFirst not a boolean", strategy("startFirst", "yes"), "InvalidFormat", "startFirst"},
		{"unknown sidekick", map[string]any{"inServiceStrategy": map[string]any{
			"secondaryLaunchConfigs": []any{map[string]any{"name": "nope", "imageUuid": "x"}}}},
			"InvalidOption", "secondaryLaunchConfigs"},
		{"toServiceStrategy", map[string]any{"toServiceStrategy": map[string]any{"toServiceId": "1s2"}},
			"InvalidOption", "toServiceStrategy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantAPIError(t, e.action(svc, "upgrade", tc.input), http.StatusUnprocessableEntity, tc.code, tc.field)
			e.locked(func() {
				if svc.State != "active" || svc.Map("launchConfig")["imageUuid"] != "docker:nginx:1.13" {
					t.Fatalf("a rejected upgrade changed the service: %s %v", svc.State, svc.Map("launchConfig"))
				}
			})
		})
	}
}
