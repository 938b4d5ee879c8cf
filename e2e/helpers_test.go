package e2e

// The harness: cattlesim seeded with the demo world and the real service wired to it as main wires it, both on
// loopback ports the kernel picks (started by the shared internal/simtest and its apptest), and small HTTP
// clients for the two. Every goroutine started here is stopped and waited for in t.Cleanup (the service before
// the emulator).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/config"
	"github.com/rancher/scale-subscriber/internal/simtest"
	"github.com/rancher/scale-subscriber/internal/simtest/apptest"
)

// waitTimeout bounds every wait on a condition; the conditions themselves take milliseconds to a few seconds.
const waitTimeout = simtest.DefaultTimeout

// projectID is the environment the service runs for (the demo seed's 1a5); otherProject is the seed's second
// environment, which the service must never act on.
const (
	projectID    = cattlesim.DefaultProjectID
	otherProject = cattlesim.SecondProjectID
)

// env is one running cattlesim and one running service.
type env struct {
	t *testing.T
	// emulator is the running cattlesim.
	emulator *simtest.Sim
	info     *cattlesim.SeedInfo
	// simURL is cattlesim's root (http://127.0.0.1:port); apiURL the service's receivers listener, which is also
	// its public URL; healthURL its healthcheck listener.
	simURL, apiURL, healthURL string
	client                    *http.Client
	// logs keeps every line the services of the test logged; a failing test prints its end.
	logs *logBuffer
}

// logBuffer is the harness's log buffer; its zero value keeps everything.
type logBuffer = simtest.LogBuffer

// start runs cattlesim and the service until the test ends and waits until the service is healthy (subscribed,
// pinged, synced).
func start(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, logs: &logBuffer{}}
	e.client = simtest.NewClient(t, 2*time.Minute, 64)
	e.startSim()
	e.startService()
	e.waitHealthy()
	return e
}

func (e *env) startSim() { e.startSimStep(10 * time.Millisecond) }

// startSimStep starts cattlesim (demo seed) with the given transition step (10 ms when zero).
func (e *env) startSimStep(step time.Duration) {
	e.emulator = simtest.StartSim(e.t, simtest.SimOptions{
		Options: cattlesim.Options{Timings: cattlesim.Timings{Step: step}},
		Timeout: waitTimeout,
	})
	e.info, e.simURL = e.emulator.Info, e.emulator.URL
}

func (e *env) startService() { e.launchService(nil) }

// launchService starts the service on new loopback listeners (pointing e.apiURL and e.healthURL at them), with
// configure (may be nil) applied to the test configuration, and returns a stop that cancels it and waits for Run
// to return; stop also runs at cleanup, which fails the test unless Run returned nil.
func (e *env) launchService(configure func(*config.Config)) (stop func()) {
	svc := e.launch(apptest.Options{Configure: configure})
	return func() { _ = svc.Stop() }
}

// launch starts the service with o, its logs going to e.logs, and points e.apiURL and e.healthURL at it.
func (e *env) launch(o apptest.Options) *apptest.Service {
	e.t.Helper()
	o.Logs, o.Timeout = e.logs, waitTimeout
	svc := apptest.Start(e.t, e.emulator, o)
	e.apiURL, e.healthURL = svc.APIURL, svc.HealthURL
	return svc
}

// waitHealthy waits until /healthcheck answers 200.
func (e *env) waitHealthy() {
	e.t.Helper()
	eventually(e.t, "service healthy", func() (bool, string) {
		a, err := e.send(context.Background(), http.MethodGet, e.healthURL+"/healthcheck", nil, nil)
		if err != nil {
			return false, err.Error()
		}
		return a.status == http.StatusOK, fmt.Sprintf("/healthcheck %d: %s", a.status, a.body)
	})
}

// cred is the environment key of 1a5, the key the service runs with; otherCred the key of 1a7.
func (e *env) cred() cattlesim.Credential      { return e.info.Credentials[0] }
func (e *env) otherCred() cattlesim.Credential { return e.info.Credentials[1] }

// id returns the API id of a seeded object ("service/web", "host/worker-01", "stack/demo") of 1a5.
func (e *env) id(object string) string {
	e.t.Helper()
	return e.emulator.ID(e.t, object)
}

// answer is an HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.status, bytes.TrimSpace(a.body)) }

// send makes one request and reads the whole answer. It never fails the test, so load goroutines can use it.
func (e *env) send(ctx context.Context, method, url string, header http.Header, body []byte) (answer, error) {
	a, err := simtest.Send(ctx, e.client, method, url, header, body)
	return answer{status: a.Status, header: a.Header, body: a.Body}, err
}

// must is send that fails the test on a transport error.
func (e *env) must(method, url string, header http.Header, body []byte) answer {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	a, err := e.send(ctx, method, url, header, body)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, redactURL(url), err)
	}
	return a
}

// redactURL hides the trigger key of a URL in failure messages.
func redactURL(u string) string { return simtest.RedactURL(u) }

// jsonHeader is the header of a JSON request; extra pairs are added ("X-API-Project-Id", "1a5", ...).
func jsonHeader(pairs ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(pairs); i += 2 {
		h.Set(pairs[i], pairs[i+1])
	}
	return h
}

// --- cattlesim ---

// simAs sends a request to cattlesim authenticated with cred; body is JSON-encoded when not nil.
func (e *env) simAs(cred cattlesim.Credential, method, path string, body any) answer {
	e.t.Helper()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			e.t.Fatalf("encode body of %s %s: %v", method, path, err)
		}
	}
	h := jsonHeader("Authorization", basicAuth(cred))
	return e.must(method, e.simURL+path, h, raw)
}

func basicAuth(c cattlesim.Credential) string { return simtest.BasicAuth(c) }

// sim sends a request to cattlesim with the 1a5 key, fails unless it answers 2xx and decodes the answer into out
// (when not nil).
func (e *env) sim(method, path string, body, out any) {
	e.t.Helper()
	a := e.simAs(e.cred(), method, path, body)
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
func projectPath(rest string) string { return simtest.ProjectPath(rest) }

// serviceView is the part of a Cattle service the tests look at.
type serviceView = simtest.ServiceView

func (e *env) service(id string) serviceView {
	e.t.Helper()
	return e.emulator.Service(e.t, id)
}

// waitService waits until cond holds for the service and returns it.
func (e *env) waitService(id, what string, cond func(serviceView) bool) serviceView {
	e.t.Helper()
	return e.emulator.WaitService(e.t, id, what, cond)
}

func settled(s serviceView) bool { return s.Settled() }

// createService creates a service in the demo stack and waits until it is active.
func (e *env) createService(name, image string, scale int, labels map[string]string) serviceView {
	e.t.Helper()
	return e.emulator.CreateService(e.t, name, image, scale, labels)
}

// hostView is the part of a Cattle host the tests look at.
type hostView struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Hostname        string            `json:"hostname"`
	State           string            `json:"state"`
	Driver          string            `json:"driver"`
	Labels          map[string]string `json:"labels"`
	Amazonec2Config map[string]any    `json:"amazonec2Config"`
}

// hosts lists 1a5's hosts, removed ones included.
func (e *env) hosts() []hostView {
	e.t.Helper()
	var c struct {
		Data []hostView `json:"data"`
	}
	e.sim(http.MethodGet, projectPath("hosts?_removed=true&limit=1000"), nil, &c)
	return c.Data
}

func (e *env) hostNamed(hostname string) (hostView, bool) {
	e.t.Helper()
	for _, h := range e.hosts() {
		if h.Hostname == hostname {
			return h, true
		}
	}
	return hostView{}, false
}

// call is one entry of cattlesim's call log.
type call struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query"`
	Status int    `json:"status"`
	Body   string `json:"body"`
}

func (c call) String() string {
	s := c.Method + " " + c.Path
	if c.Query != "" {
		s += "?" + c.Query
	}
	return fmt.Sprintf("%s → %d", s, c.Status)
}

// is reports whether c is method on the 1a5 resource path rest ("services/1s5"), an action on it when action
// is not empty.
func (c call) is(method, rest, action string) bool {
	if c.Method != method || strings.TrimSuffix(c.Path, "/") != projectPath(rest) {
		return false
	}
	if action == "" {
		return c.Query == ""
	}
	return c.Query == "action="+action
}

// callMark is the index the next logged call will get.
func (e *env) callMark() int {
	e.t.Helper()
	_, next := e.callsSince(1 << 40)
	return next
}

// callsSince returns the REST calls cattlesim logged from index since on.
func (e *env) callsSince(since int) ([]call, int) {
	e.t.Helper()
	var c struct {
		Calls []call `json:"calls"`
		Next  int    `json:"next"`
	}
	e.sim(http.MethodGet, fmt.Sprintf("/_sim/calls?since=%d", since), nil, &c)
	return c.Calls, c.Next
}

// matching returns the calls for which keep holds.
func matching(calls []call, keep func(call) bool) []call {
	var out []call
	for _, c := range calls {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// --- the service ---

// api sends a management request to the service as Rancher's proxy does (X-API-Project-Id: 1a5); body, when
// not nil, is sent as application/json.
func (e *env) api(method, path string, body []byte) answer {
	e.t.Helper()
	return e.must(method, e.apiURL+path, jsonHeader("X-API-Project-Id", projectID), body)
}

// receiver is a receiver as the API renders it.
type receiver struct {
	ID                   string            `json:"id"`
	Type                 string            `json:"type"`
	Links                map[string]string `json:"links"`
	Actions              map[string]any    `json:"actions"`
	URL                  string            `json:"url"`
	Driver               string            `json:"driver"`
	Name                 string            `json:"name"`
	State                string            `json:"state"`
	ScaleServiceConfig   map[string]any    `json:"scaleServiceConfig"`
	ScaleHostConfig      map[string]any    `json:"scaleHostConfig"`
	ServiceUpgradeConfig map[string]any    `json:"serviceUpgradeConfig"`
	ForwardPostConfig    map[string]any    `json:"forwardPostConfig"`
}

// createReceiver creates a receiver from a JSON body the way Rancher's UI does and fails unless it answers 200.
func (e *env) createReceiver(body string) receiver {
	e.t.Helper()
	a := e.api(http.MethodPost, "/v1-webhooks/receivers", []byte(body))
	if a.status != http.StatusOK {
		e.t.Fatalf("create receiver %s: %s", body, a)
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

// fire POSTs body to a trigger URL like a sender (contentType "" sends none).
func (e *env) fire(ctx context.Context, url, contentType string, body []byte) (answer, error) {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	if body == nil {
		body = []byte{}
	}
	return e.send(ctx, http.MethodPost, url, h, body)
}

// trigger fires and fails the test on a transport error.
func (e *env) trigger(url, contentType string, body []byte) answer {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	a, err := e.fire(ctx, url, contentType, body)
	if err != nil {
		e.t.Fatalf("trigger %s: %v", redactURL(url), err)
	}
	return a
}

// reply is the JSON body a trigger is answered with.
type reply struct {
	ExecutionID string   `json:"executionId"`
	Result      string   `json:"result"`
	From        int      `json:"from"`
	To          int      `json:"to"`
	Reason      string   `json:"reason"`
	Target      string   `json:"target"`
	Message     string   `json:"message"`
	Targets     []string `json:"targets"`
}

func decodeReply(t *testing.T, a answer) reply {
	t.Helper()
	var r reply
	if err := json.Unmarshal(a.body, &r); err != nil {
		t.Fatalf("decode trigger answer %s: %v", a, err)
	}
	return r
}

// errorBody is the service's error JSON (webhook-service's shape).
type errorBody struct {
	Type       string `json:"type"`
	StatusCode int    `json:"statusCode"`
	Status     string `json:"status"`
	Message    string `json:"message"`
}

// wantError fails unless a is the error JSON with status code and a message containing msg.
func wantError(t *testing.T, what string, a answer, code int, msg string) {
	t.Helper()
	var b errorBody
	if a.status != code {
		t.Errorf("%s: status %d, want %d: %s", what, a.status, code, a.body)
		return
	}
	if err := json.Unmarshal(a.body, &b); err != nil {
		t.Errorf("%s: error body is not JSON: %v: %s", what, err, a.body)
		return
	}
	if b.Type != "error" || b.StatusCode != code || b.Status != "Server Error" || !strings.Contains(b.Message, msg) {
		t.Errorf("%s: error body %s, want type error, statusCode %d, message containing %q", what, a.body, code, msg)
	}
}

// record is one execution as GET /v1-webhooks/executions serves it.
type record struct {
	ID           string `json:"id"`
	ReceiverID   string `json:"receiverId"`
	ReceiverName string `json:"receiverName"`
	Driver       string `json:"driver"`
	Target       string `json:"target"`
	Input        string `json:"input"`
	Decision     string `json:"decision"`
	Calls        []struct {
		Method string `json:"method"`
		Target string `json:"target"`
		Status int    `json:"status"`
		Error  string `json:"error"`
	} `json:"calls"`
	Outcome  string    `json:"outcome"`
	Error    string    `json:"error"`
	Received time.Time `json:"received"`
}

// executions lists the execution history (query e.g. "receiverId=1go4&limit=5"; "" for all).
func (e *env) executions(query string) []record {
	e.t.Helper()
	path := "/v1-webhooks/executions"
	if query != "" {
		path += "?" + query
	}
	a := e.api(http.MethodGet, path, nil)
	if a.status != http.StatusOK {
		e.t.Fatalf("GET %s: %s", path, a)
	}
	var c struct {
		Type         string   `json:"type"`
		ResourceType string   `json:"resourceType"`
		Data         []record `json:"data"`
	}
	if err := json.Unmarshal(a.body, &c); err != nil {
		e.t.Fatalf("decode executions: %v: %s", err, a.body)
	}
	if c.Type != "collection" || c.ResourceType != "execution" {
		e.t.Fatalf("executions listing is not a collection of executions: %s", a.body)
	}
	return c.Data
}

// execution returns one execution record.
func (e *env) execution(id string) record {
	e.t.Helper()
	a := e.api(http.MethodGet, "/v1-webhooks/executions/"+id, nil)
	if a.status != http.StatusOK {
		e.t.Fatalf("GET execution %s: %s", id, a)
	}
	var r record
	if err := json.Unmarshal(a.body, &r); err != nil {
		e.t.Fatalf("decode execution %s: %v: %s", id, err, a.body)
	}
	return r
}

// cachedServices reads how many services the service's cache holds, from its /metrics: the one way to know,
// over HTTP, that it has seen a service created a moment ago.
func (e *env) cachedServices() int {
	e.t.Helper()
	a := e.must(http.MethodGet, e.healthURL+"/metrics", nil, nil)
	if n, ok := simtest.SampleValue(string(a.body), `scale_subscriber_cache_objects{type="service"}`); ok {
		return int(n)
	}
	return -1
}

// waitCachedServices waits until the service's cache holds every live service cattlesim lists for 1a5.
func (e *env) waitCachedServices() {
	e.t.Helper()
	var c struct {
		Data []serviceView `json:"data"`
	}
	e.sim(http.MethodGet, projectPath("services?limit=1000"), nil, &c)
	eventually(e.t, "cache holds every service", func() (bool, string) {
		n := e.cachedServices()
		return n == len(c.Data), fmt.Sprintf("cache holds %d services, cattlesim %d", n, len(c.Data))
	})
}

// --- waiting ---

// eventually polls cond until it holds or waitTimeout passes, then fails with its last explanation.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	simtest.Eventually(t, waitTimeout, what, cond)
}
