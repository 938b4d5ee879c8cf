package receivers

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
)

// TestOtherProjectCannotReadChangeOrTrigger: the API serves its own project only. Naming another project (in
// the header or the query) is refused without data, and a receiver stored in another project can be neither
// read, changed nor triggered through this service.
func TestOtherProjectCannotReadChangeOrTrigger(t *testing.T) {
	e := newEnv(t)
	rec := e.create(e.scaleWebBody("mine"))
	id, key := str(rec, "id"), keyOf(t, str(rec, "url"))

	// A receiver of project 1a7, stored with 1a7's own key the way the original stored it.
	cred := e.info.Credentials[1]
	otherClient, err := cattle.New(context.Background(), cattle.Options{URL: e.simURL + "/v1", AccessKey: cred.AccessKey, SecretKey: cred.SecretKey})
	if err != nil {
		t.Fatalf("client for 1a7: %v", err)
	}
	if otherClient.ProjectID() != "1a7" {
		t.Fatalf("second key is for %s", otherClient.ProjectID())
	}
	otherKey := strings.Repeat("O", 40)
	foreign, err := otherClient.CreateGenericObject(context.Background(), cattle.GenericObject{
		Resource: cattle.Resource{Name: "theirs", Kind: "webhookReceiver"}, Key: otherKey,
		ResourceData: map[string]json.RawMessage{
			"url":    mustMarshal(t, "http://rancher:8080/v1-webhooks/endpoint?key="+otherKey+"&projectId=1a7"),
			"driver": mustMarshal(t, "scaleService"),
			"config": json.RawMessage(`{"serviceId":"` + e.id("1a7/service/api") + `","amount":1,"action":"up","min":1,"max":5}`),
		},
	})
	if err != nil {
		t.Fatalf("store 1a7 receiver: %v", err)
	}
	before := e.callIndex()

	as1a7 := map[string]string{headerProjectID: "1a7"}
	for _, r := range []request{
		{method: http.MethodGet, path: "/v1-webhooks", headers: as1a7},
		{method: http.MethodGet, path: "/v1-webhooks/receivers", headers: as1a7},
		{method: http.MethodGet, path: "/v1-webhooks/receivers/" + id, headers: as1a7},
		{method: http.MethodPost, path: "/v1-webhooks/receivers", body: e.scaleWebBody("x"), headers: as1a7},
		{method: http.MethodPut, path: "/v1-webhooks/receivers/" + id, body: `{"name":"stolen"}`, headers: as1a7},
		{method: http.MethodDelete, path: "/v1-webhooks/receivers/" + id, headers: as1a7},
		{method: http.MethodGet, path: "/v1-webhooks/receivers?projectId=1a7"},
		{method: http.MethodDelete, path: "/v1-webhooks/receivers/" + id + "?projectId=1a7"},
		// The proxy's header wins and a mismatching query is refused, not silently ignored.
		{method: http.MethodGet, path: "/v1-webhooks/receivers?projectId=1a7", headers: map[string]string{headerProjectID: "1a5"}},
	} {
		got := e.do(r)
		wantError(t, got, http.StatusForbidden, "")
		if strings.Contains(string(got.body), "mine") || strings.Contains(string(got.body), key) {
			t.Errorf("%s %s leaked data: %s", r.method, r.path, got.body)
		}
	}
	// The foreign receiver does not exist for this project.
	wantError(t, e.get("/v1-webhooks/receivers/"+foreign.ID), http.StatusNotFound, "Webhook not found")
	wantError(t, e.put("/v1-webhooks/receivers/"+foreign.ID, `{"name":"stolen"}`), http.StatusNotFound, "Webhook not found")
	wantError(t, e.del("/v1-webhooks/receivers/"+foreign.ID), http.StatusNotFound, "Webhook not found")
	for _, it := range e.get("/v1-webhooks/receivers").json(t)["data"].([]any) {
		if str(it.(map[string]any), "id") == foreign.ID {
			t.Errorf("foreign receiver listed")
		}
	}
	// Triggers: the foreign key in either project, and our key under the other project, are revoked.
	for _, q := range []string{"?key=" + otherKey + "&projectId=1a7", "?key=" + otherKey + "&projectId=1a5", "?key=" + key + "&projectId=1a7"} {
		wantError(t, e.do(request{method: http.MethodPost, path: "/v1-webhooks/endpoint" + q}), http.StatusForbidden, "revoked")
	}
	if n := len(e.exec.all()); n != 0 {
		t.Errorf("executor ran %d times", n)
	}
	if n := e.writesSince(before); n != 0 {
		t.Errorf("%d writes reached cattle", n)
	}
	// Both receivers are intact.
	if g, err := otherClient.GetGenericObject(context.Background(), foreign.ID); err != nil || gone(g) {
		t.Errorf("foreign receiver after the attempts: %v %v", g, err)
	}
	if g := e.get("/v1-webhooks/receivers/" + id).json(t); str(g, "name") != "mine" {
		t.Errorf("own receiver after the attempts: %v", g)
	}
	// A missing project is the original's 400.
	wantError(t, e.do(request{method: http.MethodGet, path: "/v1-webhooks/receivers"}), http.StatusBadRequest,
		"projectId must be supplied as query parameter")
	e.assertNoSecretsLogged(key, otherKey)
}

// TestVersionAndSchemas: the apiVersion resource and the schemas an old client (and go-rancher) reads.
func TestVersionAndSchemas(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Executions = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	})
	for _, path := range []string{"/v1-webhooks", "/v1-webhooks/"} {
		r := e.get(path)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		v := r.json(t)
		links := obj(v, "links")
		if str(v, "type") != "apiVersion" || str(links, "receivers") != e.url+"/v1-webhooks/receivers?projectId=1a5" ||
			str(links, "schemas") != e.url+"/v1-webhooks/schemas?projectId=1a5" || str(links, "executions") == "" {
			t.Errorf("%s: %s", path, r.body)
		}
		if got := r.header.Get("X-API-Schemas"); got != e.url+"/v1-webhooks/schemas" {
			t.Errorf("X-API-Schemas %q", got)
		}
	}
	wantError(t, e.do(request{method: http.MethodGet, path: "/v1-webhooks"}), http.StatusBadRequest, "projectId must be supplied")

	schemas := e.do(request{method: http.MethodGet, path: "/v1-webhooks/schemas/"}).json(t)
	ids := map[string]map[string]any{}
	for _, s := range schemas["data"].([]any) {
		m := s.(map[string]any)
		ids[str(m, "id")] = m
	}
	for _, want := range []string{"apiVersion", "error", "receiver", "schema", "scaleService", "scaleHost", "serviceUpgrade", "forwardPost"} {
		if ids[want] == nil {
			t.Errorf("schema %s missing", want)
		}
	}
	recv := e.do(request{method: http.MethodGet, path: "/v1-webhooks/schemas/receiver"}).json(t)
	if !equalJSON(recv["collectionMethods"], []string{"GET", "POST"}) || !equalJSON(recv["resourceMethods"], []string{"GET", "PUT", "DELETE"}) ||
		str(obj(recv, "links"), "collection") != e.url+"/v1-webhooks/receivers" || str(recv, "pluralName") != "receivers" {
		t.Errorf("receiver schema %v", recv)
	}
	driver := obj(obj(recv, "resourceFields"), "driver")
	if !equalJSON(driver["options"], Drivers()) || driver["type"] != "enum" {
		t.Errorf("driver field %v", driver)
	}
	upg := obj(obj(e.do(request{method: http.MethodGet, path: "/v1-webhooks/schemas/serviceUpgrade"}).json(t), "resourceFields"), "intervalMillis")
	if upg["default"] != 2.0 || upg["min"] != 1.0 {
		t.Errorf("intervalMillis field %v", upg)
	}
	wantError(t, e.do(request{method: http.MethodGet, path: "/v1-webhooks/schemas/nope"}), http.StatusNotFound, "")
	wantError(t, e.do(request{method: http.MethodGet, path: "/v1-webhooks/nothing"}), http.StatusNotFound, "")
	wantError(t, e.do(request{method: http.MethodGet, path: "/v1-webhooks/receivers//x"}), http.StatusNotFound, "")
	wantError(t, e.do(request{method: http.MethodPatch, path: "/v1-webhooks/receivers?projectId=1a5"}), http.StatusMethodNotAllowed, "")

	// Executions are mounted behind the project check.
	if r := e.get("/v1-webhooks/executions"); r.status != http.StatusTeapot {
		t.Errorf("executions: %d", r.status)
	}
	wantError(t, e.do(request{method: http.MethodGet, path: "/v1-webhooks/executions?projectId=1a7"}), http.StatusForbidden, "")
}

// TestURLsFollowProxyAndPublicURL: links follow Rancher's forwarding headers; trigger URLs use --public-url
// when set.
func TestURLsFollowProxyAndPublicURL(t *testing.T) {
	e := newEnv(t)
	proxied := map[string]string{headerProjectID: "1a5", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "rancher.example.com",
		"X-Forwarded-Port": "443"}
	r := e.do(request{method: http.MethodPost, path: "/v1-webhooks/receivers", body: e.scaleWebBody("proxied"), headers: proxied})
	if r.status != http.StatusOK {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	rec := r.json(t)
	if !strings.HasPrefix(str(rec, "url"), "https://rancher.example.com/v1-webhooks/endpoint?key=") ||
		!strings.HasPrefix(str(obj(rec, "links"), "self"), "https://rancher.example.com/v1-webhooks/receivers/") {
		t.Errorf("proxied urls: %s", r.body)
	}

	pub := newEnv(t, func(o *Options) { o.PublicURL = "https://hooks.example.com/" })
	rec = pub.create(pub.scaleWebBody("public"))
	if !strings.HasPrefix(str(rec, "url"), "https://hooks.example.com/v1-webhooks/endpoint?key=") ||
		!strings.HasPrefix(str(obj(rec, "links"), "self"), pub.url) {
		t.Errorf("public url: %v / %v", rec["url"], obj(rec, "links"))
	}
	if r := pub.trigger(str(rec, "url"), ""); r.status != http.StatusOK {
		t.Errorf("trigger through public url path: %d", r.status)
	}
}

// TestServeShutsDown: Serve answers on its listener and returns nil once its context ends.
func TestServeShutsDown(t *testing.T) {
	e := newEnv(t)
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.api.Serve(ctx, ln, ServeOptions{ShutdownTimeout: time.Second}) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/v1-webhooks/schemas")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("serve did not return after cancel")
	}
}
