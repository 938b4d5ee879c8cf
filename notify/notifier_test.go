package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

func TestNotifyNeverBlocksAndDropsTheOldest(t *testing.T) {
	srv, got, _ := hookServer(t, always(http.StatusOK))
	n, res, logs, _, metric := newTestNotifier(t, Options{QueueSize: 3, Workers: 1})
	cfg := ReceiverConfig{Webhook: &WebhookConfig{URL: srv.URL}}

	// Nothing runs yet: five notifications into a queue of three must all return at once, dropping x1, x2.
	for _, id := range []string{"x1", "x2", "x3", "x4", "x5"} {
		if err := n.Notify(cfg, testMessage(id)); err != nil {
			t.Fatalf("notify %s: %v", id, err)
		}
	}
	if v := metric("scale_subscriber_notifications_dropped_total", map[string]string{"reason": "queue_full", "channel": "webhook"}); v != 2 {
		t.Errorf("dropped metric = %v, want 2", v)
	}
	if v := metric("scale_subscriber_notification_queue_length", nil); v != 3 {
		t.Errorf("queue length = %v, want 3", v)
	}
	for _, id := range []string{"x1", "x2"} {
		if !containsAll(logs.String(), "dropped the oldest notification", "execution_id="+id) {
			t.Errorf("no drop line for %s:\n%s", id, logs.String())
		}
	}

	runNotifier(t, n)
	var order []string
	for range 3 {
		r := res.next(t)
		if r.Err != nil {
			t.Fatalf("result = %+v", r)
		}
		order = append(order, r.ExecutionID)
		simtest.Recv(t, got, waitTimeout, "a webhook request")
	}
	if strings.Join(order, ",") != "x3,x4,x5" {
		t.Errorf("delivered %v, want the newest three in order", order)
	}
	eventually(t, func() bool { return metric("scale_subscriber_notification_queue_length", nil) == 0 }, "queue empties")
}

func TestNotifyRefusesBadInputAndQueuesNothing(t *testing.T) {
	n, _, _, _, metric := newTestNotifier(t, Options{})
	good := ReceiverConfig{Webhook: &WebhookConfig{URL: "https://hooks.example.com/x"}}
	noState := testMessage("x1")
	noState.State = "done"
	noID := testMessage("")
	for _, tc := range []struct {
		name string
		cfg  ReceiverConfig
		msg  Message
		want string
	}{
		{"unknown state", good, noState, `state "done" is not a final state`},
		{"no execution id", good, noID, "executionId is required"},
		{"bad url", ReceiverConfig{Webhook: &WebhookConfig{URL: "ftp://x"}}, testMessage("x1"), "must be http or https"},
		{"email without smtp", ReceiverConfig{Email: &EmailConfig{To: []string{"a@example.com"}}}, testMessage("x1"), "no SMTP server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := n.Notify(tc.cfg, tc.msg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
	if v := metric("scale_subscriber_notification_queue_length", nil); v != 0 {
		t.Errorf("queue length = %v, want nothing queued", v)
	}
	if len(n.q.takeAll()) != 0 {
		t.Error("a refused notification was queued")
	}
}

func TestNotifyHonoursStates(t *testing.T) {
	srv, got, _ := hookServer(t, always(http.StatusOK))
	n, res, _, _, _ := newTestNotifier(t, Options{Workers: 1})
	cfg := ReceiverConfig{Webhook: &WebhookConfig{URL: srv.URL}, States: []State{StateRolledBack, StateFailed}}

	finished := testMessage("x1")
	finished.State = StateFinished
	if err := n.Notify(cfg, finished); err != nil {
		t.Fatalf("notify: %v", err)
	}
	if err := n.Notify(cfg, testMessage("x2")); err != nil {
		t.Fatalf("notify: %v", err)
	}
	runNotifier(t, n)
	if r := res.next(t); r.ExecutionID != "x2" || r.Err != nil {
		t.Errorf("first result = %+v, want the rolled-back x2 (finished x1 is not wanted)", r)
	}
	simtest.Recv(t, got, waitTimeout, "the webhook request")
	if len(n.q.takeAll()) != 0 {
		t.Error("the unwanted notification is still queued")
	}
}

func TestRunDrainsTheQueueWhenCancelled(t *testing.T) {
	srv, _, count := hookServer(t, always(http.StatusOK))
	// A drain timeout far beyond the test's waits: Run must return because the queue is empty, not because
	// the drain gave up.
	n, res, _, _, _ := newTestNotifier(t, Options{Workers: 2, DrainTimeout: time.Hour})
	cfg := ReceiverConfig{Webhook: &WebhookConfig{URL: srv.URL}}
	for _, id := range []string{"x1", "x2", "x3"} {
		if err := n.Notify(cfg, testMessage(id)); err != nil {
			t.Fatalf("notify: %v", err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	// Cancelled before it starts: Run still delivers what is queued, then returns.
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	if err := simtest.Recv(t, done, waitTimeout, "run to return once the queue is drained"); err != nil {
		t.Fatalf("run: %v", err)
	}
	if c := count.Load(); c != 3 {
		t.Errorf("delivered %d during the drain, want 3", c)
	}
	for range 3 {
		if r := res.next(t); r.Err != nil {
			t.Errorf("result = %+v", r)
		}
	}
	err := n.Notify(cfg, testMessage("x4"))
	if !errors.Is(err, ErrStopped) {
		t.Errorf("notify after run = %v, want ErrStopped", err)
	}
	if err := n.Run(t.Context()); err == nil {
		t.Error("a second run was accepted")
	}
}

func TestRunAbandonsWhatTheDrainCannotFinish(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 8)
	srv := newBlockingHookServer(t, arrived, release)
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock) // runs before the server's Close even when the test fails early
	n, res, logs, _, metric := newTestNotifier(t, Options{Workers: 1, DrainTimeout: 20 * time.Millisecond})
	cfg := ReceiverConfig{Webhook: &WebhookConfig{URL: srv.URL}}
	for _, id := range []string{"x1", "x2"} {
		if err := n.Notify(cfg, testMessage(id)); err != nil {
			t.Fatalf("notify: %v", err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	simtest.Recv(t, arrived, waitTimeout, "x1 to reach the endpoint")
	cancel()
	if err := simtest.Recv(t, done, waitTimeout, "run to return after the drain timeout"); err != nil {
		t.Fatalf("run: %v", err)
	}
	unblock()

	byID := map[string]Result{}
	for range 2 {
		r := res.next(t)
		byID[r.ExecutionID] = r
	}
	if r := byID["x1"]; !errors.Is(r.Err, ErrAbandoned) || r.Attempts != 1 {
		t.Errorf("in-flight x1 = %+v, want abandoned after 1 attempt", r)
	}
	if r := byID["x2"]; !errors.Is(r.Err, ErrAbandoned) || r.Attempts != 0 {
		t.Errorf("queued x2 = %+v, want abandoned without an attempt", r)
	}
	if v := metric("scale_subscriber_notifications_total", map[string]string{"result": "abandoned"}); v != 2 {
		t.Errorf("abandoned metric = %v, want 2", v)
	}
	if !containsAll(logs.String(), "notification drain timed out", "abandoned at shutdown, never attempted", "execution_id=x2") {
		t.Errorf("log does not tell the abandonment:\n%s", logs.String())
	}
}

// newBlockingHookServer answers only when release is closed, signalling each arrival.
func newBlockingHookServer(t *testing.T, arrived chan<- struct{}, release <-chan struct{}) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSecretsNeverLogged(t *testing.T) {
	const (
		hmacSecret  = "hmac-secret-aaa"
		headerValue = "Bearer header-token-bbb"
		urlPass     = "url-password-ccc"
		pathToken   = "path-token-ddd"
		queryToken  = "query-token-eee"
		smtpPass    = "smtp-password-fff"
	)
	pki := newTestPKI(t)
	ms := startMailServer(t, mailServerOptions{mode: TLSStartTLS, tls: pki.server, user: "mailer", pass: "the-right-one"})
	smtpCfg := ms.config(TLSStartTLS, pki.caPEM)
	smtpCfg.Password = smtpPass
	srv, _, _ := hookServer(t, always(http.StatusBadGateway))
	n, res, logs, _, _ := newTestNotifier(t, Options{SMTP: &smtpCfg, MaxAttempts: 2})
	runNotifier(t, n)

	host := strings.TrimPrefix(srv.URL, "http://")
	for _, url := range []string{
		// An endpoint that answers 502, and one that is not there (net/http's error would print the URL).
		"http://user:" + urlPass + "@" + host + "/hooks/" + pathToken + "?token=" + queryToken,
		"http://user:" + urlPass + "@" + freeClosedAddr(t) + "/hooks/" + pathToken + "?token=" + queryToken,
	} {
		cfg := ReceiverConfig{
			Webhook: &WebhookConfig{URL: url, Secret: hmacSecret, Headers: map[string]string{"Authorization": headerValue}},
			Email:   &EmailConfig{To: []string{"ops@example.com"}},
		}
		if err := n.Notify(cfg, testMessage("x31")); err != nil {
			t.Fatalf("notify: %v", err)
		}
		for range 2 {
			if r := res.next(t); r.Err == nil {
				t.Errorf("result = %+v, want a failure", r)
			} else if leaked := containsAny(r.Err.Error(), hmacSecret, headerValue, urlPass, pathToken, queryToken, smtpPass); leaked != "" {
				t.Errorf("result error leaks %q: %v", leaked, r.Err)
			}
		}
	}
	out := logs.String()
	if !containsAll(out, "notification failed, giving up", "channel=webhook", "channel=email", "502", "connection refused") {
		t.Fatalf("log lacks the failures this test is about:\n%s", out)
	}
	if leaked := containsAny(out, hmacSecret, headerValue, urlPass, pathToken, queryToken, smtpPass); leaked != "" {
		t.Errorf("log leaks %q:\n%s", leaked, out)
	}
	// An accidental %v or %+v of a config in someone's log line must not leak either.
	hook := WebhookConfig{URL: "https://u:" + urlPass + "@h/" + pathToken, Secret: hmacSecret,
		Headers: map[string]string{"Authorization": headerValue}}
	for _, s := range []string{fmt.Sprintf("%v", smtpCfg), fmt.Sprintf("%+v", &smtpCfg), fmt.Sprintf("%v", hook),
		fmt.Sprintf("%+v", &hook), fmt.Sprint(ReceiverConfig{Webhook: &hook})} {
		if leaked := containsAny(s, hmacSecret, headerValue, urlPass, pathToken, smtpPass); leaked != "" {
			t.Errorf("formatting leaks %q: %s", leaked, s)
		}
	}
}

// panickingTransport stands for a sender bug.
type panickingTransport struct{}

func (panickingTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("transport bug") }

func TestSenderPanicFailsTheNotificationNotTheProcess(t *testing.T) {
	n, res, logs, _, metric := newTestNotifier(t, Options{HTTPClient: &http.Client{Transport: panickingTransport{}}, Workers: 1})
	runNotifier(t, n)

	if err := n.Notify(ReceiverConfig{Webhook: &WebhookConfig{URL: "http://hooks.example.com/x"}}, testMessage("x43")); err != nil {
		t.Fatalf("notify: %v", err)
	}
	if r := res.next(t); r.Err == nil || !strings.Contains(r.Err.Error(), "transport bug") || r.Attempts != 1 {
		t.Fatalf("result = %+v, want a failure naming the panic", r)
	}
	if v := metric("scale_subscriber_notifications_total", map[string]string{"result": "failed"}); v != 1 {
		t.Errorf("failed metric = %v, want 1", v)
	}
	if !strings.Contains(logs.String(), "notification sender panicked") {
		t.Errorf("log lacks the panic:\n%s", logs.String())
	}
	// The worker survived: the next notification is still taken.
	if err := n.Notify(ReceiverConfig{Webhook: &WebhookConfig{URL: "http://hooks.example.com/x"}}, testMessage("x44")); err != nil {
		t.Fatalf("notify: %v", err)
	}
	if r := res.next(t); r.ExecutionID != "x44" {
		t.Errorf("result = %+v, want x44 handled after the panic", r)
	}
}
