package receivers

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
)

// TestTriggerHandsOverToExecutor: an authenticated trigger reaches the Executor with the receiver, body,
// headers and query, and the Executor's outcome is what the sender gets.
func TestTriggerHandsOverToExecutor(t *testing.T) {
	e := newEnv(t)
	rec := e.create(e.scaleWebBody("exec"))
	triggerURL := str(rec, "url")

	e.exec.setOutcome(func(tr Trigger) Outcome {
		return Outcome{Status: http.StatusAccepted, Body: map[string]string{"result": "queued", "link": "a&b"}}
	})
	body := `{"version":"4","status":"firing","alerts":[]}`
	r := e.do(request{method: http.MethodPost, path: mustRequestURI(t, triggerURL) + "&extra=1", body: body,
		ctype: "application/json", headers: map[string]string{"X-Sender": "alertmanager"}})
	if r.status != http.StatusAccepted || strings.TrimSpace(string(r.body)) != `{"link":"a&b","result":"queued"}` {
		t.Fatalf("answer %d %s", r.status, r.body)
	}
	all := e.exec.all()
	if len(all) != 1 {
		t.Fatalf("executor ran %d times", len(all))
	}
	tr := all[0]
	if tr.Receiver.ID != str(rec, "id") || tr.Receiver.Driver != DriverScaleService || tr.Receiver.ProjectID != "1a5" ||
		tr.Receiver.ScaleService.ServiceID != e.id("1a5/service/web") || tr.Receiver.ScaleService.Max != 5 {
		t.Errorf("receiver %+v", tr.Receiver)
	}
	if string(tr.Body) != body || tr.Header.Get("X-Sender") != "alertmanager" || tr.Query.Get("extra") != "1" || tr.Received.IsZero() {
		t.Errorf("trigger body %q header %v query extra %q", tr.Body, tr.Header.Get("X-Sender"), tr.Query.Get("extra"))
	}

	// A nil body answers the status alone; a bare POST works.
	e.exec.setOutcome(func(Trigger) Outcome { return Outcome{} })
	if r := e.trigger(triggerURL, ""); r.status != http.StatusOK || len(r.body) != 0 {
		t.Fatalf("bare trigger: %d %q", r.status, r.body)
	}
	if got := e.exec.all()[1].Body; len(got) != 0 {
		t.Errorf("bare trigger body %q", got)
	}
	e.assertNoSecretsLogged(keyOf(t, triggerURL))
}

func mustRequestURI(t *testing.T, raw string) string {
	t.Helper()
	i := strings.Index(raw, "/v1-webhooks/")
	if i < 0 {
		t.Fatalf("not a trigger url: %s", raw)
	}
	return raw[i:]
}

// TestTriggerRefusals: bad and legacy URLs, unknown keys, wrong methods and oversize bodies get clear 4xx answers
// and never reach the Executor.
func TestTriggerRefusals(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxBodyBytes = 1024 })
	rec := e.create(e.scaleWebBody("refusals"))
	key := keyOf(t, str(rec, "url"))
	other := strings.Repeat("A", 40)
	post := func(query, body string) response {
		return e.do(request{method: http.MethodPost, path: "/v1-webhooks/endpoint" + query, body: body, ctype: "application/json"})
	}
	wantError(t, post("", ""), http.StatusBadRequest, "Invalid execute url, should have 'token' or 'key'")
	wantError(t, post("?token=eyJhbGciOiJSUzI1NiJ9.e30.c2ln", ""), http.StatusBadRequest, "re-create the receiver")
	wantError(t, post("?key="+key, ""), http.StatusBadRequest, "Invalid execute url, url must contain projectId")
	wantError(t, post("?key="+other+"&projectId=1a5", ""), http.StatusForbidden, "Requested webhook has been revoked/does not exist for this account")
	wantError(t, post("?key="+key[:39]+"&projectId=1a5", ""), http.StatusForbidden, "revoked")
	wantError(t, post("/?key="+key+"&projectId=1a5", strings.Repeat("x", 2000)), http.StatusRequestEntityTooLarge, "the limit is 1024 bytes")
	r := e.do(request{method: http.MethodGet, path: "/v1-webhooks/endpoint?key=" + key + "&projectId=1a5"})
	wantError(t, r, http.StatusMethodNotAllowed, "Method GET not allowed")
	if r.header.Get("Allow") != "POST" {
		t.Errorf("Allow %q", r.header.Get("Allow"))
	}
	if n := len(e.exec.all()); n != 0 {
		t.Fatalf("executor ran %d times for refused triggers", n)
	}
	// The trailing-slash form with the right key and a body at the cap works.
	if r := post("/?key="+key+"&projectId=1a5", strings.Repeat("x", 1024)); r.status != http.StatusOK {
		t.Fatalf("trigger at the body cap: %d %s", r.status, r.body)
	}
	e.assertNoSecretsLogged(key)
}

// TestTriggerGenericObjectWrittenByOriginal: genericObjects stored the way webhook-service stored them (its
// config members as mapstructure left them, its URL on Rancher's address) are listed unchanged and triggerable.
func TestTriggerGenericObjectWrittenByOriginal(t *testing.T) {
	e := newEnv(t)
	web := e.id("1a5/service/web")
	scaleKey, upgradeKey := strings.Repeat("k", 20)+"Legacy0123456789ABCD", "Up9rade"+strings.Repeat("z", 33)
	originals := []struct {
		name, key, driver, config string
	}{
		{"legacy-scale", scaleKey, "scaleService", `{"serviceId":"` + web + `","amount":1,"action":"up","min":1,"max":5,"type":"scaleService"}`},
		{"legacy-upgrade", upgradeKey, "serviceUpgrade", `{"serviceSelector":{"app":"web"},"tag":"1.14","payloadFormat":"dockerhub","batchSize":1,"intervalMillis":2,"startFirst":true,"type":"serviceUpgrade"}`},
	}
	for _, o := range originals {
		data := map[string]json.RawMessage{
			"url":    mustMarshal(t, "http://rancher:8080/v1-webhooks/endpoint?key="+o.key+"&projectId=1a5"),
			"driver": mustMarshal(t, o.driver),
			"config": json.RawMessage(o.config),
		}
		if _, err := e.client.CreateGenericObject(e.ctx, cattle.GenericObject{
			Resource: cattle.Resource{Name: o.name, Kind: "webhookReceiver"}, Key: o.key, ResourceData: data,
		}); err != nil {
			t.Fatalf("store %s: %v", o.name, err)
		}
	}
	waitFor(t, 5*time.Second, func() bool { return len(e.store.Receivers()) == 2 }, "the informer to cache both")

	list := e.get("/v1-webhooks/receivers").json(t)["data"].([]any)
	if len(list) != 2 {
		t.Fatalf("listed %d", len(list))
	}
	for _, it := range list {
		m := it.(map[string]any)
		switch str(m, "name") {
		case "legacy-scale":
			if str(m, "url") != "http://rancher:8080/v1-webhooks/endpoint?key="+scaleKey+"&projectId=1a5" ||
				!equalJSON(obj(m, "scaleServiceConfig"), json.RawMessage(originals[0].config)) {
				t.Errorf("legacy-scale rendered %v", m)
			}
		case "legacy-upgrade":
			if !equalJSON(obj(m, "serviceUpgradeConfig"), json.RawMessage(originals[1].config)) {
				t.Errorf("legacy-upgrade rendered %v", obj(m, "serviceUpgradeConfig"))
			}
		default:
			t.Errorf("unexpected receiver %v", m)
		}
	}
	for _, key := range []string{scaleKey, upgradeKey} {
		if r := e.trigger("http://rancher:8080/v1-webhooks/endpoint?key="+key+"&projectId=1a5", `{"push_data":{"tag":"1.14"}}`); r.status != http.StatusOK {
			t.Fatalf("trigger: %d %s", r.status, r.body)
		}
	}
	all := e.exec.all()
	if len(all) != 2 || all[0].Receiver.ScaleService.Amount != 1 || all[1].Receiver.ServiceUpgrade.IntervalMillis != 2 ||
		!all[1].Receiver.ServiceUpgrade.StartFirst || all[1].Receiver.ServiceUpgrade.ServiceSelector["app"] != "web" {
		t.Fatalf("executed %+v", all)
	}
	e.assertNoSecretsLogged(scaleKey, upgradeKey)
}

func mustMarshal(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

// TestTriggerBeforeFirstSync: until the cache has synced, triggers and lists are answered from Cattle.
func TestTriggerBeforeFirstSync(t *testing.T) {
	e := newEnv(t)
	rec := e.create(e.scaleWebBody("early"))
	store := emptyStore(t)
	api, err := New(Options{Cattle: e.client, Store: store, Executor: e.exec, Synced: func() bool { return false }})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	e2 := *e
	e2.api = api
	e2.url = serve(t, api)
	if r := e2.trigger(str(rec, "url"), ""); r.status != http.StatusOK {
		t.Fatalf("trigger before sync: %d %s", r.status, r.body)
	}
	wantError(t, e2.trigger(strings.Replace(str(rec, "url"), "key=", "key=x", 1), ""), http.StatusForbidden, "revoked")
	list := e2.get("/v1-webhooks/receivers").json(t)["data"].([]any)
	if len(list) != 1 || str(list[0].(map[string]any), "name") != "early" {
		t.Fatalf("list before sync: %v", list)
	}
	if len(store.Receivers()) != 0 {
		t.Errorf("the unsynced store was filled")
	}
}

// TestConcurrentTriggers: many concurrent triggers of one receiver are each handed to the Executor once (with
// no service-wide rate limit: ratelimit_test.go covers the limit).
func TestConcurrentTriggers(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.RateLimit = RateLimit{PerMinute: -1} })
	triggerURL := str(e.create(e.scaleWebBody("burst")), "url")
	const n = 200
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.trigger(triggerURL, "").status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Fatalf("trigger %d answered %d", i, s)
		}
	}
	if got := len(e.exec.all()); got != n {
		t.Fatalf("executor ran %d times, want %d", got, n)
	}
}

// TestExecutorPanicIsRecovered: a panicking Executor yields a JSON 500 and the API keeps serving.
func TestExecutorPanicIsRecovered(t *testing.T) {
	e := newEnv(t)
	triggerURL := str(e.create(e.scaleWebBody("panic")), "url")
	e.exec.setOutcome(func(Trigger) Outcome { panic("boom") })
	wantError(t, e.trigger(triggerURL, ""), http.StatusInternalServerError, "internal error")
	e.exec.setOutcome(func(Trigger) Outcome { return Outcome{Status: 999} })
	wantError(t, e.trigger(triggerURL, ""), http.StatusInternalServerError, "")
	e.exec.setOutcome(nil)
	if r := e.trigger(triggerURL, ""); r.status != http.StatusOK {
		t.Fatalf("after panic: %d %s", r.status, r.body)
	}
	if !strings.Contains(e.logs.String(), "receivers handler panicked") {
		t.Errorf("panic not logged")
	}
	e.assertNoSecretsLogged(keyOf(t, triggerURL))
}

// TestKeysNeverLogged runs every path that handles a key — create, update, triggers that succeed and fail,
// delete — with debug logging on the API, the informer and the event subscription (whose events carry the
// genericObjects, keys included), and finds receiver ids in the logs but never a key.
func TestKeysNeverLogged(t *testing.T) {
	e := newEnv(t)
	rec := e.create(e.scaleWebBody("logged"))
	id, triggerURL := str(rec, "id"), str(rec, "url")
	key := keyOf(t, triggerURL)
	wantError(t, e.post("/v1-webhooks/receivers", e.scaleWebBody("logged")), http.StatusBadRequest, "duplicate")
	upd := e.put("/v1-webhooks/receivers/"+id, `{"name":"logged-2"}`).json(t)
	if r := e.trigger(triggerURL, `{"secret":"`+key+`"}`); r.status != http.StatusOK {
		t.Fatalf("trigger: %d", r.status)
	}
	e.exec.setOutcome(func(Trigger) Outcome {
		return Outcome{Status: http.StatusBadGateway, Body: map[string]string{"error": "x"}}
	})
	e.trigger(triggerURL, "")
	wantError(t, e.trigger(strings.Replace(triggerURL, "key=", "key=Z", 1), ""), http.StatusForbidden, "revoked")
	wantError(t, e.trigger(strings.Replace(triggerURL, "projectId=1a5", "projectId=1a7", 1), ""), http.StatusForbidden, "revoked")
	if d := e.del("/v1-webhooks/receivers/" + str(upd, "id")); d.status != http.StatusNoContent {
		t.Fatalf("delete: %d", d.status)
	}
	wantError(t, e.trigger(triggerURL, ""), http.StatusForbidden, "revoked")
	waitFor(t, 5*time.Second, func() bool { return len(e.store.Receivers()) == 0 }, "the cache to drop the receivers")

	logs := e.logs.String()
	for _, want := range []string{`"receiver_id":"` + str(upd, "id") + `"`, "receiver triggered", "receiver deleted",
		"trigger with an unknown or revoked key refused"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
	e.assertNoSecretsLogged(key, "key="+key[:8])
}
