package cattlesim

import (
	"net/http"
	"slices"
	"testing"
)

func TestActionsFollowStateTable(t *testing.T) {
	links := []string{"addservicelink", "removeservicelink", "setservicelinks"}
	tests := []struct {
		baseType, state string
		want            []string
	}{
		{"service", "active", append([]string{"deactivate", "remove", "restart", "update", "upgrade"}, links...)},
		{"service", "inactive", append([]string{"activate", "remove", "update", "upgrade"}, links...)},
		{"service", "upgrading", append([]string{"cancelupgrade", "remove", "rollback", "update"}, links...)},
		{"service", "upgraded", append([]string{"finishupgrade", "remove", "rollback"}, links...)},
		{"service", "canceled-upgrade", append([]string{"continueupgrade", "remove", "rollback"}, links...)},
		{"service", "removed", links},
		{"host", "active", []string{"deactivate", "evacuate", "update"}},
		{"host", "inactive", []string{"activate", "evacuate", "remove", "update"}},
		{"host", "removed", []string{"purge"}},
		{"host", "purged", nil},
		{"instance", "running", []string{"remove", "restart", "stop", "update"}},
		{"instance", "stopped", []string{"remove", "start", "update"}},
		{"genericObject", "active", []string{"remove"}},
		{"externalEvent", "created", nil},
	}
	for _, tc := range tests {
		t.Run(tc.baseType+"/"+tc.state, func(t *testing.T) {
			want := append([]string(nil), tc.want...)
			slices.Sort(want)
			got := actionsForState(tc.baseType, tc.state)
			if !slices.Equal(got, want) {
				t.Fatalf("actions = %v, want %v", got, want)
			}
		})
	}
}

func TestActionErrors(t *testing.T) {
	e := newProcEnv(t, 1)
	svc := e.service("web", 1, "docker:nginx:1.13")
	tests := []struct {
		name   string
		action string
		status int
		code   string
	}{
		{"unknown action", "explode", http.StatusUnprocessableEntity, "InvalidAction"},
		{"not in this state", "finishupgrade", http.StatusUnprocessableEntity, "ActionNotAvailable"},
		{"host action on a service", "evacuate", http.StatusUnprocessableEntity, "InvalidAction"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			aerr := e.action(svc, tc.action, nil)
			field := "action"
			wantAPIError(t, aerr, tc.status, tc.code, field)
		})
	}
	t.Run("racing a running process is 409", func(t *testing.T) {
		if aerr := e.update(svc, map[string]any{"scale": float64(2)}); aerr != nil {
			t.Fatalf("scale: %v", aerr)
		}
		// updating-active holds the service: restart is not a start state there, upgrade is not preempting.
		var state string
		e.locked(func() { state = svc.State })
		if state != "updating-active" {
			t.Fatalf("state after PUT = %s, want updating-active (set synchronously)", state)
		}
		wantAPIError(t, e.action(svc, "update", nil), http.StatusConflict, "Conflict", "")
		wantAPIError(t, e.update(svc, map[string]any{"scale": float64(3)}), http.StatusConflict, "Conflict", "")
		e.waitState(svc, "active")
	})
	t.Run("DELETE outside remove's start states is 405", func(t *testing.T) {
		var aerr *apiError
		e.locked(func() { aerr = e.s.removeLocked(e.hosts[0]) })
		wantAPIError(t, aerr, http.StatusMethodNotAllowed, "Method not allowed", "")
	})
}

func TestActionsLimitedBySchemaAndHealth(t *testing.T) {
	e := newProcEnv(t, 1)
	e.locked(func() {
		e.s.schemas["testDNSService"] = &Schema{ID: "testDNSService", BaseType: "service",
			Actions: map[string]string{"deactivate": "", "remove": "", "update": "", "upgrade": ""}}
	})
	t.Run("schema without restart", func(t *testing.T) {
		o := &Object{Type: "testDNSService", BaseType: "service", State: "active"}
		var got []string
		e.locked(func() { got = e.s.actionsLocked(o) })
		if want := []string{"deactivate", "remove", "update", "upgrade"}; !slices.Equal(got, want) {
			t.Fatalf("actions = %v, want %v", got, want)
		}
	})
	t.Run("health processes follow healthState", func(t *testing.T) {
		c := e.create("container", "instance", map[string]any{"imageUuid": "docker:busybox"})
		e.eventually("healthy", func() bool { return c.State == "running" && c.Str("healthState") == "healthy" })
		var got []string
		e.locked(func() { got = e.s.actionsLocked(c) })
		for _, a := range []string{"updatehealthy", "updateunhealthy", "updatereinitializing", "stop"} {
			if !slices.Contains(got, a) {
				t.Errorf("actions %v lack %s", got, a)
			}
		}
		e.mustAction(c, "updateunhealthy", nil)
		e.locked(func() {
			if hs := c.Str("healthState"); hs != "updating-unhealthy" {
				t.Fatalf("healthState = %s, want updating-unhealthy", hs)
			}
		})
		e.eventually("unhealthy", func() bool { return c.Str("healthState") == "unhealthy" })
		wantAPIError(t, e.action(c, "updatereinitializing", nil), http.StatusUnprocessableEntity,
			"ActionNotAvailable", "action")
	})
}

func TestFailedProcessStops(t *testing.T) {
	e := newProcEnv(t, 1)
	svc := e.service("web", 1, "docker:nginx:1.13")
	e.locked(func() {
		e.s.setStalledLocked(svc, true)
		if aerr := e.s.updateLocked(svc, map[string]any{"scale": float64(3)}); aerr != nil {
			t.Fatal(aerr)
		}
		e.s.failLocked(svc, svc.State, "injected failure")
		e.s.setStalledLocked(svc, false)
	})
	// The released continuation belongs to a failed process: it must not deploy anything. Give it time
	// through another object's process.
	e.service("other", 1, "docker:redis:4")
	e.locked(func() {
		if svc.State != "updating-active" || svc.Transitioning != "error" || len(e.instances(svc)) != 1 {
			t.Fatalf("failed process went on: %s/%s, %d instances", svc.State, svc.Transitioning, len(e.instances(svc)))
		}
	})
	// A failed process no longer holds the object: the next one may start.
	if aerr := e.update(svc, map[string]any{"scale": float64(2)}); aerr != nil {
		t.Fatalf("update after failure: %v", aerr)
	}
	e.waitState(svc, "active")
}
