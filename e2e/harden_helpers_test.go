package e2e

// The harness of the hardening tests (faults_test.go, shutdown_test.go, secrets_test.go): the usual cattlesim
// and service, with the service's knobs those tests need (Cattle request timeout, log level, SMTP, fast
// reconnects), its Cattle traffic optionally through a fault proxy, every log line kept, and the service's
// stop in the test's hands.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/app"
	"github.com/rancher/scale-subscriber/config"
	"github.com/rancher/scale-subscriber/events"
)

// hardenOptions configures startHardened.
type hardenOptions struct {
	// proxy routes the service's Cattle traffic (REST and the event websocket) through a faultProxy.
	proxy bool
	// cattleTimeout bounds each Cattle request of the service (cattle.DefaultTimeout when zero).
	cattleTimeout time.Duration
	// level is the service's log level (info when zero).
	level logrus.Level
	// configure changes the service's configuration.
	configure func(*config.Config)
	// simStep is cattlesim's transition step (10 ms when zero). Tests that scale services by hundreds of
	// containers shorten it: a scale change keeps the service busy for a few steps per container.
	simStep time.Duration
}

// hardEnv is env plus the service's app, its stop, the proxy and the full log.
type hardEnv struct {
	*env
	app   *app.App
	proxy *faultProxy
	// allLogs keeps every line the service logged (env.logs keeps the first MiB, for failure messages).
	allLogs *fullLog

	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan error
	runErr   error
}

func startHardened(t *testing.T, o hardenOptions) *hardEnv {
	t.Helper()
	h := &hardEnv{env: &env{t: t, logs: &logBuffer{}}, allLogs: &fullLog{}}
	h.client = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(h.client.CloseIdleConnections)
	h.startSimStep(o.simStep)
	cattleBase := h.simURL
	if o.proxy {
		h.proxy = startFaultProxy(t, h.simURL)
		cattleBase = h.proxy.url
	}

	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for the receivers api: %v", err)
	}
	healthLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = apiLn.Close()
		t.Fatalf("listen for the healthcheck: %v", err)
	}
	h.apiURL = "http://" + apiLn.Addr().String()
	h.healthURL = "http://" + healthLn.Addr().String()
	cred := h.cred()
	cfg := config.Defaults()
	cfg.CattleURL = cattleBase + "/v1"
	cfg.AccessKey, cfg.SecretKey = cred.AccessKey, cred.SecretKey
	cfg.ListenAddress = apiLn.Addr().String()
	cfg.HealthListenAddress = healthLn.Addr().String()
	cfg.PublicURL = h.apiURL
	cfg.Workers = 2
	cfg.PingInterval = 100 * time.Millisecond
	cfg.PongWait = time.Second
	cfg.MaxPingAge = 2 * time.Second
	if o.configure != nil {
		o.configure(&cfg)
	}
	lg := logrus.New()
	lg.SetOutput(io.MultiWriter(h.logs, h.allLogs))
	lg.SetFormatter(&logrus.JSONFormatter{})
	lg.SetLevel(logrus.InfoLevel)
	if o.level != 0 {
		lg.SetLevel(o.level)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service logs:\n%s", h.logs.String())
		}
	})
	newCtx, cancelNew := context.WithTimeout(context.Background(), waitTimeout)
	defer cancelNew()
	a, err := app.New(newCtx, app.Options{Config: cfg, Logger: lg, HealthListener: healthLn, Listener: apiLn,
		CattleTimeout: o.cattleTimeout,
		// Websocket drops are part of the faults: reconnect within tens of milliseconds, not seconds.
		SubscriberBackoff: events.BackoffOptions{Initial: 10 * time.Millisecond, Max: 200 * time.Millisecond}})
	if err != nil {
		_ = apiLn.Close()
		_ = healthLn.Close()
		t.Fatalf("app.New: %v", err)
	}
	h.app = a
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- a.Run(ctx) }()
	t.Cleanup(func() {
		if err := h.stop(); err != nil {
			t.Errorf("app.Run returned %v after cancel, want nil", err)
		}
	})
	h.waitHealthy()
	return h
}

// stop cancels the service's context (what SIGTERM does in main) and returns Run's result; it fails the test
// if Run does not return within waitTimeout. Later calls return the same result.
func (h *hardEnv) stop() error {
	h.stopOnce.Do(func() {
		h.cancel()
		select {
		case h.runErr = <-h.done:
		case <-time.After(waitTimeout):
			h.runErr = fmt.Errorf("app.Run did not return within %s of cancel", waitTimeout)
		}
	})
	return h.runErr
}

// faults sets cattlesim's fault injection (the zero value clears it).
func (h *hardEnv) faults(errorRate float64, errorStatus, latencyMs int) {
	h.t.Helper()
	h.sim(http.MethodPost, "/_sim/faults", map[string]any{"errorRate": errorRate, "errorStatus": errorStatus,
		"latencyMs": latencyMs}, nil)
}

// dropWebsockets closes every event subscription abruptly and returns how many there were.
func (h *hardEnv) dropWebsockets() int {
	h.t.Helper()
	var d struct {
		Dropped int `json:"dropped"`
	}
	h.sim(http.MethodPost, "/_sim/websockets/drop", nil, &d)
	return d.Dropped
}

// fullLog keeps every line written to it.
type fullLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *fullLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *fullLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// --- the fault proxy ---

// Modes of a scale PUT the proxy interferes with.
const (
	// putHang forwards the PUT (cattlesim applies it) and withholds the answer until the client gives up:
	// the PUT that times out client-side but was applied server-side.
	putHang = "hang"
	// putDrop forwards the PUT and then closes the connection without an answer.
	putDrop = "drop"
	// putCut closes the connection without forwarding: no answer, and nothing applied.
	putCut = "cut"
	// putHangThenDown is putHang, and from then on the proxy answers 503 to every REST call (Cattle down)
	// until up is called.
	putHangThenDown = "hang-then-down"
)

// faultProxy is a reverse proxy in front of cattlesim (REST and websocket) that can make a service PUT go
// unanswered, whether or not cattlesim applied it, which cattlesim's own faults cannot: they answer an error
// before anything is applied.
type faultProxy struct {
	url      string
	upstream *url.URL
	rp       *httputil.ReverseProxy
	client   *http.Client
	closing  chan struct{}

	mu sync.Mutex
	// plan is the modes of the next service PUTs, in order; every, when positive, interferes with every
	// every-th PUT after the plan is used up, alternating putHang and putDrop.
	plan  []string
	every int
	puts  int
	// interfered counts the PUTs interfered with, by mode.
	interfered map[string]int
	// down answers 503 to every REST call (not the websocket).
	down bool
}

func startFaultProxy(t *testing.T, upstream string) *faultProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatalf("parse cattlesim url: %v", err)
	}
	p := &faultProxy{upstream: u, client: &http.Client{}, closing: make(chan struct{}),
		interfered: make(map[string]int)}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // cattlesim builds its links from Host: they must point at the proxy
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for the fault proxy: %v", err)
	}
	p.url = "http://" + ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		close(p.closing)
		_ = srv.Close()
		<-served
		p.client.CloseIdleConnections()
	})
	return p
}

// planPUTs makes the next service PUTs go as modes say; every > 0 then interferes with every every-th one.
func (p *faultProxy) planPUTs(every int, modes ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.plan = append(p.plan, modes...)
	p.every = every
	p.puts = 0
}

// count returns how many PUTs were interfered with in mode.
func (p *faultProxy) count(mode string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.interfered[mode]
}

// modeFor decides what happens to the next service PUT ("" = nothing).
func (p *faultProxy) modeFor() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	mode := ""
	switch {
	case len(p.plan) > 0:
		mode, p.plan = p.plan[0], p.plan[1:]
	case p.every > 0:
		p.puts++
		if p.puts%p.every == 0 {
			mode = putHang
			if (p.puts/p.every)%2 == 0 {
				mode = putDrop
			}
		}
	}
	if mode != "" {
		p.interfered[mode]++
	}
	return mode
}

// up ends the outage putHangThenDown started.
func (p *faultProxy) up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

func (p *faultProxy) isDown() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.down
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.isDown() && r.Header.Get("Upgrade") == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"type":"error","status":503,"code":"ServiceUnavailable","message":"proxy: cattle is down"}`)
		return
	}
	if r.Method != http.MethodPut || !strings.Contains(strings.ToLower(r.URL.Path), "/services/") {
		p.rp.ServeHTTP(w, r)
		return
	}
	mode := p.modeFor()
	if mode == "" {
		p.rp.ServeHTTP(w, r)
		return
	}
	if mode != putCut {
		p.forward(r)
	}
	if mode == putHangThenDown {
		p.mu.Lock()
		p.down = true
		p.mu.Unlock()
	}
	if mode == putHang || mode == putHangThenDown {
		// The client's own timeout ends this; the proxy's close and waitTimeout bound it.
		select {
		case <-r.Context().Done():
		case <-p.closing:
		case <-time.After(waitTimeout):
		}
	}
	panic(http.ErrAbortHandler) // close the connection without an answer
}

// forward sends r to cattlesim and reads the whole answer, independently of the client, so the PUT is applied
// even if the client has given up.
func (p *faultProxy) forward(r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), waitTimeout)
	defer cancel()
	target := *p.upstream
	target.Path, target.RawQuery = r.URL.Path, r.URL.RawQuery
	req, err := http.NewRequestWithContext(ctx, r.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header = r.Header.Clone()
	req.Host = r.Host
	resp, err := p.client.Do(req)
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}
