package conformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rancher/scale-subscriber/cattle"
)

// The /_sim/ control surface (issue 2, cattlesim/README.md), driven over HTTP with Basic auth: faults,
// websocket drops, health rules, container health, host agent states, stalls and the call log.

func TestControlFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	opts := e.clientOptions(e.env5, "/v1")
	opts.GetRetries = -1 // see every faulted answer
	c, err := cattle.New(t.Context(), opts)
	if err != nil {
		t.Fatalf("cattle.New: %v", err)
	}
	webID := e.id("1a5/service/web")
	web := getService(t, c, webID)

	set := e.control(http.MethodPost, "faults", map[string]any{"errorRate": 1, "errorStatus": 503})
	if rate, _ := num(set.body, "errorRate"); rate != 1 {
		t.Errorf("POST /_sim/faults answered %s, want the faults set", snippet(set.raw))
	}
	r := e.do(http.MethodGet, project5+"/services/"+webID, &e.env5, nil)
	if r.status != http.StatusServiceUnavailable || str(r.body, "type") != "error" {
		t.Errorf("faulted GET: %d %s, want 503 with an error body", r.status, snippet(r.raw))
	}
	_, err = c.GetService(t.Context(), webID)
	if ae := asAPIError(t, err, "faulted client GET"); ae.Status != http.StatusServiceUnavailable || !cattle.IsRetryable(err) {
		t.Errorf("faulted client GET: %v (retryable %v), want a retryable 503", err, cattle.IsRetryable(err))
	}
	// A faulted write is refused before anything happens.
	if _, err := c.UpdateService(t.Context(), web, map[string]any{"scale": 5}); err == nil {
		t.Errorf("faulted PUT succeeded")
	}
	// The control surface and the websocket are never faulted.
	e.control(http.MethodGet, "faults", nil)
	sub := subscribeClient(t, c, "resource.change")
	sub.next(5*time.Second, "a ping during faults", func(ev wsEvent) bool { return ev.Name == "ping" })

	e.control(http.MethodPost, "faults", map[string]any{"errorRate": 1, "errorStatus": 429})
	if r := e.do(http.MethodGet, project5+"/services", &e.env5, nil); r.status != http.StatusTooManyRequests {
		t.Errorf("errorStatus 429: GET answered %d", r.status)
	}
	if r := e.do(http.MethodPost, "/_sim/faults", &e.env5, map[string]any{"errorRate": 2}); r.status !=
		http.StatusUnprocessableEntity {
		t.Errorf("errorRate 2: %d %s, want 422", r.status, snippet(r.raw))
	}

	cleared := e.control(http.MethodPost, "faults", map[string]any{})
	if rate, _ := num(cleared.body, "errorRate"); rate != 0 {
		t.Errorf("POST {} answered %s, want no faults", snippet(cleared.raw))
	}
	if got := getService(t, c, webID); got.Scale != 2 {
		t.Errorf("web scale %d after the faulted PUT, want 2 (a faulted write is never half-applied)", got.Scale)
	}
}

func TestControlWebsocketsDrop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	subs := []*subscription{subscribeClient(t, c, "resource.change"), subscribeCred(t,
		"ws"+strings.TrimPrefix(e.url, "http")+"/v2-beta/subscribe?eventNames=resource.change", e.env7)}
	for _, s := range subs {
		s.next(5*time.Second, "the first ping", func(ev wsEvent) bool { return ev.Name == "ping" })
	}
	if n, _ := num(e.control(http.MethodGet, "state", nil).body, "subscribers"); n != 2 {
		t.Errorf("/_sim/state subscribers %v, want 2", n)
	}
	r := e.control(http.MethodPost, "websockets/drop", nil)
	if n, _ := num(r.body, "dropped"); n != 2 {
		t.Errorf("drop answered %s, want {\"dropped\":2}", snippet(r.raw))
	}
	for i, s := range subs {
		select {
		case <-s.done:
		case <-time.After(settleTimeout):
			t.Fatalf("subscription %d still open %s after the drop", i, settleTimeout)
		}
		// Abrupt, like a network drop: no close frame with a normal code.
		if err := s.readErr(); websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
			t.Errorf("subscription %d ended with a graceful close (%v), want an abrupt drop", i, err)
		}
	}
	waitFor(t, settleTimeout, "no subscribers left", func() (bool, string) {
		n, _ := num(e.control(http.MethodGet, "state", nil).body, "subscribers")
		return n == 0, fmt.Sprint(n)
	})
}

// createService creates a one-container service of image in the demo stack and waits until it is active.
func createService(t *testing.T, e *env, c *cattle.Client, name, image string) *cattle.Service {
	t.Helper()
	var svc cattle.Service
	if err := c.Create(t.Context(), "service", map[string]any{"name": name, "stackId": e.id("1a5/stack/demo"),
		"scale": 1, "startOnCreate": true, "launchConfig": map[string]any{"imageUuid": image}}, &svc); err != nil {
		t.Fatalf("create service %s: %v", name, err)
	}
	return waitServiceSettled(t, c, svc.ID, "active")
}

func TestControlHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)

	// Health rules decide what new containers of an image become once their check ran.
	e.control(http.MethodPost, "health-rules", map[string]any{"image": "docker:nginx:broken", "healthState": "unhealthy"})
	e.control(http.MethodPost, "health-rules", map[string]any{"image": "docker:nginx:nocheck", "healthState": nil})
	rules := e.control(http.MethodGet, "health-rules", nil)
	var got map[string]*string
	if err := json.Unmarshal(rules.raw, &got); err != nil || got["docker:nginx:broken"] == nil ||
		*got["docker:nginx:broken"] != "unhealthy" || got["docker:nginx:nocheck"] != nil {
		t.Errorf("health rules %s, want broken=unhealthy and nocheck=null", snippet(rules.raw))
	}
	for _, tc := range []struct{ name, image, container, service string }{
		{"broken", "docker:nginx:broken", "unhealthy", "unhealthy"},
		{"nocheck", "docker:nginx:nocheck", "", "healthy"}, // null healthState counts as healthy (§3.2)
		{"plain", "docker:nginx:plain", "healthy", "healthy"},
	} {
		svc := createService(t, e, c, tc.name, tc.image)
		waitFor(t, settleTimeout, tc.name+" container health "+tc.container, func() (bool, string) {
			insts := serviceContainers(t, c, svc.ID)
			if len(insts) != 1 {
				return false, fmt.Sprintf("%d containers", len(insts))
			}
			return insts[0].State == "running" && insts[0].HealthState == tc.container,
				insts[0].State + "/" + insts[0].HealthState
		})
		waitFor(t, settleTimeout, tc.name+" service health "+tc.service, func() (bool, string) {
			s := getService(t, c, svc.ID)
			return s.HealthState == tc.service, s.HealthState
		})
	}
	if r := e.control(http.MethodDelete, "health-rules", nil); string(r.raw) != "{}" {
		t.Errorf("DELETE health-rules answered %s, want {}", r.raw)
	}

	// A container's health set directly: web with one unhealthy unit of two is degraded, then healthy again.
	webID := e.id("1a5/service/web")
	insts := serviceContainers(t, c, webID)
	if len(insts) != 2 {
		t.Fatalf("web has %d containers, want 2", len(insts))
	}
	r := e.control(http.MethodPost, "containers/"+insts[0].ID+"/health", map[string]any{"healthState": "unhealthy"})
	if str(r.body, "healthState") != "unhealthy" || str(r.body, "id") != insts[0].ID {
		t.Errorf("container health answered %s, want the container with healthState unhealthy", snippet(r.raw))
	}
	for _, want := range []string{"degraded", "healthy"} {
		if want == "healthy" {
			e.control(http.MethodPost, "containers/"+insts[0].ID+"/health", map[string]any{"healthState": "healthy"})
		}
		waitFor(t, settleTimeout, "web "+want, func() (bool, string) {
			s := getService(t, c, webID)
			return s.HealthState == want, s.HealthState
		})
	}
	if r := e.do(http.MethodPost, "/_sim/containers/1i999999/health", &e.env5, map[string]any{"healthState": "healthy"}); r.status != http.StatusNotFound {
		t.Errorf("health of an unknown container: %d, want 404", r.status)
	}
}

func TestControlHostAgentState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	id := e.id("1a5/host/worker-01")
	for _, state := range []string{"disconnected", "reconnecting"} {
		r := e.control(http.MethodPost, "hosts/"+id+"/agentstate", map[string]any{"agentState": state})
		if str(r.body, "state") != state || str(r.body, "agentState") != state {
			t.Errorf("agentstate %s answered state %q agentState %q, want both %s", state, str(r.body, "state"),
				str(r.body, "agentState"), state)
		}
		h, err := c.GetHost(t.Context(), id)
		if err != nil {
			t.Fatalf("get host: %v", err)
		}
		// v2-beta shows agentState as state; actions still follow the stored state, active (§4.2).
		if h.State != state || h.AgentState != state {
			t.Errorf("host with agentState %s shows state %q agentState %q", state, h.State, h.AgentState)
		}
		checkActions(t, h.Resource, []string{"deactivate", "evacuate"}, []string{"activate", "remove"})
	}
	e.control(http.MethodPost, "hosts/"+id+"/agentstate", map[string]any{"agentState": nil})
	if h, err := c.GetHost(t.Context(), id); err != nil || h.State != "active" {
		t.Errorf("after clearing agentState the host is %v (%v), want active", h, err)
	}
}

func TestControlStall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	webID, workerID := e.id("1a5/service/web"), e.id("1a5/service/worker")
	r := e.control(http.MethodPost, "stall", map[string]any{"type": "service", "id": webID, "stalled": true})
	if r.body["stalled"] != true {
		t.Errorf("stall answered %s, want {\"stalled\":true}", snippet(r.raw))
	}
	// Both start the same update process; the unstalled worker is the clock that shows web is held.
	for _, id := range []string{webID, workerID} {
		if _, err := c.UpdateService(t.Context(), getService(t, c, id), map[string]any{"scale": 3}); err != nil {
			t.Fatalf("PUT scale on %s: %v", id, err)
		}
	}
	waitServiceSettled(t, c, workerID, "active")
	if got := getService(t, c, webID); got.State != "updating-active" || got.Transitioning != cattle.TransitioningYes {
		t.Errorf("stalled web is %s/%s after the worker finished the same process, want updating-active/yes",
			got.State, got.Transitioning)
	}
	e.control(http.MethodPost, "stall", map[string]any{"type": "service", "id": webID, "stalled": false})
	waitServiceSettled(t, c, webID, "active")
	if r := e.do(http.MethodPost, "/_sim/stall", &e.env5, map[string]any{"type": "service", "id": webID}); r.status !=
		http.StatusUnprocessableEntity {
		t.Errorf("stall without stalled: %d, want 422", r.status)
	}
}

func TestControlCallsLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	cleared := e.control(http.MethodDelete, "calls", nil)
	if len(arr(cleared.body, "calls")) != 0 {
		t.Errorf("DELETE calls answered %s, want an empty log", snippet(cleared.raw))
	}
	_, since := e.calls(0)
	webID := e.id("1a5/service/web")
	if _, err := c.ListServices(t.Context(), cattle.ListOptions{Filters: map[string][]string{"name": {"web"}}}); err != nil {
		t.Fatalf("list: %v", err)
	}
	if _, err := c.UpdateService(t.Context(), getService(t, c, webID), map[string]any{"scale": 2}); err != nil {
		t.Fatalf("update: %v", err)
	}
	e.do(http.MethodGet, project5+"/services", nil, nil) // refused calls are logged too
	calls, next := e.calls(since)
	if next != since+len(calls) {
		t.Errorf("next %d, want since %d + %d calls", next, since, len(calls))
	}
	want := []call{
		{Method: http.MethodGet, Path: project5 + "/services", Query: "name=web", Status: 200, ProjectID: "1a5"},
		{Method: http.MethodGet, Path: project5 + "/services/" + webID, Status: 200, ProjectID: "1a5"},
		{Method: http.MethodPut, Path: project5 + "/services/" + webID, Status: 200, ProjectID: "1a5", Body: `{"scale":2}`},
		{Method: http.MethodGet, Path: project5 + "/services", Status: 401},
	}
	if len(calls) != len(want) {
		t.Fatalf("calls since %d: %+v, want %d (oldest first, no /_sim/ calls)", since, calls, len(want))
	}
	for i, w := range want {
		if calls[i] != w {
			t.Errorf("call %d = %+v, want %+v", i, calls[i], w)
		}
	}
	raw := e.control(http.MethodGet, "calls", nil).raw
	for _, secret := range []string{e.env5.SecretKey, e.env5.AccessKey} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the call log contains a credential (%q)", secret)
		}
	}
	if again, _ := e.calls(next); len(again) != 0 {
		t.Errorf("calls since next: %+v, want none", again)
	}
}
