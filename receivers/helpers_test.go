package receivers

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/internal/simtest"
)

// env is one test world: cattlesim (demo seed) from simtest, a real cattle.Client for project 1a5, a cache kept
// live by a real informer and event subscription, and the receivers API on httptest with a recording Executor.
type env struct {
	t      *testing.T
	sim    *cattlesim.Sim
	info   *cattlesim.SeedInfo
	simURL string
	client *cattle.Client
	store  *cache.Store
	inf    *cache.Informer
	api    *API
	url    string // base URL of the receivers API
	exec   *recorder
	logs   *simtest.LogBuffer
	log    *logrus.Logger
	ctx    context.Context
	http   *http.Client // for the API under test
}

// recorder is an Executor that records triggers and answers with outcome (200, no body, by default).
type recorder struct {
	mu       sync.Mutex
	triggers []Trigger
	outcome  func(Trigger) Outcome
}

func (r *recorder) Execute(_ context.Context, t Trigger) Outcome {
	r.mu.Lock()
	r.triggers = append(r.triggers, t)
	fn := r.outcome
	r.mu.Unlock()
	if fn == nil {
		return Outcome{}
	}
	return fn(t)
}

func (r *recorder) all() []Trigger {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Trigger(nil), r.triggers...)
}

func (r *recorder) setOutcome(fn func(Trigger) Outcome) {
	r.mu.Lock()
	r.outcome = fn
	r.mu.Unlock()
}

// sinkFunc adapts a function to events.Sink.
type sinkFunc func(ctx context.Context, ev events.Event)

func (f sinkFunc) Deliver(ctx context.Context, ev events.Event) { f(ctx, ev) }

// newEnv builds the world; mod may adjust the API options before New. The informer and the subscriber are
// wired here rather than by apptest, which imports app and so the package under test.
func newEnv(t *testing.T, mod ...func(*Options)) *env {
	t.Helper()
	ctx := t.Context()
	logs := &simtest.LogBuffer{}
	log := logrus.New()
	log.SetOutput(logs)
	log.SetLevel(logrus.DebugLevel)
	log.SetFormatter(&logrus.JSONFormatter{})

	sim := simtest.StartSim(t, simtest.SimOptions{Options: cattlesim.Options{
		Timings: cattlesim.Timings{Step: 5 * time.Millisecond}, FlushInterval: 5 * time.Millisecond}})
	cred := sim.Cred()
	client, err := cattle.New(ctx, cattle.Options{URL: sim.CattleURL(), AccessKey: cred.AccessKey,
		SecretKey: cred.SecretKey})
	if err != nil {
		t.Fatalf("cattle client: %v", err)
	}
	store, err := cache.NewStore(nil)
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	inf, err := cache.NewInformer(cache.InformerOptions{Store: store, Source: client, Logger: log})
	if err != nil {
		t.Fatalf("informer: %v", err)
	}
	subURL, err := client.SubscribeURL("resource.change")
	if err != nil {
		t.Fatalf("subscribe url: %v", err)
	}
	sub, err := events.NewSubscriber(events.SubscriberOptions{
		URL:           subURL,
		Authorization: client.BasicAuthHeader(),
		Sink: sinkFunc(func(_ context.Context, ev events.Event) {
			if ev.BaseName() == "resource.change" {
				_ = inf.ApplyEvent(ev.ResourceType, ev.ResourceID, ev.Data)
			}
		}),
		OnConnect: inf.OnConnect,
		Logger:    log,
	})
	if err != nil {
		t.Fatalf("subscriber: %v", err)
	}
	simtest.Go(t, "informer", simtest.DefaultTimeout, inf.Run)
	simtest.Go(t, "subscriber", simtest.DefaultTimeout, sub.Run)
	waitFor(t, 10*time.Second, inf.Synced, "first cache sync")

	e := &env{t: t, sim: sim.Sim, info: sim.Info, simURL: sim.URL, client: client, store: store, inf: inf,
		exec: &recorder{}, logs: logs, log: log, ctx: ctx, http: simtest.NewClient(t, simtest.DefaultTimeout, 4)}
	opts := Options{Cattle: client, Store: store, Executor: e.exec, Synced: inf.Synced, Logger: log}
	for _, m := range mod {
		m(&opts)
	}
	api, err := New(opts)
	if err != nil {
		t.Fatalf("new api: %v", err)
	}
	e.api = api
	e.url = serve(t, api)
	return e
}

// waitFor polls cond every 2 ms until it holds, failing the test when timeout passes first.
func waitFor(t testing.TB, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	simtest.EventuallyEvery(t, timeout, 2*time.Millisecond, what, func() (bool, string) { return cond(), "" })
}

// response is one answer of the API.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic map.
func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decode %d body %q: %v", r.status, r.body, err)
	}
	return m
}

// request is one call to the API.
type request struct {
	method  string
	path    string // may carry a query
	body    string
	ctype   string // Content-Type; "" means application/json when there is a body
	headers map[string]string
}

func (e *env) do(req request) response {
	e.t.Helper()
	var body []byte
	if req.body != "" {
		body = []byte(req.body)
	}
	h := http.Header{}
	switch {
	case req.ctype != "":
		h.Set("Content-Type", req.ctype)
	case req.body != "":
		h.Set("Content-Type", "application/json")
	}
	for k, v := range req.headers {
		h.Set(k, v)
	}
	a, err := simtest.Send(e.ctx, e.http, req.method, e.url+req.path, h, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: a.Status, header: a.Header, body: a.Body}
}

// get, post, put and del are calls for project 1a5 through ?projectId=, as the original's clients made them.
func (e *env) get(path string) response {
	return e.do(request{method: http.MethodGet, path: withQuery(path, "projectId=1a5")})
}

func (e *env) post(path, body string) response {
	return e.do(request{method: http.MethodPost, path: withQuery(path, "projectId=1a5"), body: body})
}

func (e *env) put(path, body string) response {
	return e.do(request{method: http.MethodPut, path: withQuery(path, "projectId=1a5"), body: body})
}

func (e *env) del(path string) response {
	return e.do(request{method: http.MethodDelete, path: withQuery(path, "projectId=1a5")})
}

func withQuery(path, q string) string {
	if strings.Contains(path, "?") {
		return path + "&" + q
	}
	return path + "?" + q
}

// trigger POSTs body to a receiver's trigger URL (made relative to the test server).
func (e *env) trigger(triggerURL, body string) response {
	e.t.Helper()
	u, err := url.Parse(triggerURL)
	if err != nil {
		e.t.Fatalf("parse trigger url: %v", err)
	}
	return e.do(request{method: http.MethodPost, path: u.RequestURI(), body: body, ctype: "application/json"})
}

// create makes a receiver and returns its rendering; it fails the test unless the answer is 200.
func (e *env) create(body string) map[string]any {
	e.t.Helper()
	r := e.post("/v1-webhooks/receivers", body)
	if r.status != http.StatusOK {
		e.t.Fatalf("create: %d %s", r.status, r.body)
	}
	return r.json(e.t)
}

// scaleWebBody is the §6.2 create request for the demo service web.
func (e *env) scaleWebBody(name string) string {
	return `{"name":"` + name + `","driver":"scaleService",` +
		`"scaleServiceConfig":{"serviceId":"` + e.id("1a5/service/web") + `","action":"up","amount":1,"min":1,"max":5}}`
}

// id returns a seeded object's API id.
func (e *env) id(name string) string {
	e.t.Helper()
	id, ok := e.info.Objects[name]
	if !ok {
		e.t.Fatalf("no seeded object %s", name)
	}
	return id
}

// genericObjects lists the project's genericObjects in cattlesim (not through the API under test).
func (e *env) genericObjects() []cattle.GenericObject {
	e.t.Helper()
	objs, err := e.client.ListGenericObjects(e.ctx, cattle.ListOptions{})
	if err != nil {
		e.t.Fatalf("list generic objects: %v", err)
	}
	return objs
}

// writesSince counts the write calls cattlesim received on genericObjects since call index n.
func (e *env) writesSince(n int) int {
	calls, _ := e.sim.CallsSince(n)
	count := 0
	for _, c := range calls {
		if c.Method != http.MethodGet && strings.Contains(strings.ToLower(c.Path), "genericobjects") {
			count++
		}
	}
	return count
}

// callIndex is the current end of cattlesim's call log.
func (e *env) callIndex() int {
	_, next := e.sim.CallsSince(0)
	return next
}

// keyOf extracts the key from a trigger URL.
func keyOf(t testing.TB, triggerURL string) string {
	t.Helper()
	u, err := url.Parse(triggerURL)
	if err != nil {
		t.Fatalf("parse trigger url: %v", err)
	}
	return u.Query().Get("key")
}

// str reads a string member of decoded JSON.
func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// obj reads an object member of decoded JSON.
func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

// wantError checks an answer in the original's error format.
func wantError(t testing.TB, r response, status int, message string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	m := r.json(t)
	if str(m, "type") != "error" || str(m, "status") != "Server Error" || m["statusCode"] != float64(status) {
		t.Fatalf("not the original's error format: %s", r.body)
	}
	if obj(m, "links")["self"] == nil || obj(m, "actions") == nil {
		t.Fatalf("error without links.self or actions: %s", r.body)
	}
	if message != "" && !strings.Contains(str(m, "message"), message) {
		t.Fatalf("message %q does not contain %q", str(m, "message"), message)
	}
}

// assertNoSecretsLogged fails if any of the secrets appears in the captured logs.
func (e *env) assertNoSecretsLogged(secrets ...string) {
	e.t.Helper()
	logs := e.logs.String()
	if logs == "" {
		e.t.Fatalf("no logs captured: the check would prove nothing")
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			e.t.Fatalf("secret %q found in logs", s[:6]+"...")
		}
	}
}

// emptyStore is a cache store nothing feeds.
func emptyStore(t testing.TB) *cache.Store {
	t.Helper()
	s, err := cache.NewStore(nil)
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	return s
}

// serve serves api on a new httptest server and returns its URL.
func serve(t testing.TB, api *API) string {
	t.Helper()
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// listen opens a listener on a free loopback port.
func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return ln
}
