package notify

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// silentServer accepts TCP connections and never says a word: an SMTP server that hangs.
func silentServer(t *testing.T) (string, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return splitHostPort(t, l.Addr().String())
}

func TestEmailHungServerIsBoundedByTheTimeout(t *testing.T) {
	host, port := silentServer(t)
	cfg := SMTPConfig{Host: host, Port: port, TLSMode: TLSNone, From: "scale@example.com", Timeout: 100 * time.Millisecond}
	n, res, logs, _, _ := newTestNotifier(t, Options{SMTP: &cfg, MaxAttempts: 2})
	runNotifier(t, n)

	if err := n.Notify(ReceiverConfig{Email: &EmailConfig{To: []string{"ops@example.com"}}}, testMessage("x41")); err != nil {
		t.Fatalf("notify: %v", err)
	}
	r := res.next(t)
	// Either the context's deadline or the command timeout derived from it (the same instant) cuts it off.
	timedOut := errors.Is(r.Err, context.DeadlineExceeded) || errors.Is(r.Err, os.ErrDeadlineExceeded)
	if r.Attempts != 2 || !timedOut || isPermanent(r.Err) {
		t.Fatalf("result = %+v, want two attempts cut off by the deadline", r)
	}
	if !strings.Contains(logs.String(), "notification failed, giving up") {
		t.Errorf("log lacks the failure:\n%s", logs.String())
	}
}

func TestWebhookHungEndpointIsBoundedByTheTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	// TimeoutSeconds is whole seconds; 1 is the shortest a receiver can ask for.
	err := NewWebhookSender(nil, "").Send(t.Context(), WebhookConfig{URL: srv.URL, TimeoutSeconds: 1}, "d", testMessage("x42"))
	if !errors.Is(err, context.DeadlineExceeded) || isPermanent(err) {
		t.Errorf("err = %v, want a retryable deadline", err)
	}
}
