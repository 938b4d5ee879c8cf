package healthcheck

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 10 * time.Second

func ok(context.Context) error { return nil }

func failing(msg string) func(context.Context) error {
	return func(context.Context) error { return errors.New(msg) }
}

// startServer runs a Server on a 127.0.0.1:0 listener and returns its base
// URL. Cleanup cancels Run and requires it to return nil.
func startServer(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	opts.Listener = ln
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		case <-time.After(testTimeout):
			t.Errorf("Run did not return after cancel")
		}
	})
	select {
	case <-s.Ready():
	case <-time.After(testTimeout):
		t.Fatalf("server not ready")
	}
	return s, "http://" + ln.Addr().String()
}

// get issues one request and returns the status, headers and body.
func get(t *testing.T, method, url string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, resp.Header, body
}

func decodeReport(t *testing.T, body []byte) report {
	t.Helper()
	var r report
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return r
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{name: "no address", opts: Options{}, want: "one of Addr or Listener is required"},
		{name: "blank address", opts: Options{Addr: "  "}, want: "one of Addr or Listener is required"},
		{
			name: "unnamed check",
			opts: Options{Addr: ":0", Checks: []Check{{Func: ok}}},
			want: "readiness check 0 has no name",
		},
		{
			name: "nil func",
			opts: Options{Addr: ":0", Checks: []Check{{Name: "subscribed"}}},
			want: `readiness check "subscribed" has no func`,
		},
		{
			name: "duplicate",
			opts: Options{Addr: ":0", Checks: []Check{{Name: "a", Func: ok}, {Name: "a", Func: ok}}},
			want: `duplicate readiness check "a"`,
		},
		{
			name: "bad liveness",
			opts: Options{Addr: ":0", Liveness: []Check{{Name: "loop"}}},
			want: `liveness check "loop" has no func`,
		},
		{
			name: "negative timeout",
			opts: Options{Addr: ":0", CheckTimeout: -time.Second},
			want: "timeouts must not be negative",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.opts)
			if err == nil {
				t.Fatalf("New succeeded (%v), want error", s)
			}
			if !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("error %v does not wrap ErrInvalidOptions", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestReadiness(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })

	tests := []struct {
		name       string
		checks     []Check
		wantCode   int
		wantStatus string
		wantChecks map[string]string // value "" means: any non-"ok" reason
	}{
		{
			name:       "no checks",
			wantCode:   http.StatusOK,
			wantStatus: "ok",
		},
		{
			name:       "all pass",
			checks:     []Check{{Name: "subscribed", Func: ok}, {Name: "first sync done", Func: ok}},
			wantCode:   http.StatusOK,
			wantStatus: "ok",
			wantChecks: map[string]string{"subscribed": "ok", "first sync done": "ok"},
		},
		{
			name: "one fails",
			checks: []Check{
				{Name: "subscribed", Func: ok},
				{Name: "recent ping", Func: failing("no ping for 45s")},
			},
			wantCode:   http.StatusServiceUnavailable,
			wantStatus: "unhealthy",
			wantChecks: map[string]string{"subscribed": "ok", "recent ping": "no ping for 45s"},
		},
		{
			name: "check honours deadline",
			checks: []Check{{Name: "slow", Func: func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			}}},
			wantCode:   http.StatusServiceUnavailable,
			wantStatus: "unhealthy",
			wantChecks: map[string]string{"slow": ""},
		},
		{
			name: "check ignores deadline",
			checks: []Check{
				{Name: "wedged", Func: func(context.Context) error { <-release; return nil }},
				{Name: "subscribed", Func: ok},
			},
			wantCode:   http.StatusServiceUnavailable,
			wantStatus: "unhealthy",
			wantChecks: map[string]string{"wedged": "", "subscribed": "ok"},
		},
		{
			name:       "check panics",
			checks:     []Check{{Name: "queue", Func: func(context.Context) error { panic("boom") }}},
			wantCode:   http.StatusServiceUnavailable,
			wantStatus: "unhealthy",
			wantChecks: map[string]string{"queue": "check panicked: boom"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, base := startServer(t, Options{Checks: tc.checks, CheckTimeout: 200 * time.Millisecond})
			for _, path := range []string{"/healthcheck", "/readyz"} {
				start := time.Now()
				code, hdr, body := get(t, http.MethodGet, base+path)
				if elapsed := time.Since(start); elapsed > 5*time.Second {
					t.Errorf("%s took %s; the check deadline was not enforced", path, elapsed)
				}
				if code != tc.wantCode {
					t.Fatalf("%s status = %d, want %d (body %s)", path, code, tc.wantCode, body)
				}
				if ct := hdr.Get("Content-Type"); ct != "application/json" {
					t.Errorf("%s Content-Type = %q", path, ct)
				}
				r := decodeReport(t, body)
				if r.Status != tc.wantStatus {
					t.Errorf("%s status member = %q, want %q", path, r.Status, tc.wantStatus)
				}
				if len(r.Checks) != len(tc.wantChecks) {
					t.Errorf("%s checks = %v, want %d entries", path, r.Checks, len(tc.wantChecks))
				}
				for name, want := range tc.wantChecks {
					got, found := r.Checks[name]
					switch {
					case !found:
						t.Errorf("%s: check %q missing from %v", path, name, r.Checks)
					case want == "" && (got == "ok" || got == ""):
						t.Errorf("%s: check %q = %q, want a failure reason", path, name, got)
					case want != "" && got != want:
						t.Errorf("%s: check %q = %q, want %q", path, name, got, want)
					}
				}
			}
		})
	}
}

func TestHeadMirrorsGetWithoutBody(t *testing.T) {
	healthy := make(chan bool, 1)
	healthy <- true
	check := func(context.Context) error {
		h := <-healthy
		healthy <- h
		if !h {
			return errors.New("not subscribed")
		}
		return nil
	}
	_, base := startServer(t, Options{Checks: []Check{{Name: "subscribed", Func: check}}})

	tests := []struct {
		name     string
		healthy  bool
		wantCode int
	}{
		{name: "healthy", healthy: true, wantCode: http.StatusOK},
		{name: "unhealthy", healthy: false, wantCode: http.StatusServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			<-healthy
			healthy <- tc.healthy
			code, _, body := get(t, http.MethodHead, base+"/healthcheck")
			if code != tc.wantCode {
				t.Errorf("HEAD status = %d, want %d", code, tc.wantCode)
			}
			if len(body) != 0 {
				t.Errorf("HEAD body = %q, want empty", body)
			}
		})
	}
}

func TestLiveness(t *testing.T) {
	tests := []struct {
		name     string
		liveness []Check
		wantCode int
		wantBody string
	}{
		{name: "no checks", wantCode: http.StatusOK, wantBody: `{"status":"ok"}`},
		{
			name:     "loop answers",
			liveness: []Check{{Name: "loop", Func: ok}},
			wantCode: http.StatusOK,
			wantBody: `{"status":"ok","checks":{"loop":"ok"}}`,
		},
		{
			name:     "loop stuck",
			liveness: []Check{{Name: "loop", Func: failing("event loop unresponsive")}},
			wantCode: http.StatusServiceUnavailable,
			wantBody: `{"status":"unhealthy","checks":{"loop":"event loop unresponsive"}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A failing readiness check must not affect liveness.
			_, base := startServer(t, Options{
				Checks:   []Check{{Name: "subscribed", Func: failing("not yet")}},
				Liveness: tc.liveness,
			})
			code, _, body := get(t, http.MethodGet, base+"/healthz")
			if code != tc.wantCode {
				t.Errorf("status = %d, want %d", code, tc.wantCode)
			}
			if got := strings.TrimSpace(string(body)); got != tc.wantBody {
				t.Errorf("body = %s, want %s", got, tc.wantBody)
			}
		})
	}
}

func TestErrorsAreJSON(t *testing.T) {
	_, base := startServer(t, Options{})
	tests := []struct {
		name      string
		method    string
		path      string
		wantCode  int
		wantAllow string
	}{
		{name: "unknown path", method: http.MethodGet, path: "/nope", wantCode: http.StatusNotFound},
		{name: "sub path", method: http.MethodGet, path: "/healthcheck/extra", wantCode: http.StatusNotFound},
		{name: "root", method: http.MethodGet, path: "/", wantCode: http.StatusNotFound},
		{name: "no gatherer", method: http.MethodGet, path: "/metrics", wantCode: http.StatusNotFound},
		{name: "post healthcheck", method: http.MethodPost, path: "/healthcheck", wantCode: http.StatusMethodNotAllowed, wantAllow: "GET, HEAD"},
		{name: "delete healthz", method: http.MethodDelete, path: "/healthz", wantCode: http.StatusMethodNotAllowed, wantAllow: "GET, HEAD"},
		{name: "put metrics", method: http.MethodPut, path: "/metrics", wantCode: http.StatusMethodNotAllowed, wantAllow: "GET, HEAD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := get(t, tc.method, base+tc.path)
			if code != tc.wantCode {
				t.Fatalf("status = %d, want %d", code, tc.wantCode)
			}
			if got := hdr.Get("Allow"); got != tc.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tc.wantAllow)
			}
			var e errorBody
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q is not JSON: %v", body, err)
			}
			if e.Status != "error" || e.Code != tc.wantCode || e.Message == "" {
				t.Errorf("error body = %+v", e)
			}
		})
	}
}

func TestMetricsFromInjectedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	events := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "scale_subscriber_test_events_total",
		Help: "Events seen by the test.",
	})
	reg.MustRegister(events)
	events.Add(3)
	_, base := startServer(t, Options{Gatherer: reg})

	code, _, body := get(t, http.MethodGet, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("status = %d, body %s", code, body)
	}
	text := string(body)
	if !strings.Contains(text, "scale_subscriber_test_events_total 3") {
		t.Errorf("metrics missing the injected counter:\n%s", text)
	}
	// The default registry carries go_goroutines; seeing it would mean the
	// handler is not using the injected Gatherer.
	if strings.Contains(text, "go_goroutines") {
		t.Errorf("metrics expose the default registry:\n%s", text)
	}
}

// panickingGatherer stands in for a broken collector: promhttp does not
// recover, so this exercises the server's own panic recovery.
type panickingGatherer struct{}

func (panickingGatherer) Gather() ([]*dto.MetricFamily, error) { panic("collector exploded") }

func TestPanicBecomesJSON500(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	_, base := startServer(t, Options{Gatherer: panickingGatherer{}, Logger: logger})

	code, _, body := get(t, http.MethodGet, base+"/metrics")
	if code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500 (body %s)", code, body)
	}
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	if e.Code != http.StatusInternalServerError || e.Status != "error" {
		t.Errorf("error body = %+v", e)
	}
	// The server survives the panic.
	if code, _, _ := get(t, http.MethodGet, base+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz after panic = %d, want 200", code)
	}
	found := false
	for _, entry := range hook.AllEntries() {
		if entry.Message == "healthcheck handler panicked" && entry.Level == logrus.ErrorLevel {
			found = true
			if entry.Data["component"] != "healthcheck" {
				t.Errorf("panic log component = %v", entry.Data["component"])
			}
		}
	}
	if !found {
		t.Errorf("panic was not logged; entries: %v", hook.AllEntries())
	}
}

// TestHTTP10RawRequest sends exactly what Rancher's HAProxy sends: an
// HTTP/1.0 request line with no Host header.
func TestHTTP10RawRequest(t *testing.T) {
	tests := []struct {
		name       string
		check      func(context.Context) error
		request    string
		wantCode   int
		wantStatus string
	}{
		{
			name:       "healthy",
			check:      ok,
			request:    "GET /healthcheck HTTP/1.0\r\n\r\n",
			wantCode:   http.StatusOK,
			wantStatus: "ok",
		},
		{
			name:       "unhealthy",
			check:      failing("websocket not subscribed"),
			request:    "GET /healthcheck HTTP/1.0\r\n\r\n",
			wantCode:   http.StatusServiceUnavailable,
			wantStatus: "unhealthy",
		},
		{
			name:       "healthz",
			check:      failing("not ready"),
			request:    "GET /healthz HTTP/1.0\r\n\r\n",
			wantCode:   http.StatusOK,
			wantStatus: "ok",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, base := startServer(t, Options{Checks: []Check{{Name: "subscribed", Func: tc.check}}})
			conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), testTimeout)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer conn.Close()
			if err := conn.SetDeadline(time.Now().Add(testTimeout)); err != nil {
				t.Fatalf("set deadline: %v", err)
			}
			if _, err := io.WriteString(conn, tc.request); err != nil {
				t.Fatalf("write request: %v", err)
			}
			// HTTP/1.0 without keep-alive: the server must close the
			// connection after the response, so ReadAll ends with EOF.
			raw, err := io.ReadAll(conn)
			if err != nil {
				t.Fatalf("read response: %v (got %q)", err, raw)
			}
			resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(raw))), nil)
			if err != nil {
				t.Fatalf("parse response %q: %v", raw, err)
			}
			defer resp.Body.Close()
			if !strings.HasPrefix(string(raw), "HTTP/1.0 ") {
				t.Errorf("status line %q, want an HTTP/1.0 reply", strings.SplitN(string(raw), "\r\n", 2)[0])
			}
			if resp.StatusCode != tc.wantCode {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.wantCode)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if r := decodeReport(t, body); r.Status != tc.wantStatus {
				t.Errorf("status member = %q, want %q", r.Status, tc.wantStatus)
			}
		})
	}
}

func TestRunListensOnAddrAndStopsOnCancel(t *testing.T) {
	s, err := New(Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if s.Addr() != nil {
		t.Fatalf("Addr before Run = %v, want nil", s.Addr())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(testTimeout):
		t.Fatalf("server not ready")
	}
	addr := s.Addr()
	if addr == nil {
		t.Fatalf("Addr after Ready is nil")
	}
	if code, _, _ := get(t, http.MethodGet, "http://"+addr.String()+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz = %d", code)
	}
	if err := s.Run(ctx); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("second Run = %v, want ErrAlreadyRunning", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(testTimeout):
		t.Fatalf("Run did not return after cancel")
	}
	if conn, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
		conn.Close()
		t.Errorf("listener still accepting after shutdown")
	}
}

func TestRunReportsListenError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer busy.Close()
	s, err := New(Options{Addr: busy.Addr().String()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	err = s.Run(ctx)
	if err == nil {
		t.Fatalf("Run on a busy port returned nil")
	}
	if !strings.Contains(err.Error(), "listen on "+busy.Addr().String()) {
		t.Errorf("error %q does not say what failed", err)
	}
}

func TestReadinessLogsOnlyTransitions(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	healthy := make(chan bool, 1)
	healthy <- false
	check := func(context.Context) error {
		h := <-healthy
		healthy <- h
		if !h {
			return errors.New("no pong for 40s")
		}
		return nil
	}
	_, base := startServer(t, Options{Checks: []Check{{Name: "ping", Func: check}}, Logger: logger})

	count := func(msg string) int {
		n := 0
		for _, e := range hook.AllEntries() {
			if e.Message == msg {
				n++
			}
		}
		return n
	}
	for range 3 {
		get(t, http.MethodGet, base+"/healthcheck")
	}
	if n := count("health checks failing"); n != 1 {
		t.Errorf("failing logged %d times over 3 failed probes, want 1", n)
	}
	<-healthy
	healthy <- true
	for range 2 {
		get(t, http.MethodGet, base+"/healthcheck")
	}
	if n := count("health checks passing"); n != 1 {
		t.Errorf("passing logged %d times over 2 good probes, want 1", n)
	}
	for _, e := range hook.AllEntries() {
		if e.Message == "health checks failing" {
			if got, _ := e.Data["err"].(error); got == nil || !strings.Contains(got.Error(), "ping: no pong for 40s") {
				t.Errorf("failing log err = %v, want the failed check", e.Data["err"])
			}
		}
	}
}
