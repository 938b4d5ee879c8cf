package peers

// cattlesim (demo seed) and the real service wired to it as main wires it, on loopback ports the kernel picks,
// with small HTTP clients for both. The same harness as e2e's, cut to what these tests use.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/app"
	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/config"
)

// waitTimeout bounds every wait on a condition. The slowest is a Prometheus alert travelling through scrape,
// rule evaluation, its "for", Alertmanager's group_wait and the webhook: a few seconds, far more under -race
// on a loaded 2-core machine.
const waitTimeout = 60 * time.Second

const projectID = cattlesim.DefaultProjectID

// env is one running cattlesim and one running service.
type env struct {
	t    *testing.T
	info *cattlesim.SeedInfo
	// simURL is cattlesim's root; apiURL the service's receivers listener (also its public URL); healthURL its
	// healthcheck listener.
	simURL, apiURL, healthURL string
	client                    *http.Client
	logs                      *tailBuffer
}

// startService runs cattlesim and the service until the test ends and waits until the service is healthy.
func startService(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, logs: &tailBuffer{}}
	e.client = &http.Client{Timeout: waitTimeout}
	t.Cleanup(e.client.CloseIdleConnections)
	e.startSim()
	e.startApp()
	eventually(t, "service healthy", func() (bool, string) {
		a, err := e.send(http.MethodGet, e.healthURL+"/healthcheck", nil, nil)
		if err != nil {
			return false, err.Error()
		}
		return a.status == http.StatusOK, "/healthcheck " + a.String()
	})
	return e
}

func (e *env) startSim() {
	t := e.t
	sim := cattlesim.New(cattlesim.Options{
		Timings:       cattlesim.Timings{Step: 10 * time.Millisecond},
		FlushInterval: 10 * time.Millisecond,
		PingInterval:  100 * time.Millisecond,
		RandSeed:      1,
	})
	info, err := sim.Seed(cattlesim.SeedDemo, cattlesim.SeedOptions{})
	if err != nil {
		sim.Close()
		t.Fatalf("seed cattlesim: %v", err)
	}
	srv := httptest.NewServer(sim.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- sim.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-hubDone:
			if err != nil {
				t.Errorf("cattlesim event hub: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("cattlesim event hub did not stop within %s", waitTimeout)
		}
		srv.Close()
		sim.Close()
	})
	e.info, e.simURL = info, srv.URL
}

func (e *env) startApp() {
	t := e.t
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for the receivers api: %v", err)
	}
	healthLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = apiLn.Close()
		t.Fatalf("listen for the healthcheck: %v", err)
	}
	e.apiURL = "http://" + apiLn.Addr().String()
	e.healthURL = "http://" + healthLn.Addr().String()

	cred := e.info.Credentials[0]
	cfg := config.Defaults()
	cfg.CattleURL = e.simURL + "/v1"
	cfg.AccessKey, cfg.SecretKey = cred.AccessKey, cred.SecretKey
	cfg.ListenAddress = apiLn.Addr().String()
	cfg.HealthListenAddress = healthLn.Addr().String()
	cfg.PublicURL = e.apiURL
	cfg.Workers = 2
	cfg.PingInterval = 100 * time.Millisecond
	cfg.PongWait = time.Second
	cfg.MaxPingAge = 2 * time.Second

	log := logrus.New()
	log.SetOutput(e.logs)
	log.SetFormatter(&logrus.JSONFormatter{})
	log.SetLevel(logrus.InfoLevel)
	// Registered before the service's own cleanup, so it runs after the service stopped writing.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service logs (last %d KiB):\n%s", logShow>>10, e.logs.tail(logShow))
		}
	})

	newCtx, cancelNew := context.WithTimeout(context.Background(), waitTimeout)
	defer cancelNew()
	a, err := app.New(newCtx, app.Options{Config: cfg, Logger: log, HealthListener: healthLn, Listener: apiLn})
	if err != nil {
		_ = apiLn.Close()
		_ = healthLn.Close()
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("app.Run returned %v after cancel, want nil", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("app.Run did not return within %s of cancel", waitTimeout)
		}
	})
}

// id returns the API id of a seeded object of 1a5 ("service/web", "stack/demo").
func (e *env) id(object string) string {
	e.t.Helper()
	id, ok := e.info.Objects[projectID+"/"+object]
	if !ok {
		e.t.Fatalf("the demo seed has no %s", object)
	}
	return id
}

// answer is an HTTP answer.
type answer struct {
	status int
	body   []byte
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.status, bytes.TrimSpace(a.body)) }

// send makes one request bounded by waitTimeout and reads the whole answer.
func (e *env) send(method, url string, header http.Header, body []byte) (answer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return answer{}, fmt.Errorf("build %s request: %w", method, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("read answer to %s: %w", method, err)
	}
	return answer{status: resp.StatusCode, body: raw}, nil
}

// getJSON GETs url, fails the test unless it answers 200 and decodes the answer into out.
func (e *env) getJSON(url string, header http.Header, out any) {
	e.t.Helper()
	a, err := e.send(http.MethodGet, url, header, nil)
	if err != nil {
		e.t.Fatalf("GET %s: %v", redactURL(url), err)
	}
	if a.status != http.StatusOK {
		e.t.Fatalf("GET %s: %s", redactURL(url), a)
	}
	if err := json.Unmarshal(a.body, out); err != nil {
		e.t.Fatalf("decode GET %s: %v: %s", redactURL(url), err, a.body)
	}
}

// redactURL hides the trigger key of a URL in failure messages.
func redactURL(u string) string {
	if i := strings.Index(u, "key="); i >= 0 {
		j := strings.IndexByte(u[i:], '&')
		if j < 0 {
			return u[:i] + "key=REDACTED"
		}
		return u[:i] + "key=REDACTED" + u[i+j:]
	}
	return u
}

// --- cattlesim ---

// sim sends a request to cattlesim with 1a5's key, fails unless it answers 2xx and decodes the answer into out
// (when not nil).
func (e *env) sim(method, path string, body, out any) {
	e.t.Helper()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			e.t.Fatalf("encode body of %s %s: %v", method, path, err)
		}
	}
	cred := e.info.Credentials[0]
	r, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	r.SetBasicAuth(cred.AccessKey, cred.SecretKey)
	h := http.Header{"Content-Type": {"application/json"}, "Authorization": {r.Header.Get("Authorization")}}
	a, err := e.send(method, e.simURL+path, h, raw)
	if err != nil {
		e.t.Fatalf("cattlesim %s %s: %v", method, path, err)
	}
	if a.status < 200 || a.status > 299 {
		e.t.Fatalf("cattlesim %s %s: %s", method, path, a)
	}
	if out != nil {
		if err := json.Unmarshal(a.body, out); err != nil {
			e.t.Fatalf("decode cattlesim %s %s: %v: %s", method, path, err, a.body)
		}
	}
}

// projectPath is the v2-beta path of a 1a5 collection or resource ("services/1s5").
func projectPath(rest string) string { return "/v2-beta/projects/" + projectID + "/" + rest }

// serviceView is the part of a Cattle service the tests look at.
type serviceView struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	State         string `json:"state"`
	Transitioning string `json:"transitioning"`
	Scale         int    `json:"scale"`
	LaunchConfig  struct {
		ImageUUID string            `json:"imageUuid"`
		Labels    map[string]string `json:"labels"`
	} `json:"launchConfig"`
}

func (s serviceView) String() string {
	return fmt.Sprintf("%s (%s) %s, transitioning %q, scale %d, image %s", s.Name, s.ID, s.State, s.Transitioning,
		s.Scale, s.LaunchConfig.ImageUUID)
}

func (e *env) service(id string) serviceView {
	e.t.Helper()
	var s serviceView
	e.sim(http.MethodGet, projectPath("services/"+id), nil, &s)
	return s
}

// waitService waits until cond holds for the service and returns it.
func (e *env) waitService(id, what string, cond func(serviceView) bool) serviceView {
	e.t.Helper()
	var s serviceView
	eventually(e.t, what, func() (bool, string) {
		s = e.service(id)
		return cond(s), s.String()
	})
	return s
}

func settled(s serviceView) bool { return s.State == "active" && s.Transitioning == "no" }

// createService creates a service in the demo stack and waits until it is active.
func (e *env) createService(name, image string, scale int, labels map[string]string) serviceView {
	e.t.Helper()
	var s serviceView
	e.sim(http.MethodPost, projectPath("services"), map[string]any{"name": name, "stackId": e.id("stack/demo"),
		"scale": scale, "launchConfig": map[string]any{"imageUuid": image, "labels": labels}}, &s)
	return e.waitService(s.ID, "service "+name+" active", settled)
}

// waitCachedServices waits until the service's cache, read from its /metrics, holds as many services as
// cattlesim lists for 1a5: the one way to know over HTTP that it has seen services created a moment ago.
func (e *env) waitCachedServices() {
	e.t.Helper()
	var c struct {
		Data []serviceView `json:"data"`
	}
	e.sim(http.MethodGet, projectPath("services?limit=1000"), nil, &c)
	eventually(e.t, "cache holds every service", func() (bool, string) {
		a, err := e.send(http.MethodGet, e.healthURL+"/metrics", nil, nil)
		if err != nil {
			return false, err.Error()
		}
		n, ok := metricValue(string(a.body), `scale_subscriber_cache_objects{type="service"}`)
		return ok && int(n) == len(c.Data), fmt.Sprintf("cache holds %g services, cattlesim %d", n, len(c.Data))
	})
}

// call is one entry of cattlesim's call log.
type call struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query"`
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// callsSince returns the REST calls cattlesim logged from index since on, and the index of the next one.
func (e *env) callsSince(since int) ([]call, int) {
	e.t.Helper()
	var c struct {
		Calls []call `json:"calls"`
		Next  int    `json:"next"`
	}
	e.sim(http.MethodGet, fmt.Sprintf("/_sim/calls?since=%d", since), nil, &c)
	return c.Calls, c.Next
}

// callMark is the index the next logged call will get.
func (e *env) callMark() int {
	e.t.Helper()
	_, next := e.callsSince(1 << 40)
	return next
}

// writes returns the changes made to services among calls, as "<verb> <service id> <status>": "PUT" for an
// update, the action's name for an action.
func writes(calls []call) []string {
	var out []string
	for _, c := range calls {
		path := strings.TrimSuffix(c.Path, "/")
		if !strings.HasPrefix(path, projectPath("services/")) || (c.Method != http.MethodPut && c.Method != http.MethodPost) {
			continue
		}
		verb := c.Method
		if action, ok := strings.CutPrefix(c.Query, "action="); ok {
			verb = action
		}
		out = append(out, fmt.Sprintf("%s %s %d", verb, path[strings.LastIndexByte(path, '/')+1:], c.Status))
	}
	return out
}

// --- the service ---

// receiver is a receiver as the API renders it.
type receiver struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

// createReceiver creates a receiver through the service's API as Rancher's UI does (through its proxy, which
// sets X-API-Project-Id) and fails unless it answers 200 with a trigger URL.
func (e *env) createReceiver(body map[string]any) receiver {
	e.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		e.t.Fatalf("encode receiver: %v", err)
	}
	h := http.Header{"Content-Type": {"application/json"}, "X-Api-Project-Id": {projectID}}
	a, err := e.send(http.MethodPost, e.apiURL+"/v1-webhooks/receivers", h, raw)
	if err != nil || a.status != http.StatusOK {
		e.t.Fatalf("create receiver %s: %v %s", raw, err, a)
	}
	var r receiver
	if err := json.Unmarshal(a.body, &r); err != nil {
		e.t.Fatalf("decode created receiver: %v: %s", err, a.body)
	}
	if r.ID == "" || !strings.HasPrefix(r.URL, e.apiURL+"/v1-webhooks/endpoint?key=") {
		e.t.Fatalf("created receiver has no id or a trigger URL not on the public URL %s: %s", e.apiURL, a.body)
	}
	return r
}

// record is one execution as GET /v1-webhooks/executions serves it.
type record struct {
	ID         string     `json:"id"`
	ReceiverID string     `json:"receiverId"`
	Target     string     `json:"target"`
	Input      string     `json:"input"`
	Decision   string     `json:"decision"`
	Outcome    string     `json:"outcome"`
	Error      string     `json:"error"`
	Received   time.Time  `json:"received"`
	Finished   *time.Time `json:"finished"`
	Image      *struct {
		Old    string `json:"old"`
		New    string `json:"new"`
		Digest string `json:"digest"`
	} `json:"image"`
}

func (r record) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// final reports whether the execution has ended ("accepted" ends a push's own record; each upgrade it queued
// has a record of its own).
func (r record) final() bool {
	switch r.Outcome {
	case "done", "rolled-back", "timed-out", "failed", "ignored", "rejected", "accepted":
		return true
	}
	return false
}

// executions lists receiver r's executions, newest first (the history keeps far more than these tests make).
func (e *env) executions(r receiver) []record {
	e.t.Helper()
	var c struct {
		Data []record `json:"data"`
	}
	h := http.Header{"X-Api-Project-Id": {projectID}}
	e.getJSON(e.apiURL+"/v1-webhooks/executions?limit=1000&receiverId="+r.ID, h, &c)
	return c.Data
}

// --- waiting ---

// eventually polls cond every 20 ms until it holds or waitTimeout passes, then fails with its last explanation.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, why := cond()
		if ok {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("%s: not reached within %s: %s", what, waitTimeout, why)
		case <-tick.C:
		}
	}
}

// metricValue returns the value of the first sample line of a Prometheus text exposition that starts with
// series (a name, with its labels when it has any).
func metricValue(exposition, series string) (float64, bool) {
	for _, line := range strings.Split(exposition, "\n") {
		rest, ok := strings.CutPrefix(line, series)
		if !ok || !strings.HasPrefix(rest, " ") {
			continue
		}
		var v float64
		if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%g", &v); err == nil {
			return v, true
		}
	}
	return 0, false
}
