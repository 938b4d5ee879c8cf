package cattlesim

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	e := newRestEnv(t)
	create := func() restResponse {
		return e.do(http.MethodPost, "/v2-beta/genericobjects", &e.env5, map[string]any{"name": "g", "kind": "k"})
	}

	r := e.do(http.MethodPost, "/_sim/faults", &e.admin, map[string]any{"errorRate": 1}).must(t, http.StatusOK)
	if r.body["errorRate"] != float64(1) || r.body["errorStatus"] != float64(503) {
		t.Fatalf("faults %s", r.raw)
	}
	t.Run("every REST request fails before any effect", func(t *testing.T) {
		for range 5 {
			create().wantError(t, http.StatusServiceUnavailable, "Service Unavailable", "")
		}
		e.do(http.MethodGet, "/v2-beta/genericobjects", &e.env5, nil).wantError(t, 503, "Service Unavailable", "")
		if n := e.sim.State().Counts["genericObject"]; n != 0 {
			t.Fatalf("%d objects created while every request failed", n)
		}
	})
	t.Run("control surface and websocket are exempt", func(t *testing.T) {
		e.do(http.MethodGet, "/_sim/state", &e.admin, nil).must(t, http.StatusOK)
		e.dial(t, "/v2-beta/subscribe?eventNames=resource.change", e.env5)
	})
	t.Run("faulted calls are logged", func(t *testing.T) {
		n := 0
		for _, c := range e.sim.Calls() {
			if c.Status == http.StatusServiceUnavailable {
				n++
			}
		}
		if n != 6 {
			t.Fatalf("%d faulted calls logged, want 6", n)
		}
	})
	t.Run("custom status", func(t *testing.T) {
		e.do(http.MethodPost, "/_sim/faults", &e.admin, map[string]any{"errorRate": 1, "errorStatus": 500}).must(t, http.StatusOK)
		create().wantError(t, 500, "Internal Server Error", "")
	})
	t.Run("empty object clears", func(t *testing.T) {
		r := e.do(http.MethodPost, "/_sim/faults", &e.admin, map[string]any{}).must(t, http.StatusOK)
		if len(r.body) != 0 {
			t.Fatalf("faults after clear: %s", r.raw)
		}
		create().must(t, http.StatusCreated)
		if got := e.do(http.MethodGet, "/_sim/faults", &e.admin, nil).must(t, 200); len(got.body) != 0 {
			t.Fatalf("GET faults %s", got.raw)
		}
	})
	t.Run("latency", func(t *testing.T) {
		if err := e.sim.SetFaults(Faults{LatencyMs: 80}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		e.do(http.MethodGet, "/v2-beta/genericobjects", &e.env5, nil).must(t, http.StatusOK)
		if d := time.Since(start); d < 80*time.Millisecond {
			t.Fatalf("answered after %v, want >= 80ms", d)
		}
		if err := e.sim.SetFaults(Faults{}); err != nil {
			t.Fatal(err)
		}
	})
	bad := []struct {
		name  string
		body  any
		code  string
		field string
	}{
		{"rate above 1", map[string]any{"errorRate": 2}, "MaxLimitExceeded", "errorRate"},
		{"rate below 0", map[string]any{"errorRate": -0.1}, "MaxLimitExceeded", "errorRate"},
		{"status not an error", map[string]any{"errorRate": 0.5, "errorStatus": 200}, "InvalidOption", "errorStatus"},
		{"negative latency", map[string]any{"latencyMs": -1}, "MinLimitExceeded", "latencyMs"},
		{"unknown field", map[string]any{"errorRatio": 1}, "InvalidBodyContent", ""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			e.do(http.MethodPost, "/_sim/faults", &e.admin, tc.body).wantError(t, 422, tc.code, tc.field)
		})
	}
}

func TestCallLog(t *testing.T) {
	e := newRestEnv(t)
	e.do(http.MethodDelete, "/_sim/calls", &e.admin, nil).must(t, http.StatusOK)
	start := len(e.sim.Calls())
	if start != 0 {
		t.Fatalf("log not cleared: %d", start)
	}
	e.do(http.MethodGet, "/v2-beta/services?name=web", &e.env5, nil).must(t, http.StatusOK)
	e.do(http.MethodPost, "/v2-beta/projects/1a5/genericobjects", &e.env5, map[string]any{"name": "hook",
		"kind": "webhookReceiver", "key": "supersecretkey0123456789",
		"resourceData": map[string]any{"config": map[string]any{"secretKey": "awssecret"}}}).must(t, http.StatusCreated)
	e.do(http.MethodGet, "/v2-beta/genericobjects?key=supersecretkey0123456789", &e.env5, nil).must(t, http.StatusOK)
	e.do(http.MethodGet, "/v2-beta/services", nil, nil).must(t, http.StatusUnauthorized)

	r := e.do(http.MethodGet, "/_sim/calls", &e.admin, nil).must(t, http.StatusOK)
	if strings.Contains(string(r.raw), "supersecret") || strings.Contains(string(r.raw), "awssecret") ||
		strings.Contains(string(r.raw), "secret5") {
		t.Fatalf("a secret reached the call log: %s", r.raw)
	}
	calls := r.body["calls"].([]any)
	if _, next := e.sim.CallsSince(0); len(calls) != 4 || r.body["next"] != float64(next) {
		t.Fatalf("calls %s", r.raw)
	}
	want := []struct{ method, path, query, project string }{
		{"GET", "/v2-beta/services", "name=web", "1a5"},
		{"POST", "/v2-beta/projects/1a5/genericobjects", "", "1a5"},
		{"GET", "/v2-beta/genericobjects", "key=REDACTED", "1a5"},
		{"GET", "/v2-beta/services", "", ""},
	}
	statuses := []float64{200, 201, 200, 401}
	for i, w := range want {
		c := jobj(calls[i])
		if c["method"] != w.method || c["path"] != w.path || jstr(c["query"]) != w.query ||
			jstr(c["projectId"]) != w.project || c["status"] != statuses[i] {
			t.Errorf("call %d = %v, want %+v status %v", i, c, w, statuses[i])
		}
	}
	body := jstr(jobj(calls[1])["body"])
	if !strings.Contains(body, `"key":"REDACTED"`) || !strings.Contains(body, `"name":"hook"`) {
		t.Fatalf("logged body %q", body)
	}

	t.Run("since", func(t *testing.T) {
		next := int(r.body["next"].(float64))
		got := e.do(http.MethodGet, "/_sim/calls?since="+strconv.Itoa(next-2), &e.admin, nil).must(t, 200)
		if c := got.body["calls"].([]any); len(c) != 2 || jobj(c[1])["status"] != float64(401) {
			t.Fatalf("since: %s", got.raw)
		}
		e.do(http.MethodGet, "/_sim/calls?since=x", &e.admin, nil).wantError(t, 422, "InvalidFormat", "since")
	})
	t.Run("control requests are not logged", func(t *testing.T) {
		if n := len(e.sim.Calls()); n != 4 {
			t.Fatalf("%d calls logged", n)
		}
	})
	t.Run("clear", func(t *testing.T) {
		got := e.do(http.MethodDelete, "/_sim/calls", &e.admin, nil).must(t, 200)
		if len(e.sim.Calls()) != 0 || got.body["next"] != r.body["next"] {
			t.Fatalf("after clear: %s (next before %v)", got.raw, r.body["next"])
		}
	})
}

func TestCallLogBounded(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	req := httptest.NewRequest(http.MethodGet, "/v2-beta/services", nil)
	s.mu.Lock()
	for range maxCalls + 5 {
		s.recordCallLocked(req, http.MethodGet, 200, "1a5", nil)
	}
	s.mu.Unlock()
	calls, next := s.CallsSince(0)
	if len(calls) > maxCalls || next != maxCalls+5 {
		t.Fatalf("%d calls kept, next %d", len(calls), next)
	}
	tail, _ := s.CallsSince(maxCalls + 3)
	if len(tail) != 2 {
		t.Fatalf("since keeps absolute indexes: got %d", len(tail))
	}
}

func TestRedaction(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"key":"abc","name":"n"}`, `{"key":"REDACTED","name":"n"}`},
		{`{"amazonec2Config":{"accessKey":"A","secretKey":"S","region":"r"}}`, `{"amazonec2Config":{"accessKey":"REDACTED","region":"r","secretKey":"REDACTED"}}`},
		{`[{"token":"t"}]`, `[{"token":"REDACTED"}]`},
		{`key=abc`, `REDACTED`},
		{`plain text`, `plain text`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := redactBody([]byte(tc.in)); got != tc.want {
				t.Fatalf("redactBody(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
	if got := redactQuery("key=abc&projectId=1a5&token=x"); got != "key=REDACTED&projectId=1a5&token=REDACTED" {
		t.Fatalf("redactQuery %s", got)
	}
	if got := redactBody([]byte(`{"a":"` + strings.Repeat("é", 4000) + `"}`)); len(got) > maxLoggedBody {
		t.Fatalf("body not truncated: %d bytes", len(got))
	}
}

func TestControlSurface(t *testing.T) {
	e := newRestEnv(t)
	svc := e.addService(5, "service", "web", nil)

	t.Run("needs auth", func(t *testing.T) {
		e.do(http.MethodGet, "/_sim/state", nil, nil).wantError(t, http.StatusUnauthorized, "Unauthorized", "")
	})
	t.Run("unknown route", func(t *testing.T) {
		e.do(http.MethodGet, "/_sim/nothing", &e.admin, nil).wantError(t, http.StatusNotFound, "Not Found", "")
	})
	t.Run("state", func(t *testing.T) {
		r := e.do(http.MethodGet, "/_sim/state", &e.env5, nil).must(t, 200)
		if jobj(r.body["counts"])["service"] != float64(1) || jobj(r.body["counts"])["project"] != float64(2) ||
			jobj(jobj(r.body["states"])["service"])["active"] != float64(1) {
			t.Fatalf("state %s", r.raw)
		}
	})
	t.Run("stall", func(t *testing.T) {
		e.do(http.MethodPost, "/_sim/stall", &e.admin, map[string]any{"type": "loadBalancerService", "id": svc.APIID(),
			"stalled": true}).must(t, 200)
		e.sim.mu.Lock()
		stalled := e.sim.stalled[stallKey("service", svc.ID)]
		e.sim.mu.Unlock()
		if !stalled {
			t.Fatalf("not stalled")
		}
		e.do(http.MethodPost, "/_sim/stall", &e.admin, map[string]any{"type": "service", "id": svc.APIID(),
			"stalled": false}).must(t, 200)
		e.sim.mu.Lock()
		stalled = e.sim.stalled[stallKey("service", svc.ID)]
		e.sim.mu.Unlock()
		if stalled {
			t.Fatalf("still stalled")
		}
	})
	bad := []struct {
		name, path  string
		body        any
		status      int
		code, field string
	}{
		{"stall unknown id", "/_sim/stall", map[string]any{"type": "service", "id": "1s99", "stalled": true}, 404, "Not Found", ""},
		{"stall unknown type", "/_sim/stall", map[string]any{"type": "widget", "id": "1s1", "stalled": true}, 422, "InvalidOption", "type"},
		{"stall without flag", "/_sim/stall", map[string]any{"type": "service", "id": "1s1"}, 422, "MissingRequired", "stalled"},
		{"health of unknown container", "/_sim/containers/1i99/health", map[string]any{"healthState": "unhealthy"}, 404, "Not Found", ""},
		{"health without state", "/_sim/containers/1i99/health", map[string]any{}, 422, "MissingRequired", "healthState"},
		{"agent state of unknown host", "/_sim/hosts/1h99/agentstate", map[string]any{"agentState": "disconnected"}, 404, "Not Found", ""},
		{"agent state not a string", "/_sim/hosts/1h99/agentstate", map[string]any{"agentState": 3}, 422, "InvalidFormat", "agentState"},
		{"rule without image", "/_sim/health-rules", map[string]any{"healthState": "unhealthy"}, 422, "MissingRequired", "image"},
		{"rule without state", "/_sim/health-rules", map[string]any{"image": "docker:x"}, 422, "MissingRequired", "healthState"},
		{"rule with bad state", "/_sim/health-rules", map[string]any{"image": "docker:x", "healthState": "sad"}, 422, "InvalidOption", "healthState"},
		{"logout bad project", "/_sim/projects/xyz/logout", nil, 422, "InvalidFormat", "projectId"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			e.do(http.MethodPost, tc.path, &e.admin, tc.body).wantError(t, tc.status, tc.code, tc.field)
		})
	}
	t.Run("container health", func(t *testing.T) {
		c := e.insert(&Object{Type: "container", BaseType: "instance", AccountID: 5, State: "running",
			Fields: map[string]any{"name": "c1", "healthState": "healthy"}})
		r := e.do(http.MethodPost, "/_sim/containers/"+c.APIID()+"/health", &e.admin,
			map[string]any{"healthState": "unhealthy"}).must(t, 200)
		if r.body["healthState"] != "unhealthy" || r.body["id"] != c.APIID() {
			t.Fatalf("container %s", r.raw)
		}
		e.do(http.MethodPost, "/_sim/containers/"+c.APIID()+"/health", &e.admin,
			map[string]any{"healthState": "sad"}).wantError(t, 422, "InvalidOption", "healthState")
	})
	t.Run("host agent state", func(t *testing.T) {
		h := e.insert(&Object{Type: "host", BaseType: "host", AccountID: 5, State: "active",
			Fields: map[string]any{"hostname": "h1"}})
		r := e.do(http.MethodPost, "/_sim/hosts/"+h.APIID()+"/agentstate", &e.admin,
			map[string]any{"agentState": "disconnected"}).must(t, 200)
		if r.body["state"] != "disconnected" || r.body["agentState"] != "disconnected" {
			t.Fatalf("host %s", r.raw)
		}
		r = e.do(http.MethodPost, "/_sim/hosts/"+h.APIID()+"/agentstate", &e.admin,
			map[string]any{"agentState": nil}).must(t, 200)
		if r.body["state"] != "active" {
			t.Fatalf("cleared agent state: %s", r.raw)
		}
	})
	t.Run("health rules", func(t *testing.T) {
		e.do(http.MethodPost, "/_sim/health-rules", &e.admin, map[string]any{"image": "docker:nginx:broken",
			"healthState": "unhealthy"}).must(t, 200)
		r := e.do(http.MethodPost, "/_sim/health-rules", &e.admin, map[string]any{"image": "docker:nocheck",
			"healthState": nil}).must(t, 200)
		if r.body["docker:nginx:broken"] != "unhealthy" || r.body["docker:nocheck"] != nil {
			t.Fatalf("rules %s", r.raw)
		}
		if _, ok := r.body["docker:nocheck"]; !ok {
			t.Fatalf("null rule missing: %s", r.raw)
		}
		e.sim.mu.Lock()
		rule, ok := e.sim.healthRules["docker:nocheck"]
		e.sim.mu.Unlock()
		if !ok || rule != "" {
			t.Fatalf("null rule stored as %q (%v)", rule, ok)
		}
		e.do(http.MethodDelete, "/_sim/health-rules", &e.admin, nil).must(t, 200)
		if got := e.do(http.MethodGet, "/_sim/health-rules", &e.admin, nil).must(t, 200); len(got.body) != 0 {
			t.Fatalf("rules after clear: %s", got.raw)
		}
	})
}

func TestPanicRecovery(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	h := s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v2-beta/services", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"code":"Internal Server Error"`) ||
		rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("panic answer %d %s", rec.Code, rec.Body)
	}
}

func TestPanicUnderLockReleasesIt(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.AddCredential(Credential{AccessKey: "a", SecretKey: "b", AccountID: 1, Kind: KindAdmin})
	h := s.recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &apiRequest{r: r, method: r.Method, path: parseAPIPath(r.URL.Path), query: r.URL.Query()}
		s.serveLocked(w, req, func(*apiRequest) response { panic("state machine bug") })
	}))
	req := httptest.NewRequest(http.MethodGet, "/v2-beta/services", nil)
	req.SetBasicAuth("a", "b")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	if !s.mu.TryLock() {
		t.Fatalf("the store lock is still held after a panic")
	}
	s.mu.Unlock()
}

func TestServiceProxy(t *testing.T) {
	e := newRestEnv(t)
	st := e.addStack(5, "demo")
	e.addService(5, "service", "web", st)
	tests := []struct {
		name, path string
		status     int
		wantPath   string
	}{
		{"service and port", "/r/projects/1a5/web:8080/hooks/deploy?key=abc&projectId=1a5", 200, "/hooks/deploy"},
		{"stack designation", "/r/projects/1a5/demo/web:80/x", 200, "/x"},
		{"wrong stack", "/r/projects/1a5/other/web:80/x", 404, ""},
		{"unknown service", "/r/projects/1a5/api:80/x", 404, ""},
		{"foreign project", "/r/projects/1a7/web:80/x", 403, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodPost, tc.path, &e.env5, `{"push_data":{"tag":"v2"}}`, "X-Custom", "yes").must(t, tc.status)
			if tc.status != 200 {
				return
			}
			if r.body["path"] != tc.wantPath || r.body["body"] != `{"push_data":{"tag":"v2"}}` ||
				jobj(r.body["headers"])["X-Custom"] != "yes" || jobj(r.body["headers"])["Authorization"] != nil {
				t.Fatalf("echo %s", r.raw)
			}
			calls := e.sim.Calls()
			c := calls[len(calls)-1]
			if c.Headers["X-Custom"] != "yes" || c.Headers["Authorization"] != "" || strings.Contains(c.Query, "abc") {
				t.Fatalf("logged proxy call %+v", c)
			}
		})
	}
}
