package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/config"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/internal/simtest"
)

// These helpers run scale-subscriber in-process against cattlesim served on 127.0.0.1:0, and compare the
// cache with cattlesim's truth as the REST API lists it. They belong to the package-internal consistency
// tests (consistency_test.go); the external app_test tests have their own.

// simEnv is a running cattlesim with a seeded project 1a5 and a client on its environment key.
type simEnv struct {
	sim    *cattlesim.Sim
	url    string // cattlesim's root
	info   *cattlesim.SeedInfo
	cred   cattlesim.Credential // environment key of 1a5
	client *cattle.Client       // the test's own client: it makes changes and lists the truth
}

// fastSim are emulator options for tests: state machines, event flushes and pings in milliseconds.
func fastSim() cattlesim.Options {
	return cattlesim.Options{
		Timings:       cattlesim.Timings{Step: 5 * time.Millisecond},
		FlushInterval: 5 * time.Millisecond,
		PingInterval:  50 * time.Millisecond,
		RandSeed:      1,
	}
}

// startSim serves a seeded cattlesim until the test ends.
func startSim(t *testing.T, seed string, opts cattlesim.Options) *simEnv {
	t.Helper()
	s := simtest.StartSim(t, simtest.SimOptions{Options: opts, Seed: seed})
	env := &simEnv{sim: s.Sim, url: s.URL, info: s.Info, cred: s.Cred()}
	var err error
	env.client, err = cattle.New(context.Background(), cattle.Options{URL: s.CattleURL(),
		AccessKey: env.cred.AccessKey, SecretKey: env.cred.SecretKey, GetRetries: -1,
		// Several writers share the client: keep a connection per writer instead of redialling.
		HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}})
	if err != nil {
		t.Fatalf("test client: %v", err)
	}
	return env
}

// runningApp is an App whose Run goroutine the test owns.
type runningApp struct {
	*App
	healthURL string
	logs      *simtest.LogBuffer
}

// testConfig is a valid configuration against env with test-speed timings and no periodic resync, so every
// repair the tests see comes from the event stream and the relist on (re)connect.
func testConfig(env *simEnv) config.Config {
	cfg := config.Defaults()
	cfg.CattleURL = env.url + "/v1"
	cfg.AccessKey = env.cred.AccessKey
	cfg.SecretKey = env.cred.SecretKey
	cfg.ListenAddress = "127.0.0.1:0"
	cfg.Workers = 2
	cfg.ResyncInterval = 0
	cfg.PingInterval = 100 * time.Millisecond
	cfg.PongWait = 2 * time.Second
	cfg.MaxPingAge = 5 * time.Second
	return cfg
}

// raceEnabled reports whether the test binary was built with -race, which multiplies the CPU cost of every
// change; load tests scale their counts down with it rather than blow the package's time budget.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// fastBackoff reconnects within milliseconds, so tests can drop the websocket a hundred times.
var fastBackoff = events.BackoffOptions{Initial: 2 * time.Millisecond, Max: 20 * time.Millisecond}

// startApp builds the App on cfg, lets prepare register reconcilers, runs it until the test ends and waits
// for its first sync.
func startApp(t *testing.T, cfg config.Config, backoff events.BackoffOptions, prepare func(*App)) *runningApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("health listener: %v", err)
	}
	// Warnings and errors only, the last MiB of them kept; a failing test prints their end.
	logs := &simtest.LogBuffer{Keep: 1 << 20}
	log := logrus.New()
	log.SetOutput(logs)
	log.SetLevel(logrus.WarnLevel)
	// Registered before the App's stop, so it runs after the App stopped writing.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app warnings and errors:\n%s", logs.Tail(simtest.ShowLogs))
		}
	})
	newCtx, cancelNew := context.WithTimeout(context.Background(), simtest.DefaultTimeout)
	defer cancelNew()
	a, err := New(newCtx, Options{Config: cfg, Logger: log, HealthListener: ln, SubscriberBackoff: backoff})
	if err != nil {
		_ = ln.Close()
		t.Fatalf("app.New: %v", err)
	}
	if prepare != nil {
		prepare(a)
	}
	simtest.Go(t, "app.Run", 15*time.Second, a.Run)
	ra := &runningApp{App: a, healthURL: "http://" + ln.Addr().String(), logs: logs}
	simtest.Eventually(t, 20*time.Second, "first sync", func() (bool, string) {
		return a.Informer().Synced() && a.Subscriber() != nil && a.Subscriber().Status().Connected, "not synced"
	})
	return ra
}

// snapshot is a comparable picture of cached objects: kind → API id → canonical JSON of the typed object.
type snapshot map[string]map[string]string

// canonical renders v as JSON with sorted keys and unescaped strings, so the same object decoded from a REST
// list and from an event compares equal whatever escaping each used (REST escapes "/" as "\/").
func canonical(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("marshal: %w", err)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return "", fmt.Errorf("re-decode: %w", err)
	}
	b, err = json.Marshal(generic)
	if err != nil {
		return "", fmt.Errorf("re-marshal: %w", err)
	}
	return string(b), nil
}

func addAll[T any](snap snapshot, kind string, objs []T, id func(T) string) error {
	snap[kind] = make(map[string]string, len(objs))
	for _, o := range objs {
		c, err := canonical(o)
		if err != nil {
			return err
		}
		snap[kind][id(o)] = c
	}
	return nil
}

// truth lists what cattlesim holds now through the REST API, as the informer would.
func truth(ctx context.Context, c *cattle.Client) (snapshot, error) {
	snap := snapshot{}
	page := cattle.ListOptions{PageSize: 3000}
	svcs, err := c.ListServices(ctx, page)
	if err != nil {
		return nil, err
	}
	hosts, err := c.ListHosts(ctx, page)
	if err != nil {
		return nil, err
	}
	ins, err := c.ListInstances(ctx, page)
	if err != nil {
		return nil, err
	}
	gos, err := c.ListGenericObjects(ctx, cattle.ListOptions{PageSize: 3000,
		Filters: url.Values{"kind": {cache.ReceiverKind}}})
	if err != nil {
		return nil, err
	}
	errs := []error{
		addAll(snap, cache.KindService, svcs, func(s cattle.Service) string { return s.ID }),
		addAll(snap, cache.KindHost, hosts, func(h cattle.Host) string { return h.ID }),
		addAll(snap, cache.KindInstance, ins, func(i cattle.Instance) string { return i.ID }),
		addAll(snap, cache.KindReceiver, gos, func(g cattle.GenericObject) string { return g.ID }),
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return snap, nil
}

// cached pictures the store the same way.
func cached(s *cache.Store) (snapshot, error) {
	snap := snapshot{}
	errs := []error{
		addAll(snap, cache.KindService, s.Services(), func(s *cattle.Service) string { return s.ID }),
		addAll(snap, cache.KindHost, s.Hosts(), func(h *cattle.Host) string { return h.ID }),
		addAll(snap, cache.KindInstance, s.Instances(), func(i *cattle.Instance) string { return i.ID }),
		addAll(snap, cache.KindReceiver, s.Receivers(), func(g *cattle.GenericObject) string { return g.ID }),
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return snap, nil
}

// diff describes how got differs from want (at most a few lines), "" when equal.
func diff(want, got snapshot) string {
	var lines []string
	for _, kind := range cache.Kinds() {
		ids := map[string]bool{}
		for id := range want[kind] {
			ids[id] = true
		}
		for id := range got[kind] {
			ids[id] = true
		}
		sorted := make([]string, 0, len(ids))
		for id := range ids {
			sorted = append(sorted, id)
		}
		sort.Strings(sorted)
		for _, id := range sorted {
			w, inWant := want[kind][id]
			g, inGot := got[kind][id]
			switch {
			case !inGot:
				lines = append(lines, fmt.Sprintf("%s %s missing from the cache", kind, id))
			case !inWant:
				lines = append(lines, fmt.Sprintf("%s %s cached but gone from cattle", kind, id))
			case w != g:
				lines = append(lines, fmt.Sprintf("%s %s differs:\n  cattle: %s\n  cache:  %s", kind, id, w, g))
			}
		}
	}
	if len(lines) > 6 {
		lines = append(lines[:6], fmt.Sprintf("... and %d more", len(lines)-6))
	}
	return strings.Join(lines, "\n")
}

// counts summarises a snapshot for messages.
func (s snapshot) counts() string {
	return fmt.Sprintf("services=%d hosts=%d instances=%d receivers=%d", len(s[cache.KindService]),
		len(s[cache.KindHost]), len(s[cache.KindInstance]), len(s[cache.KindReceiver]))
}

// waitConsistent waits until the cache equals cattlesim's truth. The world keeps moving for a while after the
// last write (state machines, coalesced events), so equality is polled, not sampled once.
func waitConsistent(t *testing.T, env *simEnv, a *runningApp, timeout time.Duration) snapshot {
	t.Helper()
	var last snapshot
	simtest.Eventually(t, timeout, "cache equal to cattlesim", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		want, err := truth(ctx, env.client)
		if err != nil {
			return false, "listing the truth: " + err.Error()
		}
		got, err := cached(a.Store())
		if err != nil {
			return false, "picturing the cache: " + err.Error()
		}
		last = want
		if d := diff(want, got); d != "" {
			return false, d
		}
		return true, ""
	})
	return last
}

// world makes changes in project 1a5 through the REST API, like a user or Rancher itself would.
type world struct {
	t      *testing.T
	c      *cattle.Client
	stack  string
	mu     sync.Mutex
	serial int
}

func newWorld(t *testing.T, env *simEnv) *world {
	t.Helper()
	w := &world{t: t, c: env.client}
	var st cattle.Stack
	if err := env.client.Create(context.Background(), "stack", map[string]any{"name": "consistency"}, &st); err != nil {
		t.Fatalf("create stack: %v", err)
	}
	w.stack = st.ID
	return w
}

func (w *world) next() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.serial++
	return w.serial
}

func (w *world) createService(ctx context.Context, name, image string, scale int, labels map[string]string) (*cattle.Service, error) {
	var svc cattle.Service
	err := w.c.Create(ctx, "service", map[string]any{"name": name, "stackId": w.stack, "scale": scale,
		"launchConfig": map[string]any{"imageUuid": image, "labels": labels}}, &svc)
	if err != nil {
		return nil, fmt.Errorf("create service %s: %w", name, err)
	}
	return &svc, nil
}

func (w *world) createReceiver(ctx context.Context, name string) (*cattle.GenericObject, error) {
	obj, err := w.c.CreateGenericObject(ctx, cattle.GenericObject{
		Resource: cattle.Resource{Name: name, Kind: cache.ReceiverKind},
		Key:      fmt.Sprintf("key-%s-%d", name, w.next()),
	})
	if err != nil {
		return nil, fmt.Errorf("create receiver %s: %w", name, err)
	}
	return obj, nil
}

func (w *world) createContainer(ctx context.Context, name string) (*cattle.Instance, error) {
	var in cattle.Instance
	if err := w.c.Create(ctx, "container", map[string]any{"name": name, "imageUuid": "docker:busybox:1.36"}, &in); err != nil {
		return nil, fmt.Errorf("create container %s: %w", name, err)
	}
	return &in, nil
}

func (w *world) createHost(ctx context.Context, name string) (*cattle.Host, error) {
	h, err := w.c.CreateHost(ctx, map[string]any{"hostname": name, "labels": map[string]string{"pool": "extra"},
		"genericConfig": map[string]any{"ipAddress": "10.9.0.1"}})
	if err != nil {
		return nil, fmt.Errorf("create host %s: %w", name, err)
	}
	return h, nil
}

// update PUTs fields on any resource.
func (w *world) update(ctx context.Context, r *cattle.Resource, fields map[string]any) error {
	if err := w.c.Update(ctx, r, fields, nil); err != nil {
		return fmt.Errorf("update %s %s: %w", r.Type, r.ID, err)
	}
	return nil
}

// remove DELETEs any resource.
func (w *world) remove(ctx context.Context, r *cattle.Resource) error {
	if err := w.c.Delete(ctx, r, nil); err != nil {
		return fmt.Errorf("remove %s %s: %w", r.Type, r.ID, err)
	}
	return nil
}
