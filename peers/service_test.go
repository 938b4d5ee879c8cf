package peers

// cattlesim (demo seed) and the real service wired to it as main wires it, on loopback ports the kernel picks,
// from the shared harness (internal/simtest), with the requests these tests make of both.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/internal/simtest"
	"github.com/rancher/scale-subscriber/internal/simtest/apptest"
)

// waitTimeout bounds every wait on a condition. The slowest is a Prometheus alert travelling through scrape,
// rule evaluation, its "for", Alertmanager's group_wait and the webhook: a few seconds, far more under -race
// on a loaded 2-core machine.
const waitTimeout = 60 * time.Second

const projectID = cattlesim.DefaultProjectID

// env is one running cattlesim and one running service.
type env struct {
	t *testing.T
	// emulator is the running cattlesim.
	emulator *simtest.Sim
	// apiURL is the service's receivers listener (also its public URL); healthURL its healthcheck listener.
	apiURL, healthURL string
	client            *http.Client
}

// startService runs cattlesim and the service until the test ends and waits until the service is healthy.
func startService(t *testing.T) *env {
	t.Helper()
	sim := simtest.StartSim(t, simtest.SimOptions{Timeout: waitTimeout})
	svc := apptest.Start(t, sim, apptest.Options{Timeout: waitTimeout})
	svc.WaitHealthy(t)
	return &env{t: t, emulator: sim, apiURL: svc.APIURL, healthURL: svc.HealthURL,
		client: simtest.NewClient(t, waitTimeout, 16)}
}

// id returns the API id of a seeded object of 1a5 ("service/web", "stack/demo").
func (e *env) id(object string) string {
	e.t.Helper()
	return e.emulator.ID(e.t, object)
}

// send makes one request bounded by waitTimeout and reads the whole answer.
func (e *env) send(method, url string, header http.Header, body []byte) (simtest.Answer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return simtest.Send(ctx, e.client, method, url, header, body)
}

// getJSON GETs url, fails the test unless it answers 200 and decodes the answer into out.
func (e *env) getJSON(url string, header http.Header, out any) {
	e.t.Helper()
	a, err := e.send(http.MethodGet, url, header, nil)
	if err != nil {
		e.t.Fatalf("GET %s: %v", simtest.RedactURL(url), err)
	}
	if a.Status != http.StatusOK {
		e.t.Fatalf("GET %s: %s", simtest.RedactURL(url), a)
	}
	if err := json.Unmarshal(a.Body, out); err != nil {
		e.t.Fatalf("decode GET %s: %v: %s", simtest.RedactURL(url), err, a.Body)
	}
}

// --- cattlesim ---

// sim sends a request to cattlesim with 1a5's key, fails unless it answers 2xx and decodes the answer into out
// (when not nil).
func (e *env) sim(method, path string, body, out any) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := e.emulator.Do(ctx, method, path, body, out); err != nil {
		e.t.Fatalf("cattlesim: %v", err)
	}
}

// waitCachedServices waits until the service's cache, read from its /metrics, holds as many services as
// cattlesim lists for 1a5: the one way to know over HTTP that it has seen services created a moment ago.
func (e *env) waitCachedServices() {
	e.t.Helper()
	var c struct {
		Data []simtest.ServiceView `json:"data"`
	}
	e.sim(http.MethodGet, simtest.ProjectPath("services?limit=1000"), nil, &c)
	eventually(e.t, "cache holds every service", func() (bool, string) {
		a, err := e.send(http.MethodGet, e.healthURL+"/metrics", nil, nil)
		if err != nil {
			return false, err.Error()
		}
		n, ok := simtest.SampleValue(string(a.Body), `scale_subscriber_cache_objects{type="service"}`)
		return ok && int(n) == len(c.Data), fmt.Sprintf("cache holds %g services, cattlesim %d", n, len(c.Data))
	})
}

// call is one entry of cattlesim's call log.
type call = cattlesim.Call

// callsSince returns the REST calls cattlesim logged from index since on, and the index of the next one.
func (e *env) callsSince(since int) ([]call, int) { return e.emulator.Sim.CallsSince(since) }

// callMark is the index the next logged call will get.
func (e *env) callMark() int {
	_, next := e.emulator.Sim.CallsSince(1 << 62)
	return next
}

// writes returns the changes made to services among calls, as "<verb> <service id> <status>": "PUT" for an
// update, the action's name for an action.
func writes(calls []call) []string {
	var out []string
	for _, c := range calls {
		path := strings.TrimSuffix(c.Path, "/")
		write := c.Method == http.MethodPut || c.Method == http.MethodPost
		if !write || !strings.HasPrefix(path, simtest.ProjectPath("services/")) {
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
	if err != nil || a.Status != http.StatusOK {
		e.t.Fatalf("create receiver %s: %v %s", raw, err, a)
	}
	var r receiver
	if err := json.Unmarshal(a.Body, &r); err != nil {
		e.t.Fatalf("decode created receiver: %v: %s", err, a.Body)
	}
	if r.ID == "" || !strings.HasPrefix(r.URL, e.apiURL+"/v1-webhooks/endpoint?key=") {
		e.t.Fatalf("created receiver has no id or a trigger URL not on the public URL %s: %s", e.apiURL, a.Body)
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

// eventually polls cond until it holds or waitTimeout passes, then fails with its last explanation.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	simtest.Eventually(t, waitTimeout, what, cond)
}
