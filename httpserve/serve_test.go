package httpserve

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// blockingHandler answers "done" once released. It reports each request's arrival on entered and, when it
// returns, whether its request context had ended (and why) on ctxErr. A request whose context ends first
// returns at once.
type blockingHandler struct {
	entered chan struct{}
	release func()
	ctxErr  chan error
	rel     chan struct{}
}

func newBlockingHandler(t *testing.T) *blockingHandler {
	b := &blockingHandler{entered: make(chan struct{}, 1), ctxErr: make(chan error, 1), rel: make(chan struct{})}
	b.release = sync.OnceFunc(func() { close(b.rel) })
	t.Cleanup(b.release) // never leave a handler blocked behind a failed test
	return b
}

func (b *blockingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.entered <- struct{}{}
	select {
	case <-b.rel:
	case <-r.Context().Done():
		b.ctxErr <- r.Context().Err()
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "cancelled")
		return
	}
	b.ctxErr <- r.Context().Err()
	_, _ = io.WriteString(w, "done")
}

// TestServeFinishesInFlightRequestOnShutdown: when ctx ends the listener closes at once, but Serve waits for
// the request in flight, whose context is not cancelled, and returns nil once it is answered; both lifecycle
// lines are logged with the address.
func TestServeFinishesInFlightRequestOnShutdown(t *testing.T) {
	o, hook := testOptions(t)
	h := newBlockingHandler(t)
	s := start(t, h, o)
	answer := getAsync(s.url("/slow"))
	recv(t, h.entered, "the request to reach the handler")

	s.cancel()
	waitFor(t, "the listener to close after ctx ended", s.refused)
	if s.returned() {
		t.Fatalf("Serve returned while a request was in flight")
	}
	h.release()
	r := recv(t, answer, "the in-flight answer")
	if r.err != nil || r.status != http.StatusOK || r.body != "done" {
		t.Fatalf("in-flight request: status %d body %q err %v, want 200 done", r.status, r.body, r.err)
	}
	if err := recv(t, h.ctxErr, "the handler's context state"); err != nil {
		t.Errorf("the request's context ended with Serve's ctx: %v", err)
	}
	if err := s.wait(t); err != nil {
		t.Fatalf("Serve after a graceful shutdown = %v, want nil", err)
	}

	listening := entries(hook, "test listening")
	if len(listening) != 1 || listening[0].Level != logrus.InfoLevel ||
		listening[0].Data["address"] != s.addr || listening[0].Data["url"] != "http://"+s.addr {
		t.Errorf("want one info \"test listening\" with address and url %s; logs:\n%s", s.addr, dump(hook))
	}
	if stopped := entries(hook, "test stopped"); len(stopped) != 1 || stopped[0].Level != logrus.InfoLevel {
		t.Errorf("want one info \"test stopped\"; logs:\n%s", dump(hook))
	}
}

// TestServeCancelRequests: with CancelRequests a request's context ends with ctx, so a handler that honours
// it answers at once and Serve returns nil.
func TestServeCancelRequests(t *testing.T) {
	o, _ := testOptions(t)
	o.CancelRequests = true
	h := newBlockingHandler(t)
	s := start(t, h, o)
	answer := getAsync(s.url("/slow"))
	recv(t, h.entered, "the request to reach the handler")

	s.cancel()
	if err := recv(t, h.ctxErr, "the handler to see its context end"); !errors.Is(err, context.Canceled) {
		t.Fatalf("request context error = %v, want context.Canceled", err)
	}
	if r := recv(t, answer, "the answer"); r.err != nil || r.status != http.StatusServiceUnavailable || r.body != "cancelled" {
		t.Fatalf("answer: status %d body %q err %v, want 503 cancelled", r.status, r.body, r.err)
	}
	if err := s.wait(t); err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
}

// TestServeShutdownTimeoutClosesConnections: a request that outlasts ShutdownTimeout has its connection
// closed (the client gets no answer, the handler's context ends) and Serve returns the wrapped deadline.
func TestServeShutdownTimeoutClosesConnections(t *testing.T) {
	o, hook := testOptions(t)
	o.ShutdownTimeout = 100 * time.Millisecond
	h := newBlockingHandler(t)
	s := start(t, h, o)
	answer := getAsync(s.url("/stuck"))
	recv(t, h.entered, "the request to reach the handler")

	s.cancel()
	err := s.wait(t)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "shut down test") {
		t.Fatalf("Serve = %v, want \"shut down test\" wrapping context.DeadlineExceeded", err)
	}
	if r := recv(t, answer, "the client to see its connection closed"); r.err == nil {
		t.Fatalf("the stuck request was answered (%d %q) instead of cut off", r.status, r.body)
	}
	if err := recv(t, h.ctxErr, "the handler to see its connection closed"); err == nil {
		t.Errorf("the handler's context is still live after the forced close")
	}
	if len(entries(hook, "test stopped")) != 0 {
		t.Errorf("a forced close was logged as a clean stop; logs:\n%s", dump(hook))
	}
}

// errAcceptBroke is what failingListener's Accept returns once broken.
var errAcceptBroke = errors.New("accept broke")

// failingListener is a listener whose Accept fails for good on demand, as a dead socket would.
type failingListener struct {
	net.Listener
	broken atomic.Bool
}

func (l *failingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil && l.broken.Load() {
		return nil, errAcceptBroke
	}
	return c, err
}

func (l *failingListener) breakNow() {
	l.broken.Store(true)
	_ = l.Listener.Close()
}

// TestServeListenerFailureIsReturnedWrapped: a listener failure while ctx is live ends Serve with the
// failure wrapped, and the connections already accepted are closed rather than left without an owner.
func TestServeListenerFailureIsReturnedWrapped(t *testing.T) {
	o, _ := testOptions(t)
	h := newBlockingHandler(t)
	ln := &failingListener{Listener: listen(t)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, o) }()
	answer := getAsync("http://" + ln.Addr().String() + "/slow")
	recv(t, h.entered, "the request to reach the handler")

	ln.breakNow()
	err := recv(t, done, "Serve to return after its listener failed")
	if !errors.Is(err, errAcceptBroke) || !strings.Contains(err.Error(), "serve test") {
		t.Fatalf("Serve = %v, want \"serve test\" wrapping the accept error", err)
	}
	if r := recv(t, answer, "the client to see its connection closed"); r.err == nil {
		t.Errorf("the in-flight request was answered (%d %q) after Serve returned", r.status, r.body)
	}
	if err := recv(t, h.ctxErr, "the handler to see its connection closed"); err == nil {
		t.Errorf("the in-flight request's context is still live after Serve returned")
	}
}

// TestServeRejectsBadOptions: bad arguments give ErrInvalidOptions naming the problem, and the listener is
// closed all the same (Serve owns it).
func TestServeRejectsBadOptions(t *testing.T) {
	ok := http.NotFoundHandler()
	tests := []struct {
		name   string
		change func(*Options)
		h      http.Handler
		want   string
	}{
		{"no name", func(o *Options) { o.Name = " " }, ok, "name"},
		{"no handler", func(*Options) {}, nil, "no handler"},
		{"no read header timeout", func(o *Options) { o.ReadHeaderTimeout = 0 }, ok, "read header timeout"},
		{"no shutdown timeout", func(o *Options) { o.ShutdownTimeout = 0 }, ok, "shutdown timeout"},
		{"negative write timeout", func(o *Options) { o.WriteTimeout = -time.Second }, ok, "negative"},
		{"negative header cap", func(o *Options) { o.MaxHeaderBytes = -1 }, ok, "max header bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, _ := testOptions(t)
			tc.change(&o)
			ln := listen(t)
			err := Serve(context.Background(), ln, tc.h, o)
			if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Serve = %v, want ErrInvalidOptions mentioning %q", err, tc.want)
			}
			if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
				_ = c.Close()
				t.Errorf("the listener is still open after a refused start")
			}
		})
	}
	o, _ := testOptions(t)
	if err := Serve(context.Background(), nil, ok, o); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Serve without a listener = %v, want ErrInvalidOptions", err)
	}
}

// TestServeCutsOffSlowAndOversizeHeaders: a client that never finishes its headers (slowloris) is
// disconnected by ReadHeaderTimeout, and headers over MaxHeaderBytes get 431, while a normal request on the
// same server is answered. (The receivers' own test trickles bytes too: the header deadline is absolute.)
func TestServeCutsOffSlowAndOversizeHeaders(t *testing.T) {
	o, _ := testOptions(t)
	o.ReadHeaderTimeout = 200 * time.Millisecond
	o.ReadTimeout, o.IdleTimeout = 0, 0 // no other deadline stands in for the header timeout
	o.MaxHeaderBytes = 1 << 10
	s := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), o)

	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(testTimeout)); err != nil {
		t.Fatalf("set deadline: %v", err)
	}
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a"); err != nil {
		t.Fatalf("write: %v", err)
	}
	// The server must end the connection: reading ends with EOF or a reset, never with our own deadline.
	if _, err := io.Copy(io.Discard, conn); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a client that never finished its headers kept its connection for %s", testTimeout)
	}

	req, err := http.NewRequest(http.MethodGet, s.url("/"), nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("X-Big", strings.Repeat("b", 16<<10))
	client := &http.Client{Timeout: testTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("oversize headers: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversize headers: status %d, want 431", resp.StatusCode)
	}
	if r := recv(t, getAsync(s.url("/")), "a normal answer"); r.err != nil || r.status != http.StatusOK || r.body != "ok" {
		t.Errorf("normal request: status %d body %q err %v", r.status, r.body, r.err)
	}
}

// TestServeRoutesServerErrorsToLogger: net/http's own complaints go to the logger as "http server error".
func TestServeRoutesServerErrorsToLogger(t *testing.T) {
	o, hook := testOptions(t)
	s := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.WriteHeader(http.StatusTeapot) // superfluous: net/http logs it
	}), o)
	if r := recv(t, getAsync(s.url("/")), "the answer"); r.err != nil || r.status != http.StatusOK {
		t.Fatalf("answer: status %d err %v", r.status, r.err)
	}
	waitFor(t, "the superfluous WriteHeader to be logged", func() bool {
		for _, e := range entries(hook, "http server error") {
			if err, _ := e.Data["err"].(string); e.Level == logrus.WarnLevel && strings.Contains(err, "superfluous") {
				return true
			}
		}
		return false
	})
}
