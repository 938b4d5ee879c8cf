package e2e

// No secret in logs or answers: one session that takes every path of the service — receivers created, shown,
// updated and deleted, refused writes, triggers of every driver that succeed, are refused (bad key, forged
// signature, bad body, oversize, over the rate limit) or fail (Cattle down), notifications delivered after a
// failed attempt (webhook answering 500, SMTP refusing the first AUTH), the history, the page, the metrics and
// the shutdown — with debug logging, then searches every log line and every answer for each secret: the Cattle
// access and secret keys (and their Basic auth form), every trigger key, the GHCR receiver's HMAC secret, the
// notify webhook's secret and header value, and the SMTP password.

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/config"
	"github.com/rancher/scale-subscriber/internal/simtest"
	"github.com/rancher/scale-subscriber/notify"
)

// The secrets of the session; each is distinctive, so finding it anywhere cannot be a coincidence.
const (
	secretHMAC      = "ghcr-hmac-Zq81wPx7"
	secretHook      = "hook-sign-Kd93nVb2"
	secretHookToken = "Bearer hook-token-Rt55mQa1"
	secretSMTP      = "smtp-pass-Wx27cLk9"
	smtpUser        = "scale-bot"
)

// answerLog records every answer of the service (API and health listener) the test's client received.
type answerLog struct {
	next  http.RoundTripper
	hosts map[string]bool

	mu      sync.Mutex
	answers []recordedAnswer
}

type recordedAnswer struct {
	what   string
	status int
	header http.Header
	body   []byte
}

func (l *answerLog) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil || !l.hosts[req.URL.Host] {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return resp, rerr
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answers = append(l.answers, recordedAnswer{what: req.Method + " " + req.URL.Path, status: resp.StatusCode,
		header: resp.Header.Clone(), body: body})
	return resp, nil
}

func (l *answerLog) all() []recordedAnswer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]recordedAnswer(nil), l.answers...)
}

// flakyHook is a webhook endpoint that answers 500 to the first delivery and 204 to the others.
type flakyHook struct {
	url        string
	mu         sync.Mutex
	deliveries []delivery
}

func startFlakyHook(t *testing.T) *flakyHook {
	t.Helper()
	h := &flakyHook{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.deliveries = append(h.deliveries, delivery{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body})
		first := len(h.deliveries) == 1
		h.mu.Unlock()
		if first {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

func (h *flakyHook) got() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivery(nil), h.deliveries...)
}

func TestSecretsNeverInLogsOrAnswers(t *testing.T) {
	t.Parallel()
	hook := startFlakyHook(t)
	// AUTH PLAIN required, and the first right login refused: the service's first delivery fails on AUTH (its
	// error path must not log the password) and the retry succeeds.
	ms := simtest.StartMailServer(t, simtest.MailOptions{User: smtpUser, Pass: secretSMTP, RefuseAuth: 1,
		Timeout: waitTimeout})
	h := startHardened(t, hardenOptions{level: logrus.DebugLevel, configure: func(c *config.Config) {
		c.SMTP = notify.SMTPConfig{Host: "127.0.0.1", Port: ms.Port, TLSMode: notify.TLSNone, Username: smtpUser,
			Password: secretSMTP, AllowInsecureAuth: true, From: "Scale Subscriber <scale@example.com>",
			Timeout: 5 * time.Second}
	}})
	answers := &answerLog{next: h.client.Transport, hosts: map[string]bool{
		strings.TrimPrefix(h.apiURL, "http://"): true, strings.TrimPrefix(h.healthURL, "http://"): true}}
	h.client.Transport = answers
	web := h.id("service/web")
	cred := h.cred()

	notifyJSON := `"notify":{"webhook":{"url":"` + hook.url + `/hooks","secret":"` + secretHook +
		`","headers":{"Authorization":"` + secretHookToken + `"}},"email":{"to":["ops@example.com"]}}`
	scale := h.createReceiver(`{"name":"sec-scale","driver":"scaleService","scaleServiceConfig":{"serviceId":"` + web +
		`","action":"up","amount":1,"min":1,"max":10},` + notifyJSON + `}`)
	limited := h.createReceiver(`{"name":"sec-limited","driver":"scaleService","scaleServiceConfig":{"serviceId":"` + web +
		`","action":"down","amount":1,"min":1,"max":10},"rateLimit":{"perMinute":1,"burst":1}}`)
	hello := h.createService("sec-hello", "docker:ghcr.io/codertocat/hello-world:0.9.0", 1, map[string]string{"app": "sec-hello"})
	h.waitCachedServices()
	ghcr := h.createReceiver(`{"name":"sec-ghcr","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":` +
		`{"app":"sec-hello"},"tag":"1.0.0","payloadFormat":"ghcr","secret":"` + secretHMAC + `","batchSize":1,` +
		`"intervalMillis":100},` + notifyJSON + `}`)
	fwd := h.createReceiver(`{"name":"sec-forward","driver":"forwardPost","forwardPostConfig":{"projectId":"` + projectID +
		`","serviceName":"web","port":"8080","path":"/hooks/build"}}`)
	triggerKeys := []string{}
	for _, r := range []receiver{scale, limited, ghcr, fwd} {
		triggerKeys = append(triggerKeys, triggerKey(t, r.URL))
	}

	// Management: reads, a read-only caller, refused and accepted writes.
	for _, path := range []string{"/v1-webhooks", "/v1-webhooks/schemas", "/v1-webhooks/receivers",
		"/v1-webhooks/receivers/" + scale.ID, "/v1-webhooks/receivers/" + ghcr.ID, "/v1-webhooks/ui/"} {
		h.api(http.MethodGet, path, nil)
	}
	h.must(http.MethodGet, h.apiURL+"/v1-webhooks/receivers", jsonHeader("X-API-Project-Id", projectID,
		"X-API-Roles", "readonly"), nil)
	for _, body := range []string{
		`{"name":"sec-scale","driver":"scaleService","scaleServiceConfig":{"serviceId":"` + web + `","action":"up","amount":1,"min":1,"max":10}}`,
		`{"name":"sec-bad","driver":"scaleService","scaleServiceConfig":{"serviceId":"` + web + `","action":"up","amount":1,"min":1,"max":10},"notify":{"webhook":{"url":"` + hook.url + `","secert":"` + secretHook + `"}}}`,
		`{"name":"sec-bad","driver":"scaleService","scaleServiceConfig":{"serviceId":"` + web + `","action":"up","amount":1,"min":1,"max":10},"rateLimit":{"perMinutes":5}}`,
		`{"name":"sec-bad","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":{"a":"b"},"tag":"1","secret":"` + secretHMAC + `"}}`,
		`{"name":"` + strings.Repeat("x", 2<<20) + `"}`,
	} {
		if a := h.api(http.MethodPost, "/v1-webhooks/receivers", []byte(body)); a.status < 400 {
			t.Errorf("refused create answered %s", a)
		}
	}
	if a := h.api(http.MethodPut, "/v1-webhooks/receivers/"+scale.ID,
		[]byte(`{"notify":{"webhook":{"url":"http://elsewhere.example.com/x"}}}`)); a.status != http.StatusBadRequest {
		t.Errorf("moving the webhook without its secret answered %s, want 400", a)
	}
	renamed := h.api(http.MethodPut, "/v1-webhooks/receivers/"+limited.ID, []byte(`{"name":"sec-limited-2"}`))
	if renamed.status != http.StatusOK {
		t.Fatalf("rename: %s", renamed)
	}

	// Triggers: accepted, refused and failed ones of every driver.
	if a := h.trigger(scale.URL, "", nil); a.status != http.StatusOK {
		t.Fatalf("scale trigger: %s", a)
	}
	h.trigger(limited.URL, "", nil)
	if a := h.trigger(limited.URL, "", nil); a.status != http.StatusTooManyRequests {
		t.Errorf("second trigger of a 1-a-minute receiver: %s, want 429", a)
	}
	h.must(http.MethodPost, fwd.URL+"&ref=main", jsonHeader("Authorization", "Bearer sender"), []byte(`{"ref":"main"}`))
	body := sample(t, "ghcr_published_tagged.json")
	for _, sig := range []string{"", githubSignature("guess", body), "sha1=00"} {
		if a := h.postSigned(ghcr.URL, body, sig); a.status != http.StatusUnauthorized {
			t.Errorf("forged delivery: %s, want 401", a)
		}
	}
	if a := h.postSigned(ghcr.URL, []byte(`{"action":"published"}`), githubSignature(secretHMAC, []byte(`{"action":"published"}`))); a.status != http.StatusBadRequest && a.status != http.StatusOK {
		t.Errorf("signed malformed delivery: %s", a)
	}
	if a := h.postSigned(ghcr.URL, body, githubSignature(secretHMAC, body)); a.status != http.StatusAccepted {
		t.Fatalf("genuine delivery: %s, want 202", a)
	}
	if rec := h.finalUpgrade(ghcr, hello.ID); rec.Outcome != "done" {
		t.Errorf("upgrade ended %s", rec)
	}
	base, _, _ := strings.Cut(scale.URL, "?")
	key := triggerKey(t, scale.URL)
	for _, u := range []string{
		base + "?key=" + strings.Repeat("A", 40) + "&projectId=" + projectID,
		base + "?key=" + key + "&projectId=" + otherProject,
		base + "?key=" + key,
		base + "?token=eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
	} {
		if a := h.trigger(u, "", nil); a.status < 400 {
			t.Errorf("bad trigger URL answered %s", a)
		}
	}
	if a := h.trigger(scale.URL, "application/json", bytes.Repeat([]byte("x"), 2<<20)); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize trigger: %s", a)
	}
	h.must(http.MethodGet, scale.URL, nil, nil)

	// Cattle down: a trigger gives up (503 with Cattle's errors), a create fails (500 with Cattle's error).
	h.faults(1, http.StatusServiceUnavailable, 0)
	if a := h.trigger(scale.URL, "", nil); a.status != http.StatusServiceUnavailable {
		t.Errorf("trigger while cattle is down: %s, want 503", a)
	}
	if a := h.api(http.MethodPost, "/v1-webhooks/receivers", []byte(`{"name":"sec-down","driver":"forwardPost",`+
		`"forwardPostConfig":{"projectId":"`+projectID+`","serviceName":"web","port":"80","path":"/"}}`)); a.status < 500 {
		t.Errorf("create while cattle is down: %s, want 5xx", a)
	}
	h.faults(0, 0, 0)

	// The notifications were delivered, after a failed attempt each: the secrets were used.
	eventually(t, "notifications delivered", func() (bool, string) {
		n := len(hook.got())
		return n >= 3 && ms.Delivered() >= 1, fmt.Sprintf("%d webhook deliveries, %d mails", n, ms.Delivered())
	})
	for _, d := range hook.got() {
		if d.header.Get("Authorization") != secretHookToken || !notify.VerifySignature(secretHook, d.body, d.header.Get(notify.SignatureHeader)) {
			t.Errorf("webhook delivery without the configured header or signature: %v", d.header)
		}
	}
	if ms.AuthAttempts() < 2 {
		t.Errorf("%d SMTP AUTH attempts, want a refused one and an accepted one", ms.AuthAttempts())
	}

	h.api(http.MethodGet, "/v1-webhooks/executions?limit=1000", nil)
	for _, rec := range h.executions("limit=1000") {
		h.api(http.MethodGet, "/v1-webhooks/executions/"+rec.ID, nil)
	}
	if d := h.api(http.MethodDelete, "/v1-webhooks/receivers/"+scale.ID, nil); d.status != http.StatusNoContent {
		t.Errorf("delete: %s", d)
	}
	if a := h.trigger(scale.URL, "", nil); a.status != http.StatusForbidden {
		t.Errorf("trigger of a deleted receiver: %s, want 403", a)
	}
	h.must(http.MethodGet, h.healthURL+"/metrics", nil, nil)
	h.must(http.MethodGet, h.healthURL+"/healthcheck", nil, nil)
	if err := h.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	logs := h.allLogs.String()
	recorded := answers.all()
	if !strings.Contains(logs, `"level":"debug"`) || !strings.Contains(logs, "receiver triggered") || len(recorded) < 40 {
		t.Fatalf("the session logged or answered too little to prove anything (%d bytes of logs, %d answers)",
			len(logs), len(recorded))
	}
	basic := base64.StdEncoding.EncodeToString([]byte(cred.AccessKey + ":" + cred.SecretKey))
	everywhere := map[string]string{"access key": cred.AccessKey, "secret key": cred.SecretKey,
		"basic auth": basic, "GHCR HMAC secret": secretHMAC, "notify webhook secret": secretHook,
		"notify webhook header": secretHookToken, "SMTP password": secretSMTP}
	// Trigger keys are in the receivers' URLs, which is how their users learn them: they must be in no log
	// line, no error answer and no execution record.
	for i, k := range triggerKeys {
		name := fmt.Sprintf("trigger key %d", i)
		if strings.Contains(logs, k) {
			t.Errorf("%s is in the logs", name)
		}
		for _, a := range recorded {
			if (a.status >= 400 || strings.Contains(a.what, "/executions")) && strings.Contains(string(a.body), k) {
				t.Errorf("%s is in the answer to %s (%d): %s", name, a.what, a.status, a.body)
			}
		}
	}
	for name, s := range everywhere {
		if strings.Contains(logs, s) {
			t.Errorf("%s is in the logs", name)
		}
		for _, a := range recorded {
			if strings.Contains(string(a.body), s) || strings.Contains(fmt.Sprint(a.header), s) {
				t.Errorf("%s is in the answer to %s (%d)", name, a.what, a.status)
			}
		}
	}
}
