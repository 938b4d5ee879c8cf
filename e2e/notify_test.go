package e2e

// Outcome notifications, through real HTTP on cattlesim: a receiver's notify config sends a signed JSON
// webhook to a test HTTP server and an e-mail to a real SMTP server in the test (github.com/emersion/go-smtp,
// the library notify's client is built on, on 127.0.0.1:0), when an upgrade ends. The delivery is recorded as
// a step of the execution.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/config"
	"github.com/rancher/scale-subscriber/internal/simtest"
	"github.com/rancher/scale-subscriber/notify"
)

const (
	hookSecret = "e2e-hook-secret"
	hookBearer = "Bearer e2e-hook-token"
)

// delivery is one request the webhook server received.
type delivery struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// hookBody is the webhook's JSON body (notify's schema) as the tests read it.
type hookBody struct {
	Version      int    `json:"version"`
	DeliveryID   string `json:"deliveryId"`
	ExecutionID  string `json:"executionId"`
	ReceiverID   string `json:"receiverId"`
	ReceiverName string `json:"receiverName"`
	ProjectID    string `json:"projectId"`
	Driver       string `json:"driver"`
	State        string `json:"state"`
	Reason       string `json:"reason"`
	Input        string `json:"input"`
	Image        struct {
		Old string `json:"old"`
		New string `json:"new"`
	} `json:"image"`
	Services []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		OldImage string `json:"oldImage"`
		NewImage string `json:"newImage"`
		State    string `json:"state"`
	} `json:"services"`
	Received  time.Time `json:"received"`
	Finished  time.Time `json:"finished"`
	RunMillis int64     `json:"runMillis"`
	Steps     []struct {
		Name string `json:"name"`
	} `json:"steps"`
}

// hookServer is an httptest server that records every request and answers status.
type hookServer struct {
	url string
	got chan delivery
}

func startHookServer(t *testing.T, status int) *hookServer {
	t.Helper()
	h := &hookServer{got: make(chan delivery, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		select {
		case h.got <- delivery{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(), body: body}:
			w.WriteHeader(status)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// next waits for the next delivery.
func (h *hookServer) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-h.got:
		return d
	case <-time.After(waitTimeout):
		t.Fatalf("no webhook delivery within %s", waitTimeout)
		return delivery{}
	}
}

// decode checks the delivery is a signed notification (secret) and returns its body.
func (d delivery) decode(t *testing.T, secret string) hookBody {
	t.Helper()
	if d.method != http.MethodPost || d.header.Get("Content-Type") != "application/json" {
		t.Errorf("webhook request %s with Content-Type %q, want a JSON POST", d.method, d.header.Get("Content-Type"))
	}
	sig := d.header.Get(notify.SignatureHeader)
	if !notify.VerifySignature(secret, d.body, sig) || notify.VerifySignature(secret+"x", d.body, sig) {
		t.Errorf("signature %q does not verify the body under the receiver's secret (and only under it)", sig)
	}
	var b hookBody
	if err := json.Unmarshal(d.body, &b); err != nil {
		t.Fatalf("decode webhook body: %v: %s", err, d.body)
	}
	if b.Version != notify.WebhookSchemaVersion || b.DeliveryID == "" || d.header.Get(notify.DeliveryHeader) != b.DeliveryID ||
		d.header.Get(notify.EventHeader) != "execution."+b.State {
		t.Errorf("envelope: version %d, deliveryId %q, headers %v", b.Version, b.DeliveryID, d.header)
	}
	return b
}

// mailConfig is the service's SMTP configuration for a test mail server: plain SMTP on loopback, no AUTH
// (notify's own tests cover STARTTLS, implicit TLS, a custom CA and AUTH against the same server library).
func mailConfig(ms *simtest.MailServer) notify.SMTPConfig {
	return notify.SMTPConfig{Host: ms.Host, Port: ms.Port, TLSMode: notify.TLSNone,
		From: "Scale Subscriber <scale@example.com>", Timeout: 5 * time.Second}
}

// parsedMail is an e-mail's decoded subject and text body.
type parsedMail struct {
	header  mail.Header
	subject string
	body    string
}

// parse decodes an RFC 5322 message with a quoted-printable (or plain) text/plain body.
func parseMail(t *testing.T, m simtest.Mail) parsedMail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("parse e-mail: %v\n%s", err, m.Data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject %q: %v", msg.Header.Get("Subject"), err)
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(msg.Body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read e-mail body: %v", err)
	}
	return parsedMail{header: msg.Header, subject: subject, body: strings.ReplaceAll(string(text), "\r\n", "\n")}
}

// startNotifying runs cattlesim and the service with e-mail through smtp (nil: webhooks only) until the test
// ends, and waits until the service is healthy.
func startNotifying(t *testing.T, smtpCfg *notify.SMTPConfig) *env {
	t.Helper()
	e := &env{t: t, logs: &logBuffer{}}
	e.client = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(e.client.CloseIdleConnections)
	e.startSim()
	e.launchService(func(cfg *config.Config) {
		if smtpCfg != nil {
			cfg.SMTP = *smtpCfg
		}
	})
	e.waitHealthy()
	return e
}

// notifyMember is a receiver's notify member: a signed webhook to hook with an Authorization header (and
// a token in its query), plus e-mail to ops@example.com when email is set.
func notifyMember(hook *hookServer, email bool) string {
	m := `"notify":{"webhook":{"url":"` + hook.url + `/hooks/scale?token=q1","secret":"` + hookSecret +
		`","headers":{"Authorization":"` + hookBearer + `"}}`
	if email {
		m += `,"email":{"to":["ops@example.com"]}`
	}
	return m + "}"
}

// waitStep waits until execution id has a step containing s.
func (e *env) waitStep(id, s string) upgradeRecord {
	e.t.Helper()
	var rec upgradeRecord
	eventually(e.t, "step "+s+" of "+id, func() (bool, string) {
		rec = e.upgradeRecord(id)
		return rec.step(s) >= 0, rec.String()
	})
	return rec
}

// An upgrade whose new containers stay unhealthy is rolled back, and that is notified: the test webhook server
// receives a signed JSON POST saying rolled-back, why, old → new image and the service, with the configured
// header and query; the test SMTP server receives an e-mail saying the same; both deliveries are steps of the
// execution.
func TestUnhealthyUpgradeRolledBackAndNotified(t *testing.T) {
	t.Parallel()
	hook := startHookServer(t, http.StatusNoContent)
	ms := simtest.StartMailServer(t, simtest.MailOptions{Timeout: waitTimeout})
	smtpCfg := mailConfig(ms)
	e := startNotifying(t, &smtpCfg)
	web := e.id("service/web")
	e.healthRule("docker:nginx:1.14", "unhealthy")
	r := e.createReceiver(`{"name":"web-notify","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":` +
		`{"app":"web"},"tag":"1.14","batchSize":1,"intervalMillis":100,"unhealthyGraceSeconds":1},` +
		notifyMember(hook, true) + `}`)

	if a := e.trigger(r.URL, "application/json", pushOf("1.14")); a.status != http.StatusAccepted {
		t.Fatalf("push: %s, want 202", a)
	}
	rec := e.finalUpgrade(r, web)
	if rec.Outcome != "rolled-back" {
		t.Fatalf("upgrade ended %s, want rolled-back", rec)
	}
	if s := e.service(web); !settled(s) || s.LaunchConfig.ImageUUID != "docker:nginx:1.13" {
		t.Errorf("web ends %s on %s, want active on the old docker:nginx:1.13", s.State, s.LaunchConfig.ImageUUID)
	}

	d := hook.next(t)
	b := d.decode(t, hookSecret)
	if d.path != "/hooks/scale" || d.query != "token=q1" || d.header.Get("Authorization") != hookBearer {
		t.Errorf("webhook request to %s?%s with Authorization %q, want the configured URL and header", d.path, d.query,
			d.header.Get("Authorization"))
	}
	switch {
	case b.State != "rolled-back" || !strings.Contains(b.Reason, "unhealthy for 1s"):
		t.Errorf("webhook state %q reason %q, want rolled-back because unhealthy for 1s", b.State, b.Reason)
	case b.ExecutionID != rec.ID || b.ReceiverID != r.ID || b.ReceiverName != "web-notify" || b.Driver != "serviceUpgrade" ||
		b.ProjectID != projectID:
		t.Errorf("webhook names execution %s of %s/%s (%s, %s), want %s of %s/web-notify", b.ExecutionID, b.ReceiverID,
			b.ReceiverName, b.Driver, b.ProjectID, rec.ID, r.ID)
	case b.Image.Old != "nginx:1.13" || b.Image.New != "nginx:1.14":
		t.Errorf("webhook image %+v, want nginx:1.13 → nginx:1.14", b.Image)
	case len(b.Services) != 1 || b.Services[0].ID != web || b.Services[0].Name != "web" || b.Services[0].State != "rolled-back" ||
		b.Services[0].OldImage != "nginx:1.13" || b.Services[0].NewImage != "nginx:1.14":
		t.Errorf("webhook services %+v, want web (%s) rolled back from nginx:1.14 to nginx:1.13", b.Services, web)
	case b.RunMillis <= 0 || b.Finished.Before(b.Received) || !slices.ContainsFunc(b.Steps, func(s struct {
		Name string `json:"name"`
	}) bool {
		return strings.HasPrefix(s.Name, "rolled back:")
	}):
		t.Errorf("webhook durations or steps: run %d ms, received %v, finished %v, steps %+v", b.RunMillis, b.Received,
			b.Finished, b.Steps)
	}

	m := ms.Next(t)
	if m.From != "scale@example.com" || !slices.Equal(m.To, []string{"ops@example.com"}) {
		t.Errorf("e-mail envelope from %q to %v, want scale@example.com to ops@example.com", m.From, m.To)
	}
	pm := parseMail(t, m)
	if want := "[scale-subscriber] web-notify: rolled back nginx:1.14"; pm.subject != want {
		t.Errorf("e-mail subject %q, want %q", pm.subject, want)
	}
	for _, want := range []string{
		"Receiver web-notify (" + r.ID + ", serviceUpgrade): rolled back.",
		"Reason: " + b.Reason + "\n",
		"Image: nginx:1.13 -> nginx:1.14",
		"web (" + web + "): rolled back, nginx:1.13 -> nginx:1.14",
		"Execution: " + rec.ID,
	} {
		if !strings.Contains(pm.body, want) {
			t.Errorf("e-mail body lacks %q:\n%s", want, pm.body)
		}
	}
	if strings.Contains(string(m.Data), hookSecret) || strings.Contains(string(m.Data), hookBearer) {
		t.Error("the e-mail contains the webhook's secret or header")
	}

	e.waitStep(rec.ID, "notified webhook")
	e.waitStep(rec.ID, "notified email")
	if logs := e.logs.String(); strings.Contains(logs, hookSecret) || strings.Contains(logs, hookBearer) || strings.Contains(logs, "token=q1") {
		t.Error("the service logged the webhook's secret, header or URL token")
	}
}

// A healthy upgrade is notified "finished" (no reason) with old → new image. Before it, a registry event that
// is no push (a pull) is not notified, a push of a tag the receiver refuses is notified "ignored" with the
// reason, and the push trigger's own record ("accepted") is not notified: the deliveries are exactly the
// refused push's, then the upgrade's. (Each is queued seconds before the next, so they arrive in order.)
func TestHealthyUpgradeNotifiesFinished(t *testing.T) {
	t.Parallel()
	hook := startHookServer(t, http.StatusOK)
	e := startNotifying(t, nil)
	web := e.id("service/web")
	r := e.createReceiver(`{"name":"web-finished","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":` +
		`{"app":"web"},"tag":"1.14","payloadFormat":"auto","batchSize":1,"intervalMillis":100},` + notifyMember(hook, false) + `}`)

	pull := `{"events":[{"id":"e1","timestamp":"2026-11-30T08:00:00Z","action":"pull","target":{"mediaType":` +
		`"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:0f3e4c1b","size":7023,"length":7023,` +
		`"repository":"library/nginx","url":"https://registry-1.docker.io/v2/library/nginx/manifests/sha256:0f3e4c1b",` +
		`"tag":"1.14"},"request":{"id":"r1","addr":"10.0.0.9:5000","host":"registry-1.docker.io","method":"GET",` +
		`"useragent":"docker/24.0"},"actor":{},"source":{"addr":"registry:5000","instanceID":"i1"}}]}`
	for _, p := range []struct {
		what, ctype, body string
	}{
		{"pull", "application/vnd.docker.distribution.events.v1+json", pull},
		{"refused tag 1.15", "application/json", string(pushOf("1.15"))},
	} {
		a := e.trigger(r.URL, p.ctype, []byte(p.body))
		if rep := decodeReply(t, a); a.status != http.StatusOK || rep.Result != "none" {
			t.Fatalf("%s: %s, want 200 none", p.what, a)
		}
	}
	if b := hook.next(t).decode(t, hookSecret); b.State != "ignored" || !strings.Contains(b.Reason, `"1.15" is not the configured tag "1.14"`) ||
		len(b.Services) != 0 {
		t.Errorf("first delivery %+v, want the refused push of 1.15, ignored with the reason (the pull is not notified)", b)
	}

	if a := e.trigger(r.URL, "application/json", pushOf("1.14")); a.status != http.StatusAccepted {
		t.Fatalf("push: %s, want 202", a)
	}
	rec := e.finalUpgrade(r, web)
	if rec.Outcome != "done" {
		t.Fatalf("upgrade ended %s, want done", rec)
	}
	b := hook.next(t).decode(t, hookSecret)
	if b.State != "finished" || b.Reason != "" || b.ExecutionID != rec.ID || b.Image.Old != "nginx:1.13" ||
		b.Image.New != "nginx:1.14" || len(b.Services) != 1 || b.Services[0].ID != web || b.Services[0].State != "finished" {
		t.Errorf("webhook %+v, want execution %s finished, nginx:1.13 → nginx:1.14 on %s", b, rec.ID, web)
	}
	e.waitStep(rec.ID, "notified webhook")
}

// A receiver updated while its upgrade runs (an update stores a new genericObject: the id changes, the key
// stays) is notified with the config it has when the upgrade ends: here notify is added mid-upgrade. A webhook
// that refuses the notification (400, not retried) is recorded as a failed step and changes nothing else.
func TestNotifyFollowsReceiverUpdatedMidUpgrade(t *testing.T) {
	t.Parallel()
	hook := startHookServer(t, http.StatusBadRequest)
	e := startNotifying(t, nil)
	web := e.id("service/web")
	r := e.safeReceiver("web-late", `,"tag":"1.14"`)
	e.stall(web, true)
	if a := e.trigger(r.URL, "application/json", pushOf("1.14")); a.status != http.StatusAccepted {
		t.Fatalf("push: %s, want 202", a)
	}
	e.waitService(web, "web upgrading", func(s serviceView) bool { return s.State == "upgrading" })
	a := e.api(http.MethodPut, "/v1-webhooks/receivers/"+r.ID, []byte(`{`+notifyMember(hook, false)+`}`))
	if a.status != http.StatusOK {
		t.Fatalf("add notify: %s", a)
	}
	var updated receiver
	if err := json.Unmarshal(a.body, &updated); err != nil || updated.ID == r.ID {
		t.Fatalf("update answered %s (%v), want a receiver with a new id", a, err)
	}
	e.stall(web, false)
	rec := e.finalUpgrade(r, web)
	if rec.Outcome != "done" {
		t.Fatalf("upgrade ended %s, want done", rec)
	}
	if b := hook.next(t).decode(t, hookSecret); b.State != "finished" || b.ExecutionID != rec.ID {
		t.Errorf("webhook %+v, want execution %s finished", b, rec.ID)
	}
	got := e.waitStep(rec.ID, "webhook notification failed after 1 attempt")
	if got.Outcome != "done" || got.step(fmt.Sprintf("answered %d", http.StatusBadRequest)) < 0 {
		t.Errorf("record %s, want done with the refused notification recorded", got)
	}
}
