package httpserve

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// testTimeout bounds every wait of these tests; the servers' own timeouts are far shorter.
const testTimeout = 10 * time.Second

// testOptions are valid Options with short timeouts, logging into hook.
func testOptions(t *testing.T) (Options, *logtest.Hook) {
	t.Helper()
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	return Options{
		Name:              "test",
		Logger:            logger,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       5 * time.Second,
		WriteTimeout:      5 * time.Second,
		IdleTimeout:       5 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ShutdownTimeout:   5 * time.Second,
	}, hook
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return ln
}

// server is one Serve running in the background.
type server struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
}

// start runs Serve on a fresh loopback listener. The test's cleanup stops it and fails the test if it does
// not return.
func start(t *testing.T, h http.Handler, o Options) *server {
	t.Helper()
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- Serve(ctx, ln, h, o) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(testTimeout):
			t.Errorf("Serve did not return within %s of the test's end", testTimeout)
		}
	})
	return s
}

func (s *server) url(path string) string { return "http://" + s.addr + path }

// wait returns Serve's result, failing the test if it does not come within testTimeout.
func (s *server) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(testTimeout):
		t.Fatalf("Serve did not return within %s", testTimeout)
		return nil
	}
}

// returned reports whether Serve has returned, without waiting.
func (s *server) returned() bool {
	select {
	case err := <-s.done:
		s.done <- err
		return true
	default:
		return false
	}
}

// refused reports whether a new connection to the server is refused (its listener is closed).
func (s *server) refused() bool {
	c, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return true
	}
	_ = c.Close()
	return false
}

// waitFor polls cond until it holds, failing the test after testTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", testTimeout, what)
		}
		<-tick.C
	}
}

// recv waits for one value from ch, failing the test after testTimeout.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("timed out after %s waiting for %s", testTimeout, what)
		var zero T
		return zero
	}
}

// entries returns the hook's entries with message msg.
func entries(hook *logtest.Hook, msg string) []*logrus.Entry {
	var out []*logrus.Entry
	for _, e := range hook.AllEntries() {
		if e.Message == msg {
			out = append(out, e)
		}
	}
	return out
}

// dump renders the hook's entries for failure messages.
func dump(hook *logtest.Hook) string {
	var b strings.Builder
	for _, e := range hook.AllEntries() {
		fmt.Fprintf(&b, "  %s %q %v\n", e.Level, e.Message, e.Data)
	}
	return b.String()
}

// result is the outcome of one client request made in the background.
type result struct {
	status int
	body   string
	err    error
}

// getAsync GETs url in the background.
func getAsync(url string) <-chan result {
	out := make(chan result, 1)
	go func() {
		// A fresh connection per request, closed after it: no request is retried on a reused connection, and
		// none is left open for Serve's shutdown to wait on.
		// The client's own timeout is longer than any wait of the tests, so an error they see comes from the
		// server, never from the client giving up.
		client := &http.Client{Timeout: 2 * testTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get(url)
		if err != nil {
			out <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		out <- result{status: resp.StatusCode, body: string(body), err: err}
	}()
	return out
}
