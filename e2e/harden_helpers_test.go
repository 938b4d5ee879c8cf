package e2e

// The harness of the hardening tests (faults_test.go, shutdown_test.go, secrets_test.go): the usual cattlesim
// and service, with the service's knobs those tests need (Cattle request timeout, log level, SMTP, fast
// reconnects), its Cattle traffic optionally through a fault proxy, every log line kept, and the service's
// stop in the test's hands.

import (
	"bytes"
	"context"
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
	"github.com/rancher/scale-subscriber/internal/simtest"
	"github.com/rancher/scale-subscriber/internal/simtest/apptest"
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
	// allLogs keeps every line the service logged (the same buffer as env.logs, which keeps everything).
	allLogs *logBuffer
	svc     *apptest.Service
}

func startHardened(t *testing.T, o hardenOptions) *hardEnv {
	t.Helper()
	h := &hardEnv{env: &env{t: t, logs: &logBuffer{}}}
	h.allLogs = h.logs
	h.client = simtest.NewClient(t, 2*time.Minute, 64)
	h.startSimStep(o.simStep)
	var cattleURL string
	if o.proxy {
		h.proxy = startFaultProxy(t, h.simURL)
		cattleURL = h.proxy.url + "/v1"
	}
	h.svc = h.launch(apptest.Options{CattleURL: cattleURL, Configure: o.configure, Level: o.level,
		CattleTimeout: o.cattleTimeout,
		// Websocket drops are part of the faults: reconnect within tens of milliseconds, not seconds.
		SubscriberBackoff: events.BackoffOptions{Initial: 10 * time.Millisecond, Max: 200 * time.Millisecond}})
	h.app = h.svc.App
	h.waitHealthy()
	return h
}

// stop cancels the service's context (what SIGTERM does in main) and returns Run's result; it fails the test
// if Run does not return within waitTimeout. Later calls return the same result.
func (h *hardEnv) stop() error { return h.svc.Stop() }

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

// Modes of a host write (POST hosts, POST externalhostevents) the proxy interferes with: the create or
// evacuation a scaleHost trigger sends, applied by cattlesim or not, without the answer the client waits for.
const (
	// hostHang forwards the write (cattlesim applies it) and withholds the answer until the client gives up.
	hostHang = "host-hang"
	// hostDrop forwards the write and then closes the connection without an answer.
	hostDrop = "host-drop"
	// hostBadGateway forwards the write and answers 502, as a proxy whose upstream broke after the request
	// went out: an error status although the write was applied.
	hostBadGateway = "host-502"
	// hostCut closes the connection without forwarding: no answer, and nothing applied.
	hostCut = "host-cut"
	// hostHold holds the write until the client gave up and the service's next host listing was answered, and
	// only then forwards it: a write that reaches Cattle after it timed out, too late for that listing to show
	// it (a proxy or a busy Cattle working through its backlog).
	hostHold = "host-hold"
)

// faultProxy is a reverse proxy in front of cattlesim (REST and websocket) that can make a service PUT (or a
// host write) go unanswered, whether or not cattlesim applied it, which cattlesim's own faults cannot: they
// answer an error before anything is applied.
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
	// hostPlan is the modes of the next host writes, in order (counted in interfered too).
	hostPlan []string
	// listed is closed (and replaced) each time a host listing was answered.
	listed chan struct{}
}

func startFaultProxy(t *testing.T, upstream string) *faultProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatalf("parse cattlesim url: %v", err)
	}
	p := &faultProxy{upstream: u, client: &http.Client{}, closing: make(chan struct{}),
		interfered: make(map[string]int), listed: make(chan struct{})}
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

// planHostWrites makes the next host writes (POST hosts, POST externalhostevents) go as modes say.
func (p *faultProxy) planHostWrites(modes ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hostPlan = append(p.hostPlan, modes...)
}

// hostModeFor decides what happens to the next host write ("" = nothing).
func (p *faultProxy) hostModeFor() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.hostPlan) == 0 {
		return ""
	}
	mode := p.hostPlan[0]
	p.hostPlan = p.hostPlan[1:]
	p.interfered[mode]++
	return mode
}

// isHostWrite reports whether r creates a host or an external host event.
func isHostWrite(r *http.Request) bool {
	path := strings.ToLower(strings.TrimSuffix(r.URL.Path, "/"))
	return r.Method == http.MethodPost && r.URL.RawQuery == "" &&
		(strings.HasSuffix(path, "/hosts") || strings.HasSuffix(path, "/externalhostevents"))
}

// isHostListing reports whether r lists the hosts.
func isHostListing(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(strings.ToLower(strings.TrimSuffix(r.URL.Path, "/")), "/hosts")
}

// nextListing returns a channel closed once the next host listing was answered.
func (p *faultProxy) nextListing() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.listed
}

// hostsListed wakes those waiting for a host listing.
func (p *faultProxy) hostsListed() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.listed)
	p.listed = make(chan struct{})
}

// serveHostWrite interferes with a host write as mode says.
func (p *faultProxy) serveHostWrite(w http.ResponseWriter, r *http.Request, mode string) {
	if mode == hostHold {
		p.hold(r)
		panic(http.ErrAbortHandler) // the client is gone; close its connection
	}
	if mode != hostCut {
		p.forward(r)
	}
	switch mode {
	case hostBadGateway:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, `{"type":"error","status":502,"code":"BadGateway","message":"proxy: upstream connection broke"}`)
		return
	case hostHang:
		select {
		case <-r.Context().Done():
		case <-p.closing:
		case <-time.After(waitTimeout):
		}
	}
	panic(http.ErrAbortHandler) // close the connection without an answer
}

// hold reads the write, waits for the client to give up and then for the next host listing to be answered,
// and only then forwards the write (hostHold). Closing the proxy or waitTimeout ends a wait, and the write is
// forwarded anyway unless the proxy is closing.
func (p *faultProxy) hold(r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	select {
	case <-r.Context().Done():
	case <-p.closing:
		return
	case <-time.After(waitTimeout):
	}
	select {
	case <-p.nextListing():
	case <-p.closing:
		return
	case <-time.After(waitTimeout):
	}
	p.send(r, body)
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
	if isHostWrite(r) {
		if mode := p.hostModeFor(); mode != "" {
			p.serveHostWrite(w, r, mode)
			return
		}
	}
	if isHostListing(r) {
		p.rp.ServeHTTP(w, r)
		p.hostsListed()
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
	p.send(r, body)
}

// send sends r with body to cattlesim and reads the whole answer, independently of the client.
func (p *faultProxy) send(r *http.Request, body []byte) {
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
