package app_test

// Helpers of the whole-service tests (package app_test): a cattlesim that can be stopped and brought back on the
// same address, a running App wired to it the way main wires it, and small pollers. Everything listens on
// 127.0.0.1 with ports picked by the kernel, and every goroutine started here is stopped and waited for in
// t.Cleanup.

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
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/app"
	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/cattlesim/eventhub"
	"github.com/rancher/scale-subscriber/config"
)

// e2eTimeout bounds every wait of these tests. It is generous because the subscriber's reconnect backoff (0.5 s
// doubling, jittered) decides how fast the service comes back after cattlesim returns.
const e2eTimeout = 30 * time.Second

// e2eSim is a seeded cattlesim served over HTTP on a fixed loopback address for the test's life, so that it can
// be stopped (listener closed, websockets dropped) and started again where clients expect it.
type e2eSim struct {
	t    *testing.T
	Sim  *cattlesim.Sim
	Info *cattlesim.SeedInfo
	addr string

	mu  sync.Mutex
	srv *httptest.Server // nil while stopped
}

// startE2ESim seeds the demo data, runs the event hub and serves the API until the test ends.
func startE2ESim(t *testing.T, opts cattlesim.Options) *e2eSim {
	t.Helper()
	if opts.PingInterval == 0 {
		// Cattle pings every 5 s; the health check wants a recent one.
		opts.PingInterval = 100 * time.Millisecond
	}
	if opts.Timings.Step == 0 {
		opts.Timings.Step = 10 * time.Millisecond
	}
	sim := cattlesim.New(opts)
	info, err := sim.Seed(cattlesim.SeedDemo, cattlesim.SeedOptions{})
	if err != nil {
		sim.Close()
		t.Fatalf("seed cattlesim: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		sim.Close()
		t.Fatalf("listen for cattlesim: %v", err)
	}
	s := &e2eSim{t: t, Sim: sim, Info: info, addr: ln.Addr().String()}

	ctx, cancel := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- sim.Run(ctx) }()
	s.serve(ln)
	t.Cleanup(func() {
		s.mu.Lock()
		srv := s.srv
		s.srv = nil
		s.mu.Unlock()
		if srv != nil {
			srv.Close()
		}
		cancel()
		select {
		case err := <-hubDone:
			if err != nil {
				t.Errorf("cattlesim event hub: %v", err)
			}
		case <-time.After(e2eTimeout):
			t.Errorf("cattlesim event hub did not stop within %s", e2eTimeout)
		}
		sim.Close()
	})
	return s
}

func (s *e2eSim) serve(ln net.Listener) {
	srv := httptest.NewUnstartedServer(s.Sim.Handler())
	_ = srv.Listener.Close() // replaced by ln, which holds the address clients know
	srv.Listener = ln
	srv.Start()
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
}

// URL is the Cattle URL as Rancher injects it into a container.
func (s *e2eSim) URL() string { return "http://" + s.addr + "/v1" }

// Cred is the environment key of the demo project 1a5.
func (s *e2eSim) Cred() cattlesim.Credential { return s.Info.Credentials[0] }

// Stop makes cattlesim unreachable like a stopped Cattle: the listener is closed (new connections are refused)
// and every open subscription is dropped without a close frame.
func (s *e2eSim) Stop() {
	s.t.Helper()
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		s.t.Fatal("cattlesim stopped twice")
	}
	srv.Close()
	// An upgrade accepted just before the listener closed may register after a first drop; drop until none is
	// left.
	e2eEventually(s.t, e2eTimeout, func() bool {
		s.Sim.DropWebsockets()
		return s.Sim.Subscribers() == 0
	}, func() string { return fmt.Sprintf("%d subscriptions still open after stop", s.Sim.Subscribers()) })
}

// Start serves cattlesim again on the same address, with its state intact.
func (s *e2eSim) Start() {
	s.t.Helper()
	var ln net.Listener
	var lastErr error
	e2eEventually(s.t, e2eTimeout, func() bool {
		ln, lastErr = net.Listen("tcp", s.addr)
		return lastErr == nil
	}, func() string { return fmt.Sprintf("listen again on %s: %v", s.addr, lastErr) })
	s.serve(ln)
}

// Do sends an authenticated API request to cattlesim and decodes a JSON answer into out (when not nil).
func (s *e2eSim) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+s.addr+path, rd)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.SetBasicAuth(s.Cred().AccessKey, s.Cred().SecretKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return nil
}

// e2ePublishes returns the accepted POSTs on a publish endpoint from cattlesim's call log, from index since on,
// decoded as replies.
func e2ePublishes(t *testing.T, sim *cattlesim.Sim, since int) []eventhub.Reply {
	t.Helper()
	calls, _ := sim.CallsSince(since)
	var out []eventhub.Reply
	for _, c := range calls {
		if c.Method != http.MethodPost || !strings.HasSuffix(strings.TrimSuffix(c.Path, "/"), "/publish") {
			continue
		}
		if c.Status != http.StatusCreated {
			t.Errorf("publish answered %d: %s", c.Status, c.Body)
			continue
		}
		var r eventhub.Reply
		if err := json.Unmarshal([]byte(c.Body), &r); err != nil {
			t.Fatalf("decode logged publish body %q: %v", c.Body, err)
		}
		out = append(out, r)
	}
	return out
}

// e2eApp is an App running against an e2eSim.
type e2eApp struct {
	*app.App
	// HealthURL is the base URL of /healthcheck, /healthz and /metrics.
	HealthURL string
	// Logs holds everything the App logged (JSON lines), printed when the test fails.
	Logs *e2eBuffer
}

// startE2EApp builds the App as main does (config defaults, the demo environment key), lets register add handlers
// and reconcilers before Run, runs it, and stops it at the end of the test, failing if Run did not return nil.
func startE2EApp(t *testing.T, sim *e2eSim, register func(a *app.App)) *e2eApp {
	t.Helper()
	cfg := config.Defaults()
	cfg.CattleURL = sim.URL()
	cfg.AccessKey = sim.Cred().AccessKey
	cfg.SecretKey = sim.Cred().SecretKey
	cfg.ListenAddress = "127.0.0.1:0"
	cfg.HealthListenAddress = "127.0.0.1:0"
	cfg.Workers = 2
	cfg.PingInterval = 100 * time.Millisecond
	cfg.PongWait = time.Second
	cfg.MaxPingAge = 2 * time.Second

	logs := &e2eBuffer{}
	log := logrus.New()
	log.SetOutput(logs)
	log.SetFormatter(&logrus.JSONFormatter{})
	log.SetLevel(logrus.DebugLevel)
	// Registered first, so it runs last: after the App stopped writing.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app logs:\n%s", logs.String())
		}
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for healthcheck: %v", err)
	}
	newCtx, cancelNew := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancelNew()
	a, err := app.New(newCtx, app.Options{Config: cfg, Logger: log, HealthListener: ln})
	if err != nil {
		_ = ln.Close()
		t.Fatalf("app.New: %v", err)
	}
	if register != nil {
		register(a)
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
		case <-time.After(e2eTimeout):
			t.Errorf("app.Run did not return within %s of cancel", e2eTimeout)
		}
	})
	return &e2eApp{App: a, HealthURL: "http://" + ln.Addr().String(), Logs: logs}
}

// Health fetches /healthcheck; code 0 means the request itself failed.
func (a *e2eApp) Health() (code int, body string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.HealthURL+"/healthcheck", nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(raw)
}

// WaitHealthy waits until /healthcheck answers 200: subscribed, pinged and synced.
func (a *e2eApp) WaitHealthy(t *testing.T) {
	t.Helper()
	var code int
	var body string
	e2eEventually(t, e2eTimeout, func() bool {
		code, body = a.Health()
		return code == http.StatusOK
	}, func() string { return fmt.Sprintf("/healthcheck still %d: %s", code, body) })
}

// Metric sums the samples of a counter, gauge or histogram (its count) whose labels include want.
func (a *e2eApp) Metric(t *testing.T, name string, want map[string]string) float64 {
	t.Helper()
	return e2eMetric(t, a.Registry(), name, want)
}

func e2eMetric(t *testing.T, g prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue samples
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// e2eEventually polls cond until it holds or timeout passes, then fails with describe().
func e2eEventually(t *testing.T, timeout time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("after %s: %s", timeout, describe())
		case <-tick.C:
		}
	}
}

// e2eRecv waits for one value from ch or fails.
func e2eRecv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(e2eTimeout):
		t.Fatalf("no %s within %s", what, e2eTimeout)
		var zero T
		return zero
	}
}

// e2eBuffer collects output written by other goroutines (logger, child process) while the test may read it.
type e2eBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *e2eBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *e2eBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// e2eLogEntries returns the JSON log entries whose msg is msg.
func e2eLogEntries(t *testing.T, logs *e2eBuffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		if m, ok := entry["msg"].(string); ok && m == msg {
			out = append(out, entry)
		}
	}
	return out
}
