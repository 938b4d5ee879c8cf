package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

// hookRequest is what the test webhook endpoint received.
type hookRequest struct {
	Method string
	Header http.Header
	Body   []byte
}

// hookServer is an httptest endpoint that records requests and answers with status(n) for the nth request.
func hookServer(t *testing.T, status func(n int32) int) (*httptest.Server, <-chan hookRequest, *atomic.Int32) {
	t.Helper()
	got := make(chan hookRequest, 32)
	var count atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		n := count.Add(1)
		got <- hookRequest{Method: r.Method, Header: r.Header.Clone(), Body: body}
		w.WriteHeader(status(n))
	}))
	t.Cleanup(srv.Close)
	return srv, got, &count
}

func always(code int) func(int32) int { return func(int32) int { return code } }

// newTestNotifier builds a notifier with fast retries, a private registry and a readable log.
func newTestNotifier(t *testing.T, opts Options) (*Notifier, *results, *syncBuffer, *Metrics, func(name string, labels map[string]string) float64) {
	t.Helper()
	logger, logs := newTestLogger()
	m, reg := newTestMetrics(t)
	res := newResults()
	opts.Logger = logger
	opts.Metrics = m
	opts.OnResult = res.on
	if opts.RetryInitial == 0 {
		opts.RetryInitial = time.Millisecond
		opts.RetryMax = 5 * time.Millisecond
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 3
	}
	n, err := New(opts)
	if err != nil {
		t.Fatalf("new notifier: %v", err)
	}
	metric := func(name string, labels map[string]string) float64 { return simtest.Metric(t, reg, name, labels) }
	return n, res, logs, m, metric
}

func TestWebhookDeliversSignedJSON(t *testing.T) {
	srv, got, _ := hookServer(t, always(http.StatusNoContent))
	n, res, _, _, metric := newTestNotifier(t, Options{UserAgent: "scale-subscriber/test"})
	runNotifier(t, n)

	const secret = "s3cret-hmac-key"
	cfg := ReceiverConfig{Webhook: &WebhookConfig{URL: srv.URL + "/hooks/deploy", Secret: secret,
		Headers: map[string]string{"Authorization": "Bearer tok-123"}}}
	if err := n.Notify(cfg, testMessage("x7")); err != nil {
		t.Fatalf("notify: %v", err)
	}
	req := simtest.Recv(t, got, waitTimeout, "the webhook request")

	if req.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", req.Method)
	}
	for h, want := range map[string]string{
		"Content-Type": "application/json", "Authorization": "Bearer tok-123", "User-Agent": "scale-subscriber/test",
		EventHeader: "execution.rolled-back",
	} {
		if v := req.Header.Get(h); v != want {
			t.Errorf("header %s = %q, want %q", h, v, want)
		}
	}
	// The signature, computed here independently of Sign.
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(req.Body)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); req.Header.Get(SignatureHeader) != want {
		t.Errorf("signature = %q, want %q", req.Header.Get(SignatureHeader), want)
	}
	if !VerifySignature(secret, req.Body, req.Header.Get(SignatureHeader)) {
		t.Error("VerifySignature refused our own signature")
	}
	if VerifySignature("other", req.Body, req.Header.Get(SignatureHeader)) {
		t.Error("VerifySignature accepted a signature made with another secret")
	}

	var body struct {
		Version      int    `json:"version"`
		DeliveryID   string `json:"deliveryId"`
		ExecutionID  string `json:"executionId"`
		ReceiverID   string `json:"receiverId"`
		ReceiverName string `json:"receiverName"`
		Driver       string `json:"driver"`
		State        string `json:"state"`
		Reason       string `json:"reason"`
		Image        struct{ Old, New string }
		Services     []struct {
			ID, Name, Stack, OldImage, NewImage, State string
			Millis                                     int64
		}
		Received     time.Time `json:"received"`
		Finished     time.Time `json:"finished"`
		QueuedMillis int64     `json:"queuedMillis"`
		RunMillis    int64     `json:"runMillis"`
		Steps        []struct{ Name, Detail string }
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatalf("decode body %s: %v", req.Body, err)
	}
	if body.Version != WebhookSchemaVersion || body.ExecutionID != "x7" || body.ReceiverID != "1go4" ||
		body.ReceiverName != "web-push" || body.Driver != "serviceUpgrade" || body.State != "rolled-back" ||
		body.Reason != "2 of 3 new containers unhealthy after 60s" {
		t.Errorf("envelope = %+v", body)
	}
	if body.DeliveryID == "" || body.DeliveryID != req.Header.Get(DeliveryHeader) {
		t.Errorf("deliveryId %q does not match header %q", body.DeliveryID, req.Header.Get(DeliveryHeader))
	}
	if body.Image.Old != "docker.io/library/nginx:1.14.0" || body.Image.New != "docker.io/library/nginx:1.14.1" {
		t.Errorf("image = %+v", body.Image)
	}
	if len(body.Services) != 1 || body.Services[0].ID != "1s5" || body.Services[0].Stack != "prod" ||
		body.Services[0].State != "rolled-back" || body.Services[0].Millis != 61234 {
		t.Errorf("services = %+v", body.Services)
	}
	if !body.Received.Equal(sampleTime()) || body.QueuedMillis != 12 || body.RunMillis != 61250 ||
		body.Finished.Sub(body.Received) != 61262*time.Millisecond {
		t.Errorf("durations: received %v finished %v queued %d run %d", body.Received, body.Finished,
			body.QueuedMillis, body.RunMillis)
	}
	if len(body.Steps) != 3 || body.Steps[0].Name != "upgrade started" || body.Steps[2].Name != "rolled back" {
		t.Errorf("steps = %+v", body.Steps)
	}

	r := res.next(t)
	if r.Err != nil || r.Attempts != 1 || r.Channel != ChannelWebhook || r.ExecutionID != "x7" ||
		r.DeliveryID != body.DeliveryID {
		t.Errorf("result = %+v", r)
	}
	if v := metric("scale_subscriber_notifications_total", map[string]string{"channel": "webhook", "result": "sent"}); v != 1 {
		t.Errorf("sent metric = %v, want 1", v)
	}
}

func TestWebhookBodyArraysNeverNull(t *testing.T) {
	msg := testMessage("x1")
	msg.Services, msg.Steps, msg.Image = nil, nil, ImageChange{}
	b, err := webhookJSON("d1", msg)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if string(raw["services"]) != "[]" || string(raw["steps"]) != "[]" {
		t.Errorf("services %s steps %s, want []", raw["services"], raw["steps"])
	}
	if _, ok := raw["image"]; ok {
		t.Errorf("empty image rendered: %s", raw["image"])
	}
}

func TestWebhookRetries503ThenSucceeds(t *testing.T) {
	srv, got, count := hookServer(t, func(n int32) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	n, res, logs, _, metric := newTestNotifier(t, Options{MaxAttempts: 4})
	runNotifier(t, n)

	if err := n.Notify(ReceiverConfig{Webhook: &WebhookConfig{URL: srv.URL, Secret: "k"}}, testMessage("x9")); err != nil {
		t.Fatalf("notify: %v", err)
	}
	r := res.next(t)
	if r.Err != nil || r.Attempts != 3 {
		t.Fatalf("result = %+v, want delivered on attempt 3", r)
	}
	var ids []string
	for range 3 {
		req := simtest.Recv(t, got, waitTimeout, "a webhook attempt")
		if !VerifySignature("k", req.Body, req.Header.Get(SignatureHeader)) {
			t.Error("an attempt carried an invalid signature")
		}
		ids = append(ids, req.Header.Get(DeliveryHeader))
	}
	if ids[0] == "" || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("delivery ids across retries = %v, want one id", ids)
	}
	if c := count.Load(); c != 3 {
		t.Errorf("requests = %d, want 3", c)
	}
	if v := metric("scale_subscriber_notification_retries_total", map[string]string{"channel": "webhook"}); v != 2 {
		t.Errorf("retries metric = %v, want 2", v)
	}
	if v := metric("scale_subscriber_notifications_total", map[string]string{"result": "sent"}); v != 1 {
		t.Errorf("sent metric = %v, want 1", v)
	}
	if got := logs.String(); !containsAll(got, "notification attempt failed, will retry", "503", "notification sent") {
		t.Errorf("log lacks the retry story:\n%s", got)
	}
}

func TestWebhookPermanentStatusNotRetried(t *testing.T) {
	srv, _, count := hookServer(t, always(http.StatusNotFound))
	n, res, logs, _, metric := newTestNotifier(t, Options{MaxAttempts: 4})
	runNotifier(t, n)

	if err := n.Notify(ReceiverConfig{Webhook: &WebhookConfig{URL: srv.URL}}, testMessage("x2")); err != nil {
		t.Fatalf("notify: %v", err)
	}
	r := res.next(t)
	if r.Attempts != 1 || !IsStatus(r.Err, http.StatusNotFound) {
		t.Fatalf("result = %+v, want one attempt failing with 404", r)
	}
	if c := count.Load(); c != 1 {
		t.Errorf("requests = %d, want 1", c)
	}
	if v := metric("scale_subscriber_notifications_total", map[string]string{"result": "failed"}); v != 1 {
		t.Errorf("failed metric = %v, want 1", v)
	}
	if !containsAll(logs.String(), "notification failed, giving up", "permanent=true") {
		t.Errorf("log lacks the failure:\n%s", logs.String())
	}
}

func TestWebhookRedirectNotFollowed(t *testing.T) {
	elsewhere, _, elsewhereCount := hookServer(t, always(http.StatusOK))
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	n, res, _, _, _ := newTestNotifier(t, Options{})
	runNotifier(t, n)

	if err := n.Notify(ReceiverConfig{Webhook: &WebhookConfig{URL: redirect.URL, Secret: "k"}}, testMessage("x3")); err != nil {
		t.Fatalf("notify: %v", err)
	}
	r := res.next(t)
	if r.Attempts != 1 || !IsStatus(r.Err, http.StatusTemporaryRedirect) {
		t.Fatalf("result = %+v, want one attempt failing with 307", r)
	}
	if c := elsewhereCount.Load(); c != 0 {
		t.Errorf("the redirect target got %d requests, want 0", c)
	}
}

func TestWebhookServerDownRetriedThenLogged(t *testing.T) {
	n, res, logs, _, metric := newTestNotifier(t, Options{MaxAttempts: 3})
	runNotifier(t, n)

	url := "http://" + freeClosedAddr(t) + "/hook"
	if err := n.Notify(ReceiverConfig{Webhook: &WebhookConfig{URL: url}}, testMessage("x4")); err != nil {
		t.Fatalf("notify: %v", err)
	}
	r := res.next(t)
	if r.Attempts != 3 || r.Err == nil || isPermanent(r.Err) {
		t.Fatalf("result = %+v, want 3 retryable failures", r)
	}
	if v := metric("scale_subscriber_notification_retries_total", nil); v != 2 {
		t.Errorf("retries metric = %v, want 2", v)
	}
	if !containsAll(logs.String(), "notification failed, giving up", "attempt=3", "execution_id=x4") {
		t.Errorf("log lacks the final failure:\n%s", logs.String())
	}
}

func TestBackoff(t *testing.T) {
	noJitter := func() float64 { return 0 }
	fullJitter := func() float64 { return 1 }
	plain := errors.New("boom")
	for _, tc := range []struct {
		name   string
		n      int
		err    error
		random func() float64
		want   time.Duration
	}{
		{"first", 1, plain, noJitter, time.Second},
		{"doubles", 3, plain, noJitter, 4 * time.Second},
		{"capped", 10, plain, noJitter, 30 * time.Second},
		{"jitter adds up to half", 2, plain, fullJitter, 3 * time.Second},
		{"retry-after wins when longer", 1, &retryAfterError{err: plain, after: 7 * time.Second}, noJitter, 7 * time.Second},
		{"retry-after capped", 1, &retryAfterError{err: plain, after: time.Hour}, noJitter, 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := backoff(time.Second, 30*time.Second, tc.n, tc.err, tc.random); got != tc.want {
				t.Errorf("backoff = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRetryAfterHeaderMakesRetryAfterError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	err := NewWebhookSender(nil, "").Send(t.Context(), WebhookConfig{URL: srv.URL}, "d", testMessage("x1"))
	var ra *retryAfterError
	if !errors.As(err, &ra) || ra.after != 3*time.Second || isPermanent(err) || !IsStatus(err, http.StatusTooManyRequests) {
		t.Errorf("err = %v, want a retryable 429 carrying Retry-After 3s", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !contains(s, sub) {
			return false
		}
	}
	return true
}

func contains(s, sub string) bool { return containsAny(s, sub) != "" }
