package cattlesim

import (
	"bytes"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRenderResource(t *testing.T) {
	e := newRestEnv(t)
	st := e.addStack(5, "demo")
	lb := e.addService(5, "loadBalancerService", "lb", st)
	base := e.srv.URL

	r := e.do(http.MethodGet, "/v2-beta/projects/1a5/services/"+lb.APIID(), &e.env5, nil).must(t, http.StatusOK)
	b := r.body
	self := base + "/v2-beta/projects/1a5/loadbalancerservices/" + lb.APIID()
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"id", b["id"], "1s1"},
		{"type", b["type"], "loadBalancerService"},
		{"baseType", b["baseType"], "service"},
		{"kind", b["kind"], "loadBalancerService"},
		{"accountId", b["accountId"], "1a5"},
		{"state", b["state"], "active"},
		{"transitioning", b["transitioning"], "no"},
		{"transitioningMessage", b["transitioningMessage"], nil},
		{"removed", b["removed"], nil},
		{"stackId", b["stackId"], st.APIID()},
		{"self link under its own type", jobj(b["links"])["self"], self},
		{"stack link", jobj(b["links"])["stack"], self + "/stack"},
		{"instances link", jobj(b["links"])["instances"], self + "/instances"},
		{"account link", jobj(b["links"])["account"], base + "/v2-beta/projects/1a5"},
		{"nested typed object", jobj(b["launchConfig"])["type"], "launchConfig"},
		{"declared but unset field is null", b["currentScale"], nil},
		{"created", b["created"], lb.Created.UTC().Format("2006-01-02T15:04:05Z")},
		{"createdTS", b["createdTS"], float64(lb.Created.UnixMilli())},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("%s = %#v, want %#v", c.name, c.got, c.want)
			}
		})
	}
	t.Run("uuid", func(t *testing.T) {
		if len(jstr(b["uuid"])) != 36 {
			t.Fatalf("uuid %v", b["uuid"])
		}
	})
	t.Run("created is ISO and consistent with createdTS", func(t *testing.T) {
		ts, err := time.Parse(time.RFC3339, jstr(b["created"]))
		if err != nil || float64(ts.UnixMilli()) != b["createdTS"] {
			t.Fatalf("created %v createdTS %v (%v)", b["created"], b["createdTS"], err)
		}
	})
	t.Run("actions are the state's actions with <self>/?action= URLs", func(t *testing.T) {
		e.sim.mu.Lock()
		want := e.sim.actionsLocked(lb)
		e.sim.mu.Unlock()
		got := jobj(b["actions"])
		if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(slices.Values(want))) {
			t.Fatalf("actions %v, want keys %v", got, want)
		}
		for name, u := range got {
			if u != self+"/?action="+name {
				t.Fatalf("action %s URL %v", name, u)
			}
		}
	})
	t.Run("slashes are escaped like Cattle's writer", func(t *testing.T) {
		if !bytes.Contains(r.raw, []byte(`"http:\/\/`)) || bytes.Contains(r.raw, []byte(`"http://`)) {
			t.Fatalf("raw body does not escape '/': %s", r.raw[:min(len(r.raw), 200)])
		}
	})
}

func TestActionURL(t *testing.T) {
	tests := []struct{ self, name, want string }{
		{"http://h:8080/v2-beta/projects/1a5/services/1s5", "upgrade", "http://h:8080/v2-beta/projects/1a5/services/1s5/?action=upgrade"},
		{"http://h/v2-beta/hosts/1h2", "Deactivate", "http://h/v2-beta/hosts/1h2/?action=deactivate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := actionURL(tc.self, tc.name); got != tc.want {
				t.Fatalf("actionURL(%q, %q) = %q, want %q", tc.self, tc.name, got, tc.want)
			}
		})
	}
}

func TestRenderLowerCasesURLs(t *testing.T) {
	e := newRestEnv(t)
	svc := e.addService(5, "loadBalancerService", "lb", nil)
	host := strings.TrimPrefix(e.srv.URL, "http://")
	r := e.do(http.MethodGet, "/v2-beta/projects/1a5/loadBalancerServices/"+svc.APIID(), &e.env5, nil,
		"Host", "LocalHost.Example:"+strings.Split(host, ":")[1]).must(t, http.StatusOK)
	self := jstr(jobj(r.body["links"])["self"])
	if self != strings.ToLower(self) || !strings.Contains(self, "localhost.example") ||
		!strings.HasSuffix(self, "/v2-beta/projects/1a5/loadbalancerservices/1s1") {
		t.Fatalf("self %q is not the lower-cased URL", self)
	}
	if got := r.header.Get("X-API-Schemas"); got != strings.ToLower(got) {
		t.Fatalf("X-API-Schemas %q not lower-cased", got)
	}
}

func TestRenderHostState(t *testing.T) {
	e := newRestEnv(t)
	tests := []struct {
		name, stored, agentState, want string
	}{
		{"active host shows its agent state", "active", "disconnected", "disconnected"},
		{"reconnecting", "active", "reconnecting", "reconnecting"},
		{"no agent state", "active", "", "active"},
		{"inactive host keeps its state", "inactive", "disconnected", "inactive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := map[string]any{"hostname": "h", "labels": map[string]any{"pool": "a"}}
			if tc.agentState != "" {
				f["agentState"] = tc.agentState
			}
			h := e.insert(&Object{Type: "host", BaseType: "host", AccountID: 5, State: tc.stored, Fields: f})
			r := e.do(http.MethodGet, "/v2-beta/hosts/"+h.APIID(), &e.env5, nil).must(t, http.StatusOK)
			if r.body["state"] != tc.want {
				t.Fatalf("state %v, want %s", r.body["state"], tc.want)
			}
			// The host is listed under the shown state but filtered by the stored one (a column filter).
			got := e.do(http.MethodGet, "/v2-beta/hosts?state="+tc.stored+"&id="+h.APIID(), &e.env5, nil).ids(t)
			if len(got) != 1 {
				t.Fatalf("state filter on stored state found %v", got)
			}
		})
	}
}

func TestRenderGenericObjectKind(t *testing.T) {
	e := newRestEnv(t)
	g := e.insert(&Object{Type: "genericObject", BaseType: "genericObject", AccountID: 5,
		Fields: map[string]any{"name": "hook", "key": "k1", "kind": "webhookReceiver",
			"resourceData": map[string]any{"driver": "scaleService"}}})
	r := e.do(http.MethodGet, "/v2-beta/genericobjects/"+g.APIID(), &e.env5, nil).must(t, http.StatusOK)
	if r.body["id"] != "1go1" || r.body["type"] != "genericObject" || r.body["kind"] != "webhookReceiver" {
		t.Fatalf("generic object: %s", r.raw)
	}
	if ids := e.do(http.MethodGet, "/v2-beta/genericobjects?kind=webhookReceiver", &e.env5, nil).ids(t); len(ids) != 1 {
		t.Fatalf("kind filter: %v", ids)
	}
}

func TestRenderEventMatchesREST(t *testing.T) {
	e := newRestEnv(t)
	svc := e.addService(5, "service", "web", nil)
	base := e.srv.URL
	raw, typ, ok := e.sim.renderEvent("service", svc.APIID(), base, "/projects/1a5")
	if !ok || typ != "service" {
		t.Fatalf("renderEvent ok=%v type=%q", ok, typ)
	}
	rest := e.do(http.MethodGet, "/v2-beta/projects/1a5/services/"+svc.APIID(), &e.env5, nil).must(t, http.StatusOK)
	var ev map[string]any
	if err := jsonUnmarshal(raw, &ev); err != nil {
		t.Fatalf("decode event rendering: %v", err)
	}
	if !restJSONEqual(ev, rest.body) {
		t.Fatalf("event rendering differs from REST:\nevent %s\nrest  %s", raw, rest.raw)
	}

	e.sim.mu.Lock()
	e.sim.markRemovedLocked(svc)
	e.sim.mu.Unlock()
	if _, _, ok := e.sim.renderEvent("service", svc.APIID(), base, ""); !ok {
		t.Fatalf("a removed snapshot is still delivered")
	}
	e.sim.mu.Lock()
	e.sim.setStateLocked(svc, "purged", false)
	e.sim.mu.Unlock()
	if _, _, ok := e.sim.renderEvent("service", svc.APIID(), base, ""); ok {
		t.Fatalf("purged objects must not produce events")
	}
	if _, _, ok := e.sim.renderEvent("service", "1s999", base, ""); ok {
		t.Fatalf("unknown objects must not produce events")
	}
}
