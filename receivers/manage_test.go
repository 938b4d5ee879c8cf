package receivers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
)

var keyPattern = regexp.MustCompile(`^[A-Za-z0-9]{40}$`)

// TestOriginalCreateListGetDelete drives the §6.2 example through create, list, get and delete and checks the
// JSON an old client reads, the genericObject stored in Cattle, and that the deleted receiver's URL is revoked.
func TestOriginalCreateListGetDelete(t *testing.T) {
	e := newEnv(t)
	web := e.id("1a5/service/web")

	r := e.post("/v1-webhooks/receivers", e.scaleWebBody("scale-web-up"))
	if r.status != http.StatusOK {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if !bytes.Contains(r.body, []byte("&projectId=1a5")) || bytes.Contains(r.body, []byte(`\u0026`)) {
		t.Errorf("url must carry a literal &: %s", r.body)
	}
	for _, empty := range []string{`"serviceUpgradeConfig":{}`, `"scaleHostConfig":{}`, `"forwardPostConfig":{}`, `"actions":{}`} {
		if !bytes.Contains(r.body, []byte(empty)) {
			t.Errorf("body lacks %s: %s", empty, r.body)
		}
	}
	rec := r.json(t)
	id := str(rec, "id")
	if !regexp.MustCompile(`^1go[0-9]+$`).MatchString(id) || str(rec, "type") != "receiver" {
		t.Fatalf("id %q type %q", id, str(rec, "type"))
	}
	if got, want := str(obj(rec, "links"), "self"), e.url+"/v1-webhooks/receivers/"+id+"?projectId=1a5"; got != want {
		t.Errorf("links.self %q, want %q", got, want)
	}
	triggerURL := str(rec, "url")
	prefix := e.url + "/v1-webhooks/endpoint?key="
	key := keyOf(t, triggerURL)
	if !strings.HasPrefix(triggerURL, prefix) || !strings.HasSuffix(triggerURL, "&projectId=1a5") || !keyPattern.MatchString(key) {
		t.Fatalf("url %q", triggerURL)
	}
	if str(rec, "driver") != "scaleService" || str(rec, "name") != "scale-web-up" || str(rec, "state") == "" {
		t.Errorf("driver/name/state: %s", r.body)
	}
	wantCfg := map[string]any{"serviceId": web, "amount": 1.0, "action": "up", "min": 1.0, "max": 5.0, "type": "scaleService"}
	if got := obj(rec, "scaleServiceConfig"); !equalJSON(got, wantCfg) {
		t.Errorf("scaleServiceConfig %v, want %v", got, wantCfg)
	}

	// Stored exactly as the original stored it.
	var stored *cattle.GenericObject
	for _, g := range e.genericObjects() {
		if g.ID == id {
			stored = &g
		}
	}
	if stored == nil {
		t.Fatalf("genericObject %s not in cattle", id)
	}
	if stored.Kind != cache.ReceiverKind || stored.Name != "scale-web-up" || stored.Key != key {
		t.Errorf("stored kind %q name %q key matches %v", stored.Kind, stored.Name, stored.Key == key)
	}
	var data struct {
		URL    string         `json:"url"`
		Driver string         `json:"driver"`
		Config map[string]any `json:"config"`
	}
	raw, _ := json.Marshal(stored.ResourceData)
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatalf("resourceData: %v", err)
	}
	if data.URL != triggerURL || data.Driver != "scaleService" || !equalJSON(data.Config, wantCfg) {
		t.Errorf("resourceData %s", raw)
	}

	// List and get, immediately (read-your-writes), through the header and through the query.
	list := e.do(request{method: http.MethodGet, path: "/v1-webhooks/receivers", headers: map[string]string{headerProjectID: "1a5"}})
	if list.status != http.StatusOK {
		t.Fatalf("list: %d %s", list.status, list.body)
	}
	coll := list.json(t)
	if str(coll, "type") != "collection" || str(coll, "resourceType") != "receiver" {
		t.Errorf("collection envelope: %s", list.body)
	}
	// The state moves on (requested → activating → active) while everything else stays as created.
	items, _ := coll["data"].([]any)
	if len(items) != 1 || !equalJSON(withoutState(items[0].(map[string]any)), withoutState(rec)) {
		t.Fatalf("list data %s, want the created receiver", list.body)
	}
	got := e.get("/v1-webhooks/receivers/" + id + "/")
	if got.status != http.StatusOK || !equalJSON(withoutState(got.json(t)), withoutState(rec)) {
		t.Fatalf("get: %d %s", got.status, got.body)
	}

	// The trigger URL works, then is revoked by the delete at once.
	if tr := e.trigger(triggerURL, ""); tr.status != http.StatusOK {
		t.Fatalf("trigger: %d %s", tr.status, tr.body)
	}
	if d := e.del("/v1-webhooks/receivers/" + id); d.status != http.StatusNoContent || len(d.body) != 0 {
		t.Fatalf("delete: %d %s", d.status, d.body)
	}
	wantError(t, e.trigger(triggerURL, ""), http.StatusForbidden, "Requested webhook has been revoked/does not exist for this account")
	if n := len(e.exec.all()); n != 1 {
		t.Errorf("executor ran %d times, want 1", n)
	}
	if items := e.get("/v1-webhooks/receivers").json(t)["data"].([]any); len(items) != 0 {
		t.Errorf("deleted receiver still listed: %v", items)
	}
	// Still revoked once Cattle has finished removing it and the events have been applied.
	waitFor(t, 5*time.Second, func() bool {
		g, err := e.client.GetGenericObject(e.ctx, id)
		return err == nil && g.State == "removed"
	}, "genericObject removed in cattle")
	wantError(t, e.trigger(triggerURL, ""), http.StatusForbidden, "revoked")
	e.assertNoSecretsLogged(key)
}

// withoutState copies a rendered receiver without its state.
func withoutState(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != "state" {
			out[k] = v
		}
	}
	return out
}

// equalJSON compares two values after a JSON round trip.
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	ca, _ := json.Marshal(va)
	cb, _ := json.Marshal(vb)
	return bytes.Equal(ca, cb)
}

// TestCreateValidationMessages checks every create-time refusal answers 400 with the original's message, in
// the original's error JSON, and that nothing is written to Cattle.
func TestCreateValidationMessages(t *testing.T) {
	e := newEnv(t)
	web, global, other := e.id("1a5/service/web"), e.id("1a5/service/monitor"), e.id("1a7/service/api")
	svc := func(cfg string) string {
		return `{"name":"x","driver":"scaleService","scaleServiceConfig":` + cfg + `}`
	}
	host := func(cfg string) string { return `{"name":"x","driver":"scaleHost","scaleHostConfig":` + cfg + `}` }
	upg := func(cfg string) string {
		return `{"name":"x","driver":"serviceUpgrade","serviceUpgradeConfig":` + cfg + `}`
	}
	fwd := func(cfg string) string { return `{"name":"x","driver":"forwardPost","forwardPostConfig":` + cfg + `}` }
	cases := []struct{ name, body, message string }{
		{"no name", `{"driver":"scaleService"}`, "Name not provided"},
		{"no driver", `{"name":"x"}`, "Driver not provided"},
		{"unknown driver", `{"name":"x","driver":"ScaleService"}`, "Invalid driver ScaleService"},
		{"fractional amount", svc(`{"amount":1.5}`), "Bad request body: json: cannot unmarshal number 1.5"},
		{"no config", `{"name":"x","driver":"scaleService"}`, "Scale action not provided"},
		{"bad action", svc(`{"action":"sideways"}`), "Invalid action sideways"},
		{"zero amount", svc(`{"action":"up","amount":0}`), "Invalid amount: 0"},
		{"no service", svc(`{"action":"up","amount":1}`), "ServiceId not provided"},
		{"no min", svc(`{"action":"up","amount":1,"serviceId":"` + web + `","max":5}`), "Minimum scale not provided/invalid"},
		{"no max", svc(`{"action":"up","amount":1,"serviceId":"` + web + `","min":1}`), "Maximum scale not provided/invalid"},
		{"min not below max", svc(`{"action":"up","amount":1,"serviceId":"` + web + `","min":5,"max":5}`), "Max must be greater than min"},
		{"negative cooldown", svc(`{"action":"up","amount":1,"serviceId":"` + web + `","min":1,"max":5,"cooldownSeconds":-1}`), "Invalid cooldownSeconds: -1"},
		{"bad onResolved", svc(`{"action":"up","amount":1,"serviceId":"` + web + `","min":1,"max":5,"onResolved":"reverse"}`), "Invalid onResolved reverse"},
		{"unknown service", svc(`{"action":"up","amount":1,"serviceId":"1s999","min":1,"max":5}`), "Invalid service 1s999"},
		{"service of another project", svc(`{"action":"up","amount":1,"serviceId":"` + other + `","min":1,"max":5}`), "Invalid service " + other},
		{"global service", svc(`{"action":"up","amount":1,"serviceId":"` + global + `","min":1,"max":5}`), "Cannot create webhook for global service " + global},
		{"host: no selector", host(`{"action":"up","amount":1,"min":1,"max":5}`), "HostSelector not provided"},
		{"host: empty selector", host(`{"action":"up","amount":1,"min":1,"max":5,"hostSelector":{}}`), "HostSelector not provided"},
		{"host: delete option on up", host(`{"action":"up","amount":1,"min":1,"max":5,"hostSelector":{"pool":"workers"},"deleteOption":"mostRecent"}`), "Delete option not to be provided while scaling up"},
		{"host: bad delete option", host(`{"action":"down","amount":1,"min":1,"max":5,"hostSelector":{"pool":"workers"},"deleteOption":"random"}`), "Invalid delete option random"},
		{"host: missing template", host(`{"action":"up","amount":1,"min":1,"max":5,"hostTemplateId":"1ht99"}`), "hostTemplate does not exist"},
		{"host: non-string label", host(`{"action":"up","amount":1,"min":1,"max":5,"hostSelector":{"pool":1}}`), "Bad request body"},
		{"upgrade: no selector", upg(`{"tag":"1.14","batchSize":1,"intervalMillis":2}`), "Service selectors not provided"},
		{"upgrade: no tag", upg(`{"serviceSelector":{"app":"web"},"batchSize":1,"intervalMillis":2}`), "Tag not provided"},
		{"upgrade: bad tag", upg(`{"serviceSelector":{"app":"web"},"tag":".1","batchSize":1,"intervalMillis":2}`), "Invalid tag .1"},
		{"upgrade: no batch", upg(`{"serviceSelector":{"app":"web"},"tag":"1.14","intervalMillis":2}`), "Batch size for upgrade not provided/invalid"},
		{"upgrade: no interval", upg(`{"serviceSelector":{"app":"web"},"tag":"1.14","batchSize":1}`), "Batch interval for upgrade not provided/invalid"},
		{"upgrade: bad format", upg(`{"serviceSelector":{"app":"web"},"tag":"1.14","batchSize":1,"intervalMillis":2,"payloadFormat":"gcr"}`), "Invalid payload format gcr"},
		{"upgrade: bad policy", upg(`{"serviceSelector":{"app":"web"},"tagPolicy":"newest","batchSize":1,"intervalMillis":2}`), `Invalid tag policy "newest"`},
		{"upgrade: tag with a pattern policy", upg(`{"serviceSelector":{"app":"web"},"tag":"1.14","tagPolicy":"glob","tagPattern":"1.*","batchSize":1,"intervalMillis":2}`), "Tag is only used by the exact tag policy"},
		{"upgrade: glob without pattern", upg(`{"serviceSelector":{"app":"web"},"tagPolicy":"glob","batchSize":1,"intervalMillis":2}`), "Tag pattern not provided for tag policy glob"},
		{"upgrade: bad regex", upg(`{"serviceSelector":{"app":"web"},"tagPolicy":"regex","tagPattern":"1.(","batchSize":1,"intervalMillis":2}`), `Invalid tag pattern "1.(" for tag policy regex`},
		{"upgrade: pattern with semver", upg(`{"serviceSelector":{"app":"web"},"tagPolicy":"semver-patch","tagPattern":"1.*","batchSize":1,"intervalMillis":2}`), "Tag pattern is only used by the glob and regex tag policies"},
		{"upgrade: alias with a scheme", upg(`{"serviceSelector":{"app":"web"},"tag":"1","batchSize":1,"intervalMillis":2,"registryAliases":{"https://a.io":"b.io"}}`), `Invalid registry alias "https://a.io"`},
		{"upgrade: negative deadline", upg(`{"serviceSelector":{"app":"web"},"tag":"1","batchSize":1,"intervalMillis":2,"finishTimeoutSeconds":-1}`), "Invalid finishTimeoutSeconds: -1"},
		{"upgrade: negative grace", upg(`{"serviceSelector":{"app":"web"},"tag":"1","batchSize":1,"intervalMillis":2,"unhealthyGraceSeconds":-5}`), "Invalid unhealthyGraceSeconds: -5"},
		{"upgrade: deadline beyond a week", upg(`{"serviceSelector":{"app":"web"},"tag":"1","batchSize":1,"intervalMillis":2,"finishTimeoutSeconds":1000000000000}`), "Invalid finishTimeoutSeconds: 1000000000000, must be 0 (default) to 604800"},
		{"upgrade: secret with dockerhub", upg(`{"serviceSelector":{"app":"web"},"tag":"1","batchSize":1,"intervalMillis":2,"secret":"s3cret"}`), "A secret needs payloadFormat ghcr, custom, auto"},
		{"upgrade: secret too long", upg(`{"serviceSelector":{"app":"web"},"tag":"1","batchSize":1,"intervalMillis":2,"payloadFormat":"ghcr","secret":"` + strings.Repeat("s", 1025) + `"}`), "Secret too long"},
		{"upgrade: rollbackOnFailure not a boolean", upg(`{"serviceSelector":{"app":"web"},"tag":"1","batchSize":1,"intervalMillis":2,"rollbackOnFailure":"no"}`), "Bad request body"},
		{"forward: other project", fwd(`{"projectId":"1a7","serviceName":"web","port":"80"}`), "forwardPost projectId must be this environment"},
		{"forward: escaping path", fwd(`{"serviceName":"web","port":"80","path":"/../../v2-beta/services"}`), "must not contain . or .. segments"},
		{"forward: bad port", fwd(`{"serviceName":"web","port":"http"}`), `Invalid port "http"`},
	}
	before := e.callIndex()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.post("/v1-webhooks/receivers", tc.body), http.StatusBadRequest, tc.message)
		})
	}
	if n := e.writesSince(before); n != 0 {
		t.Errorf("%d writes reached cattle for refused creates", n)
	}
	if objs := e.genericObjects(); len(objs) != 0 {
		t.Errorf("genericObjects created: %d", len(objs))
	}
}

// TestCreateEveryDriver creates one valid receiver per driver, including a load balancer service, the fields we
// add, and the content type with a charset.
func TestCreateEveryDriver(t *testing.T) {
	e := newEnv(t)
	bodies := map[string]string{
		"lb": `{"name":"lb","driver":"scaleService","scaleServiceConfig":{"serviceId":"` + e.id("1a5/service/lb") +
			`","action":"down","amount":2,"min":1,"max":3,"cooldownSeconds":30,"onResolved":"act"}}`,
		"hosts": `{"name":"hosts","driver":"scaleHost","scaleHostConfig":{"hostSelector":{"pool":"workers"},"action":"down",` +
			`"amount":1,"min":1,"max":4,"deleteOption":"leastRecent"}}`,
		"upgrade": `{"name":"upgrade","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":{"app":"web"},` +
			`"tag":"1.14","payloadFormat":"alicloud","addressType":"registry-vpc","batchSize":1,"intervalMillis":2,"startFirst":true}}`,
		"forward": `{"name":"forward","driver":"forwardPost","forwardPostConfig":{"serviceName":"web","port":"8080","path":"/hook"}}`,
	}
	for name, body := range bodies {
		r := e.do(request{method: http.MethodPost, path: "/v1-webhooks/receivers?projectId=1a5", body: body,
			ctype: "application/json; charset=utf-8"})
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
	}
	list := e.get("/v1-webhooks/receivers").json(t)["data"].([]any)
	byName := map[string]map[string]any{}
	for _, it := range list {
		m := it.(map[string]any)
		byName[str(m, "name")] = m
	}
	if len(byName) != 4 {
		t.Fatalf("listed %d receivers, want 4", len(byName))
	}
	if got := obj(byName["lb"], "scaleServiceConfig"); got["cooldownSeconds"] != 30.0 || got["onResolved"] != "act" {
		t.Errorf("lb config %v", got)
	}
	if got := obj(byName["upgrade"], "serviceUpgradeConfig"); got["startFirst"] != true || got["addressType"] != "registry-vpc" || got["type"] != "serviceUpgrade" {
		t.Errorf("upgrade config %v", got)
	}
	// forwardPost is pinned to this project when none is given.
	if got := obj(byName["forward"], "forwardPostConfig"); got["projectId"] != "1a5" {
		t.Errorf("forward config %v", got)
	}
}

// TestCreateRejectsBadInput: malformed JSON, a wrong content type and an oversize body get a clear 4xx and
// nothing reaches Cattle.
func TestCreateRejectsBadInput(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxBodyBytes = 4096 })
	before := e.callIndex()
	wantError(t, e.post("/v1-webhooks/receivers", `{"name":"x",`), http.StatusBadRequest, "Bad request body: unexpected end of JSON input")
	wantError(t, e.post("/v1-webhooks/receivers", `{"name":"x"} trailing`), http.StatusBadRequest, "Bad request body")
	wantError(t, e.do(request{method: http.MethodPost, path: "/v1-webhooks/receivers?projectId=1a5",
		body: e.scaleWebBody("x"), ctype: "text/plain"}), http.StatusBadRequest,
		"Content-Type must be supplied as header. Only application/json is supported")
	wantError(t, e.do(request{method: http.MethodPost, path: "/v1-webhooks/receivers?projectId=1a5",
		body: e.scaleWebBody("x"), ctype: "-"}), http.StatusBadRequest, "Only application/json is supported")
	big := `{"name":"` + strings.Repeat("a", 5000) + `"}`
	wantError(t, e.post("/v1-webhooks/receivers", big), http.StatusRequestEntityTooLarge, "the limit is 4096 bytes")
	if n := e.writesSince(before); n != 0 {
		t.Errorf("%d writes reached cattle", n)
	}
	if objs := e.genericObjects(); len(objs) != 0 {
		t.Errorf("genericObjects created: %d", len(objs))
	}
}

// TestUniqueNames: a name used by a receiver or by any other genericObject of the project is refused, also
// under concurrent creates; a deleted receiver's name is free again at once.
func TestUniqueNames(t *testing.T) {
	e := newEnv(t)
	first := e.create(e.scaleWebBody("dup"))
	wantError(t, e.post("/v1-webhooks/receivers", e.scaleWebBody("dup")), http.StatusBadRequest,
		"Cannot have duplicate webhook name, webhook dup already exists")

	if _, err := e.client.CreateGenericObject(e.ctx, cattle.GenericObject{Resource: cattle.Resource{Name: "taken", Kind: "other"}}); err != nil {
		t.Fatalf("create other genericObject: %v", err)
	}
	wantError(t, e.post("/v1-webhooks/receivers", e.scaleWebBody("taken")), http.StatusBadRequest, "webhook taken already exists")

	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.post("/v1-webhooks/receivers", e.scaleWebBody("race")).status
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == http.StatusOK {
			ok++
		} else if s != http.StatusBadRequest {
			t.Errorf("concurrent create answered %d", s)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent creates of one name succeeded, want 1", ok)
	}

	if d := e.del("/v1-webhooks/receivers/" + str(first, "id")); d.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", d.status, d.body)
	}
	e.create(e.scaleWebBody("dup"))
}

// TestReadOnlyRoles: the v1.6 read-only roles cannot write and do not see trigger URLs; any other roles header
// (a multi-role one included, as in v1.6) changes nothing.
func TestReadOnlyRoles(t *testing.T) {
	e := newEnv(t)
	rec := e.create(e.scaleWebBody("roles"))
	id := str(rec, "id")
	for _, role := range []string{"readonly", "restricted", "v1-readonly", "v1-restricted"} {
		h := map[string]string{headerRoles: role, headerProjectID: "1a5"}
		wantError(t, e.do(request{method: http.MethodPost, path: "/v1-webhooks/receivers", body: e.scaleWebBody("r2"), headers: h}),
			http.StatusMethodNotAllowed, "read-only role")
		wantError(t, e.do(request{method: http.MethodPut, path: "/v1-webhooks/receivers/" + id, body: `{"name":"r3"}`, headers: h}),
			http.StatusMethodNotAllowed, "read-only role")
		wantError(t, e.do(request{method: http.MethodDelete, path: "/v1-webhooks/receivers/" + id, headers: h}),
			http.StatusMethodNotAllowed, "read-only role")
		got := e.do(request{method: http.MethodGet, path: "/v1-webhooks/receivers/" + id, headers: h}).json(t)
		if got["url"] != "" || str(got, "name") != "roles" {
			t.Errorf("%s: get shows url %q", role, got["url"])
		}
		list := e.do(request{method: http.MethodGet, path: "/v1-webhooks/receivers", headers: h}).json(t)["data"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["url"] != "" {
			t.Errorf("%s: list shows %v", role, list)
		}
	}
	h := map[string]string{headerRoles: "readonly,owner", headerProjectID: "1a5"}
	got := e.do(request{method: http.MethodGet, path: "/v1-webhooks/receivers/" + id, headers: h}).json(t)
	if got["url"] != rec["url"] {
		t.Errorf("multi-role header hid the url")
	}
	if names := receiverNames(e); len(names) != 1 || names[0] != "roles" {
		t.Errorf("receivers after refused writes: %v", names)
	}
}

// receiverNames lists the names of the project's live receivers in Cattle.
func receiverNames(e *env) []string {
	var out []string
	for _, g := range e.genericObjects() {
		if g.Kind == cache.ReceiverKind && !gone(&g) {
			out = append(out, g.Name)
		}
	}
	return out
}
