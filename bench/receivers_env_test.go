package bench

// The receivers benchmarks' world (issue 4): cattlesim with a populated project 1a5 and the real service (app.New,
// as main wires it) on loopback listeners the kernel picks, with HTTP clients for both. Every goroutine started
// here is stopped and waited for in tb's cleanups, the service before the emulator.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/app"
	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/config"
)

const (
	// rcvStep is cattlesim's state-machine step (Cattle's own processes take seconds): a scale change takes
	// about three steps (update, container start, health check), an upgrade of one container a few more.
	rcvStep = 10 * time.Millisecond
	// rcvFlush is cattlesim's resource.change tick (Cattle's is 1 s); the service waits for these events to
	// learn that a busy service became free, so the tick is part of what a trigger waits for.
	rcvFlush = 10 * time.Millisecond
	// rcvTimeout bounds every wait on a condition and every request of the benchmarks.
	rcvTimeout = 2 * time.Minute
	// rcvPoll is how often the benchmarks re-check a condition (the direct baseline's wait included).
	rcvPoll = time.Millisecond
)

// rcvEnv is one cattlesim and one running scale-subscriber acting on its project 1a5.
type rcvEnv struct {
	sim    *cattlesim.Sim
	simURL string
	key    cattlesim.Credential // environment key of 1a5
	pop    *cattlesim.PopulateInfo
	app    *app.App
	// apiURL is the service's receivers listener, also its public URL.
	apiURL string
	client *http.Client
}

// rcvStart starts cattlesim with world populated in 1a5 and the service, and returns once the service is healthy
// and its cache holds every populated service. Everything stops when tb's cleanups run.
func rcvStart(tb testing.TB, world cattlesim.PopulateOptions) *rcvEnv {
	tb.Helper()
	e := &rcvEnv{client: &http.Client{
		Timeout: rcvTimeout,
		// Enough idle connections for every concurrent sender, so no request pays a new connection.
		Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 256},
	}}
	tb.Cleanup(e.client.CloseIdleConnections)
	if err := e.startSim(tb, world); err != nil {
		tb.Fatal(err)
	}
	if err := e.startService(tb); err != nil {
		tb.Fatal(err)
	}
	if err := e.waitCached(len(e.pop.Services)); err != nil {
		tb.Fatal(err)
	}
	return e
}

func (e *rcvEnv) startSim(tb testing.TB, world cattlesim.PopulateOptions) error {
	sim := cattlesim.New(cattlesim.Options{
		Timings:       cattlesim.Timings{Step: rcvStep},
		FlushInterval: rcvFlush,
		PingInterval:  time.Second,
		RandSeed:      1,
	})
	seed, err := sim.Seed(cattlesim.SeedEmpty, cattlesim.SeedOptions{})
	if err != nil {
		sim.Close()
		return fmt.Errorf("seed cattlesim: %w", err)
	}
	pop, err := sim.Populate(cattlesim.DefaultProjectID, world)
	if err != nil {
		sim.Close()
		return fmt.Errorf("populate cattlesim: %w", err)
	}
	srv := httptest.NewServer(sim.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("cattlesim event hub: %v", err)
			}
		case <-time.After(rcvTimeout):
			tb.Errorf("cattlesim event hub did not stop within %s", rcvTimeout)
		}
		srv.Close()
		sim.Close()
	})
	e.sim, e.simURL, e.key, e.pop = sim, srv.URL, seed.Credentials[0], pop
	return nil
}

// startService runs the service as main wires it, with the production defaults except the listeners and no
// periodic relist (none may land in the middle of a measurement).
func (e *rcvEnv) startService(tb testing.TB) error {
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the receivers api: %w", err)
	}
	healthLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = apiLn.Close()
		return fmt.Errorf("listen for the healthcheck: %w", err)
	}
	e.apiURL = "http://" + apiLn.Addr().String()
	cfg := config.Defaults()
	cfg.CattleURL = e.simURL + "/v1"
	cfg.AccessKey, cfg.SecretKey = e.key.AccessKey, e.key.SecretKey
	cfg.ListenAddress = apiLn.Addr().String()
	cfg.HealthListenAddress = healthLn.Addr().String()
	cfg.PublicURL = e.apiURL
	cfg.ResyncInterval = 0
	cfg.TriggerRatePerMinute = 0 // the benchmarks measure the executor, not the rate limit

	newCtx, cancelNew := context.WithTimeout(context.Background(), rcvTimeout)
	defer cancelNew()
	a, err := app.New(newCtx, app.Options{Config: cfg, HealthListener: healthLn, Listener: apiLn})
	if err != nil {
		_ = apiLn.Close()
		_ = healthLn.Close()
		return fmt.Errorf("new app: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("app.Run returned %v after cancel, want nil", err)
			}
		case <-time.After(rcvTimeout):
			tb.Errorf("app.Run did not return within %s of cancel", rcvTimeout)
		}
	})
	e.app = a
	healthURL := "http://" + healthLn.Addr().String() + "/healthcheck"
	healthy := func() bool {
		a, err := e.do(context.Background(), http.MethodGet, healthURL, nil, nil)
		return err == nil && a.status == http.StatusOK
	}
	if err := rcvWaitUntil(healthy); err != nil {
		return fmt.Errorf("the service never became healthy: %w", err)
	}
	return nil
}

// waitCached waits until the service's cache holds n services.
func (e *rcvEnv) waitCached(n int) error {
	if err := rcvWaitUntil(func() bool { return e.app.Store().Len(cache.KindService) == n }); err != nil {
		return fmt.Errorf("cache holds %d services, want %d: %w", e.app.Store().Len(cache.KindService), n, err)
	}
	return nil
}

// rcvWaitUntil polls cond every rcvPoll until it holds or rcvTimeout passes.
func rcvWaitUntil(cond func() bool) error {
	if cond() {
		return nil
	}
	deadline := time.NewTimer(rcvTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(rcvPoll)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			if cond() {
				return nil
			}
			return fmt.Errorf("not reached within %s", rcvTimeout)
		case <-tick.C:
			if cond() {
				return nil
			}
		}
	}
}

// rcvAnswer is an HTTP answer read to the end.
type rcvAnswer struct {
	status int
	body   []byte
}

func (a rcvAnswer) String() string { return fmt.Sprintf("%d %s", a.status, bytes.TrimSpace(a.body)) }

// do makes one request and reads the whole answer (so the connection is reused).
func (e *rcvEnv) do(ctx context.Context, method, url string, header http.Header, body []byte) (rcvAnswer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return rcvAnswer{}, fmt.Errorf("build %s request: %w", method, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return rcvAnswer{}, fmt.Errorf("%s %s: %w", method, rcvRedact(url), err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return rcvAnswer{}, fmt.Errorf("read answer to %s %s: %w", method, rcvRedact(url), err)
	}
	return rcvAnswer{status: resp.StatusCode, body: raw}, nil
}

// rcvRedact hides a trigger key in error messages.
func rcvRedact(u string) string {
	if i := strings.Index(u, "key="); i >= 0 {
		return u[:i] + "key=REDACTED"
	}
	return u
}

// rcvSimPath is the v2-beta path of a 1a5 collection or resource ("services/1s5").
func rcvSimPath(rest string) string {
	return "/v2-beta/projects/" + cattlesim.DefaultProjectID + "/" + rest
}

// simDo sends a JSON request to cattlesim with 1a5's key and decodes a 2xx answer into out (when not nil). Any
// other status is returned as an *rcvStatusError.
func (e *rcvEnv) simDo(ctx context.Context, method, path string, body, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return fmt.Errorf("encode body of %s %s: %w", method, path, err)
		}
	}
	req, err := http.NewRequest(http.MethodGet, "http://x", nil)
	if err != nil {
		return fmt.Errorf("build auth header: %w", err)
	}
	req.SetBasicAuth(e.key.AccessKey, e.key.SecretKey)
	h := http.Header{"Content-Type": {"application/json"}, "Authorization": {req.Header.Get("Authorization")}}
	a, err := e.do(ctx, method, e.simURL+path, h, raw)
	if err != nil {
		return err
	}
	if a.status < 200 || a.status > 299 {
		return &rcvStatusError{what: "cattlesim " + method + " " + path, answer: a}
	}
	if out != nil {
		if err := json.Unmarshal(a.body, out); err != nil {
			return fmt.Errorf("decode cattlesim %s %s: %w: %s", method, path, err, a.body)
		}
	}
	return nil
}

// rcvStatusError is a non-2xx answer.
type rcvStatusError struct {
	what   string
	answer rcvAnswer
}

func (e *rcvStatusError) Error() string { return fmt.Sprintf("%s: %s", e.what, e.answer) }

// rcvIsStatus reports whether err is a non-2xx answer with status code.
func rcvIsStatus(err error, code int) bool {
	var s *rcvStatusError
	return errors.As(err, &s) && s.answer.status == code
}

// rcvService is the part of a Cattle service the benchmarks look at.
type rcvService struct {
	ID            string `json:"id"`
	State         string `json:"state"`
	Transitioning string `json:"transitioning"`
	Scale         int    `json:"scale"`
	LaunchConfig  struct {
		ImageUUID string `json:"imageUuid"`
	} `json:"launchConfig"`
}

func (s rcvService) settled() bool { return s.State == "active" && s.Transitioning == "no" }

func (e *rcvEnv) service(ctx context.Context, id string) (rcvService, error) {
	var s rcvService
	err := e.simDo(ctx, http.MethodGet, rcvSimPath("services/"+id), nil, &s)
	return s, err
}

// waitService waits until cond holds for the service and returns it.
func (e *rcvEnv) waitService(ctx context.Context, id, what string, cond func(rcvService) bool) (rcvService, error) {
	var s rcvService
	var last error
	err := rcvWaitUntil(func() bool {
		s, last = e.service(ctx, id)
		return last == nil && cond(s)
	})
	if err != nil {
		return s, fmt.Errorf("service %s %s: %w (last seen %+v, %v)", id, what, err, s, last)
	}
	return s, nil
}

// createReceiver creates a receiver as Rancher's UI does (through the proxy, which sets X-API-Project-Id) and
// returns its id and trigger URL.
func (e *rcvEnv) createReceiver(ctx context.Context, body string) (id, url string, err error) {
	h := http.Header{"Content-Type": {"application/json"}, "X-Api-Project-Id": {cattlesim.DefaultProjectID}}
	a, err := e.do(ctx, http.MethodPost, e.apiURL+"/v1-webhooks/receivers", h, []byte(body))
	if err != nil {
		return "", "", err
	}
	var r struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	if a.status != http.StatusOK {
		return "", "", fmt.Errorf("create receiver: %s", a)
	}
	if err := json.Unmarshal(a.body, &r); err != nil {
		return "", "", fmt.Errorf("decode created receiver: %w: %s", err, a.body)
	}
	if r.ID == "" || !strings.HasPrefix(r.URL, e.apiURL+"/v1-webhooks/endpoint?key=") {
		return "", "", fmt.Errorf("created receiver has no id or a trigger URL off the public URL: %s", a.body)
	}
	return r.ID, r.URL, nil
}

// rcvCallCount counts the REST calls cattlesim logged in a window, by method.
type rcvCallCount struct {
	total, get, put, post, other int
	// matched counts the calls for which the window's filter held.
	matched int
}

// callMark is the index the next logged call will get.
func (e *rcvEnv) callMark() int {
	_, next := e.sim.CallsSince(1 << 62)
	return next
}

// callsBetween returns the calls logged with index in [from, to); an error if the bounded log already dropped
// some of them (the count would be short).
func (e *rcvEnv) callsBetween(from, to int) ([]cattlesim.Call, error) {
	calls, next := e.sim.CallsSince(from)
	if got := next - from; len(calls) != got {
		return nil, fmt.Errorf("cattlesim's call log dropped %d of the %d calls since %d", got-len(calls), got, from)
	}
	return calls[:to-from], nil
}

// countCalls counts the calls in [from, to) by method; matched counts those for which keep holds (nil: none).
func (e *rcvEnv) countCalls(from, to int, keep func(cattlesim.Call) bool) (rcvCallCount, error) {
	calls, err := e.callsBetween(from, to)
	if err != nil {
		return rcvCallCount{}, err
	}
	var c rcvCallCount
	for _, call := range calls {
		c.total++
		switch call.Method {
		case http.MethodGet:
			c.get++
		case http.MethodPut:
			c.put++
		case http.MethodPost:
			c.post++
		default:
			c.other++
		}
		if keep != nil && keep(call) {
			c.matched++
		}
	}
	return c, nil
}
