package receivers

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/notify"
)

// Secrets of the notify configs below; none may ever be rendered, logged or repeated in an error.
const (
	notifySecret = "hook-secret-5d1c9e"
	notifyBearer = "Bearer tok-8b2f77"
	notifyToken  = "urltoken-41aa"
)

// withNotifier gives the API a real notifier; with smtp it can deliver e-mail (to a server nobody dials here).
func withNotifier(t *testing.T, smtp bool) func(*Options) {
	return func(o *Options) {
		opts := notify.Options{}
		if smtp {
			opts.SMTP = &notify.SMTPConfig{Host: "127.0.0.1", Port: 2525, TLSMode: notify.TLSNone, From: "scale@example.com"}
		}
		n, err := notify.New(opts)
		if err != nil {
			t.Fatalf("notifier: %v", err)
		}
		o.Notify = n
	}
}

// notifyMember is a full notify config with every secret.
const notifyMember = `"notify":{"webhook":{"url":"https://hooks.example.com/x?token=` + notifyToken + `","secret":"` +
	notifySecret + `","headers":{"Authorization":"` + notifyBearer + `","X-Team":"ops"},"timeoutSeconds":5},` +
	`"email":{"to":["ops@example.com"],"subject":"{{.ReceiverName}} {{.StateText}}"},"states":["rolled-back","failed"]}`

// liveResourceData returns the resourceData of the live receiver genericObjects in cattlesim.
func (e *env) liveResourceData() []map[string]json.RawMessage {
	e.t.Helper()
	var out []map[string]json.RawMessage
	for _, o := range e.genericObjects() {
		if o.State == "removed" || o.State == "removing" || o.Removed != "" {
			continue
		}
		out = append(out, o.ResourceData)
	}
	return out
}

// storedNotify decodes the notify member of the one live receiver (nil when it has none).
func (e *env) storedNotify() *notify.ReceiverConfig {
	e.t.Helper()
	live := e.liveResourceData()
	if len(live) != 1 {
		e.t.Fatalf("%d live genericObjects, want 1", len(live))
	}
	raw, ok := live[0]["notify"]
	if !ok {
		return nil
	}
	var c notify.ReceiverConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		e.t.Fatalf("decode stored notify %s: %v", raw, err)
	}
	return &c
}

// TestNotifyStoredAndRenderedWithoutSecrets: a receiver of any driver takes a notify member; it is validated,
// stored whole in resourceData.notify (beside the driver's config, which is unchanged), rendered without the
// webhook's secret and header values (secretSet, headerNames), to read-only callers without the URL's path and
// query, handed to the executor whole, and never logged.
func TestNotifyStoredAndRenderedWithoutSecrets(t *testing.T) {
	e := newEnv(t, withNotifier(t, true))
	body := strings.TrimSuffix(e.scaleWebBody("scale-notify"), "}") + "," + notifyMember + "}"
	rec := e.create(body)
	id := str(rec, "id")

	want := map[string]any{
		"webhook": map[string]any{"url": "https://hooks.example.com/x?token=" + notifyToken, "secretSet": true,
			"headerNames": []any{"Authorization", "X-Team"}, "timeoutSeconds": 5.0},
		"email":  map[string]any{"to": []any{"ops@example.com"}, "subject": "{{.ReceiverName}} {{.StateText}}"},
		"states": []any{"rolled-back", "failed"},
	}
	list := e.get("/v1-webhooks/receivers").json(t)
	data, _ := list["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("list has %d receivers, want 1: %v", len(data), list)
	}
	listed, _ := data[0].(map[string]any)
	for name, got := range map[string]map[string]any{
		"create answer": rec,
		"get":           e.get("/v1-webhooks/receivers/" + id).json(t),
		"list":          listed,
	} {
		if !equalJSON(got["notify"], want) {
			b, _ := json.Marshal(got["notify"])
			t.Errorf("%s renders notify %s, want %v", name, b, want)
		}
		if cfg := obj(got, "scaleServiceConfig"); cfg["serviceId"] == nil || cfg["notify"] != nil {
			t.Errorf("%s: scaleServiceConfig %v, want the driver config unchanged", name, cfg)
		}
	}

	if f := obj(obj(e.get("/v1-webhooks/schemas/receiver").json(t), "resourceFields"), "notify"); f["create"] != true || f["update"] != true {
		t.Errorf("receiver schema notify field %v, want writable", f)
	}

	ro := e.do(request{method: http.MethodGet, path: "/v1-webhooks/receivers/" + id + "?projectId=1a5",
		headers: map[string]string{"X-API-Roles": "readonly"}}).json(t)
	if u := str(obj(obj(ro, "notify"), "webhook"), "url"); u != "https://hooks.example.com" {
		t.Errorf("read-only caller sees webhook url %q, want only https://hooks.example.com", u)
	}

	stored := e.storedNotify()
	if stored == nil || stored.Webhook == nil || stored.Webhook.Secret != notifySecret ||
		stored.Webhook.Headers["Authorization"] != notifyBearer || stored.Email == nil || len(stored.States) != 2 {
		t.Fatalf("stored notify %v, want the whole config with its secrets", stored)
	}
	var storedConfig map[string]any
	if err := json.Unmarshal(e.liveResourceData()[0]["config"], &storedConfig); err != nil {
		t.Fatalf("decode stored config: %v", err)
	}
	if storedConfig["notify"] != nil || storedConfig["serviceId"] == nil {
		t.Errorf("stored config %v, want the driver's config alone", storedConfig)
	}

	if tr := e.trigger(str(rec, "url"), `{}`); tr.status != http.StatusOK {
		t.Fatalf("trigger: %d %s", tr.status, tr.body)
	}
	all := e.exec.all()
	got := all[len(all)-1].Receiver.Notify
	if got == nil || got.Webhook == nil || got.Webhook.Secret != notifySecret || got.Webhook.Headers["X-Team"] != "ops" ||
		got.Email == nil || got.Email.To[0] != "ops@example.com" {
		t.Errorf("executor got notify %v, want the stored config", got)
	}
	for _, r := range []response{e.get("/v1-webhooks/receivers/" + id), e.get("/v1-webhooks/receivers")} {
		for _, s := range []string{notifySecret, notifyBearer} {
			if strings.Contains(string(r.body), s) {
				t.Errorf("a rendering contains the secret %q: %s", s, r.body)
			}
		}
	}
	e.assertNoSecretsLogged(notifySecret, notifyBearer, notifyToken)
}

// TestNotifyValidation: a bad notify member is a 400 naming what is wrong, never repeating a secret, and
// nothing is stored; an e-mail without an SMTP server is refused when the receiver is saved.
func TestNotifyValidation(t *testing.T) {
	e := newEnv(t, withNotifier(t, true))
	noSMTP := newEnv(t, withNotifier(t, false))
	webhook := func(members string) string { return `{"webhook":{` + members + `}}` }
	cases := []struct {
		name, notify, want string
		env                *env
	}{
		{"not an object", `"https://x"`, "must be an object", e},
		{"webhook not an object", `{"webhook":"https://x"}`, "notify.webhook: must be an object", e},
		{"no channel", `{"states":["failed"]}`, "set webhook or email", e},
		{"empty object", `{}`, "set webhook or email", e},
		{"misspelt member", webhook(`"url":"https://x","secert":"` + notifySecret + `"`), `unknown field "secert"`, e},
		{"no url", webhook(`"secret":"` + notifySecret + `"`), "notify.webhook: url is required", e},
		{"not http", webhook(`"url":"ftp://x/` + notifyToken + `"`), `url must be http or https, not "ftp"`, e},
		{"reserved header", webhook(`"url":"https://x","headers":{"X-Scale-Subscriber-Signature":"` + notifyBearer + `"}`),
			"set by scale-subscriber", e},
		{"header injection", webhook(`"url":"https://x","headers":{"X-A":"a\r\nB: ` + notifyBearer + `"}`),
			`value of header "X-A" is not valid`, e},
		{"timeout too long", webhook(`"url":"https://x","timeoutSeconds":600`), "timeoutSeconds must be between", e},
		{"bad address", `{"email":{"to":["not an address"]}}`, "notify.email: to[0]", e},
		{"bad subject", `{"email":{"to":["ops@example.com"],"subject":"{{.Nope}}"}}`, "notify.email: subject", e},
		{"unknown state", `{"email":{"to":["ops@example.com"]},"states":["done"]}`, `"done" is not a final state`, e},
		{"email without smtp", `{"email":{"to":["ops@example.com"]}}`, "no SMTP server is configured", noSMTP},
	}
	for _, tc := range cases {
		body := strings.TrimSuffix(tc.env.scaleWebBody("bad-notify"), "}") + `,"notify":` + tc.notify + "}"
		r := tc.env.post("/v1-webhooks/receivers", body)
		if r.status != http.StatusBadRequest || !strings.Contains(str(r.json(t), "message"), tc.want) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.name, r.status, r.body, tc.want)
		}
		for _, s := range []string{notifySecret, notifyBearer, notifyToken} {
			if strings.Contains(string(r.body), s) {
				t.Errorf("%s: the error repeats the secret %q: %s", tc.name, s, r.body)
			}
		}
		if n := len(tc.env.liveResourceData()); n != 0 {
			t.Errorf("%s: %d receivers stored after a refused create", tc.name, n)
		}
	}
	// Without an SMTP server, a webhook alone is fine.
	noSMTP.create(strings.TrimSuffix(noSMTP.scaleWebBody("hook-only"), "}") + `,"notify":` + webhook(`"url":"https://x"`) + "}")
	e.assertNoSecretsLogged(notifySecret, notifyBearer, notifyToken)
}

// TestNotifyUpdateKeepsSecretsUnlessReplaced: PUT follows the rule of serviceUpgradeConfig.secret. Sending
// back what was read (secretSet and headerNames, no secret or headers) keeps the stored secret and headers; a
// PUT without notify keeps it all, also across a driver change; a new URL must restate them (400 otherwise,
// nothing changed); "secret": "" and "headers": {} remove them; "notify": null removes notifications.
func TestNotifyUpdateKeepsSecretsUnlessReplaced(t *testing.T) {
	e := newEnv(t, withNotifier(t, true))
	rec := e.create(strings.TrimSuffix(e.scaleWebBody("upd-notify"), "}") + "," + notifyMember + "}")
	put := func(id, body string, status int) map[string]any {
		t.Helper()
		r := e.put("/v1-webhooks/receivers/"+id, body)
		if r.status != status {
			t.Fatalf("put %s: %d %s, want %d", body, r.status, r.body, status)
		}
		return r.json(t)
	}

	read := e.get("/v1-webhooks/receivers/" + str(rec, "id")).json(t)
	n := obj(read, "notify")
	same, _ := json.Marshal(n)
	if upd := put(str(rec, "id"), `{"notify":`+string(same)+`}`, http.StatusOK); str(upd, "id") != str(rec, "id") {
		t.Errorf("sending back exactly what was read stored a new receiver %s; want no change", str(upd, "id"))
	}
	obj(n, "webhook")["timeoutSeconds"] = 7
	b, _ := json.Marshal(n)
	upd := put(str(rec, "id"), `{"notify":`+string(b)+`}`, http.StatusOK)
	if wh := obj(obj(upd, "notify"), "webhook"); wh["timeoutSeconds"] != 7.0 || wh["secretSet"] != true ||
		!equalJSON(wh["headerNames"], []string{"Authorization", "X-Team"}) {
		t.Errorf("after sending back what was read: %v, want timeout 7 and the secret and headers kept", wh)
	}
	if s := e.storedNotify(); s.Webhook.Secret != notifySecret || s.Webhook.Headers["Authorization"] != notifyBearer ||
		s.Webhook.TimeoutSeconds != 7 {
		t.Errorf("stored %+v, want the secret and headers kept", s.Webhook)
	}

	// No notify member, and a driver change: notify belongs to the receiver and stays.
	upd = put(str(upd, "id"), `{"driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":{"app":"web"},`+
		`"tag":"1.14","batchSize":1,"intervalMillis":2}}`, http.StatusOK)
	if s := e.storedNotify(); s == nil || s.Webhook.Secret != notifySecret || s.Email == nil {
		t.Errorf("after a PUT without notify: stored %v, want it kept", s)
	}

	// Another URL without the secret and headers: refused, nothing changed.
	moved := `{"notify":{"webhook":{"url":"https://evil.example.net/collect"}}}`
	r := e.put("/v1-webhooks/receivers/"+str(upd, "id"), moved)
	wantError(t, r, http.StatusBadRequest, "the url changed, so the stored secret is not carried over")
	if s := e.storedNotify(); s.Webhook.URL != "https://hooks.example.com/x?token="+notifyToken {
		t.Errorf("a refused PUT changed the stored url to %s", s.Webhook.URL)
	}
	r = e.put("/v1-webhooks/receivers/"+str(upd, "id"), `{"notify":{"webhook":{"url":"https://evil.example.net/collect","secret":"new"}}}`)
	wantError(t, r, http.StatusBadRequest, "the stored headers are not carried over")

	upd = put(str(upd, "id"), `{"notify":{"webhook":{"url":"https://hooks.example.com/y","secret":"","headers":{}}}}`, http.StatusOK)
	if wh := obj(obj(upd, "notify"), "webhook"); wh["secretSet"] != nil || wh["headerNames"] != nil || obj(upd, "notify")["email"] != nil {
		t.Errorf("after clearing: %v, want no secret, no headers, no email", obj(upd, "notify"))
	}
	if s := e.storedNotify(); s.Webhook.Secret != "" || len(s.Webhook.Headers) != 0 || s.Email != nil {
		t.Errorf("stored %+v after clearing, want no secret, headers or email", s)
	}

	upd = put(str(upd, "id"), `{"notify":null}`, http.StatusOK)
	if upd["notify"] != nil {
		t.Errorf("after notify null: %v, want no notify", upd["notify"])
	}
	if _, ok := e.liveResourceData()[0]["notify"]; ok {
		t.Error("notify still stored after notify null")
	}
	e.assertNoSecretsLogged(notifySecret, notifyBearer, notifyToken)
}

// TestReceiversWithoutNotifyUnchanged: a receiver without notify is stored with exactly the original's
// resourceData members and rendered without a notify member.
func TestReceiversWithoutNotifyUnchanged(t *testing.T) {
	e := newEnv(t, withNotifier(t, true))
	rec := e.create(e.scaleWebBody("plain"))
	if _, ok := rec["notify"]; ok {
		t.Errorf("a receiver without notify renders %v", rec["notify"])
	}
	data := e.liveResourceData()[0]
	if len(data) != 3 || data["url"] == nil || data["driver"] == nil || data["config"] == nil {
		t.Errorf("resourceData members %v, want exactly url, driver and config", data)
	}
	// A PUT that repeats the receiver changes nothing, the id included.
	if upd := e.put("/v1-webhooks/receivers/"+str(rec, "id"), e.scaleWebBody("plain")).json(t); str(upd, "id") != str(rec, "id") {
		t.Errorf("a PUT that changes nothing got a new id %s", str(upd, "id"))
	}
}

// TestDecodeStoredNotify: resourceData.notify is read leniently (unknown members ignored) and a notify that is
// not an object makes the stored receiver unreadable, naming the member.
func TestDecodeStoredNotify(t *testing.T) {
	stored := storedObject(t, `"scaleService"`, `"u"`, `{"serviceId":"1s1"}`)
	stored.ResourceData["notify"] = json.RawMessage(`{"webhook":{"url":"https://x","secret":"s","future":1},"states":["failed"]}`)
	r, err := decodeReceiver(stored, "1a5")
	if err != nil || r.Notify == nil || r.Notify.Webhook.Secret != "s" || r.Notify.States[0] != notify.StateFailed {
		t.Fatalf("decoded %+v, %v", r.Notify, err)
	}
	stored.ResourceData["notify"] = json.RawMessage(`null`)
	if r, err := decodeReceiver(stored, "1a5"); err != nil || r.Notify != nil {
		t.Fatalf("null notify decoded as %+v, %v", r.Notify, err)
	}
	stored.ResourceData["notify"] = json.RawMessage(`"https://x"`)
	if _, err := decodeReceiver(stored, "1a5"); err == nil || !strings.Contains(err.Error(), "notify is not an object") {
		t.Fatalf("notify string decoded, err %v", err)
	}
}
