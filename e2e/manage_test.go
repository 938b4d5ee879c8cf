package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// PUT (which the original lacks) changes a receiver's config while its trigger URL keeps working: the answer
// carries the new id (Cattle cannot change a genericObject) and the same URL, the list shows only the new
// receiver, and the next trigger applies the new amount.
func TestUpdateKeepsTriggerURL(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	r := e.scaleReceiver("scale-web-up", web, "up", 1, 1, 5)

	a := e.api(http.MethodPut, "/v1-webhooks/receivers/"+r.ID,
		[]byte(`{"scaleServiceConfig":{"serviceId":"`+web+`","action":"up","amount":2,"min":1,"max":5}}`))
	if a.status != http.StatusOK {
		t.Fatalf("update: %s, want 200", a)
	}
	var u receiver
	if err := json.Unmarshal(a.body, &u); err != nil {
		t.Fatalf("decode updated receiver: %v", err)
	}
	if u.ID == r.ID || u.URL != r.URL || u.Name != r.Name || u.ScaleServiceConfig["amount"] != 2.0 {
		t.Errorf("updated receiver %+v, want a new id, the same url and name, amount 2", u)
	}
	var list struct {
		Data []receiver `json:"data"`
	}
	a = e.api(http.MethodGet, "/v1-webhooks/receivers", nil)
	if err := json.Unmarshal(a.body, &list); err != nil || len(list.Data) != 1 || list.Data[0].ID != u.ID {
		t.Errorf("receivers after update: %s, want only %s", a, u.ID)
	}
	tr := e.trigger(r.URL, "", nil)
	if rep := decodeReply(t, tr); tr.status != http.StatusOK || rep.From != 2 || rep.To != 4 {
		t.Errorf("trigger after update: %s, want scaled 2 → 4", tr)
	}
	e.waitService(web, "web at 4", func(s serviceView) bool { return s.Scale == 4 && settled(s) })
}

// A read-only role (X-API-Roles exactly "readonly", as Rancher's proxy sends it) sees receivers without their
// trigger URLs and cannot create, change or delete them (405, as webhook-service v1.6); routes accept a trailing
// slash; the schemas are the original's.
func TestReadOnlyRolesSchemasAndTrailingSlash(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	r := e.scaleReceiver("scale-web-up", web, "up", 1, 1, 5)
	mark := e.callMark()

	ro := jsonHeader("X-API-Project-Id", projectID, "X-API-Roles", "readonly")
	body := []byte(`{"name":"x","driver":"scaleService","scaleServiceConfig":{"serviceId":"` + web +
		`","action":"up","amount":1,"min":1,"max":5}}`)
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, "/v1-webhooks/receivers"},
		{http.MethodPut, "/v1-webhooks/receivers/" + r.ID},
		{http.MethodDelete, "/v1-webhooks/receivers/" + r.ID},
	} {
		wantError(t, "read-only "+tc.method, e.must(tc.method, e.apiURL+tc.path, ro, body), http.StatusMethodNotAllowed, "read-only")
	}
	a := e.must(http.MethodGet, e.apiURL+"/v1-webhooks/receivers/", ro, nil)
	var list struct {
		Data []receiver `json:"data"`
	}
	if err := json.Unmarshal(a.body, &list); err != nil || a.status != http.StatusOK || len(list.Data) != 1 ||
		list.Data[0].ID != r.ID || list.Data[0].URL != "" {
		t.Errorf("read-only list with a trailing slash: %s, want the receiver without its url", a)
	}
	calls, _ := e.callsSince(mark)
	for _, c := range calls {
		if c.Method != http.MethodGet {
			t.Errorf("a read-only caller changed something: %v", c)
		}
	}

	a = e.api(http.MethodGet, "/v1-webhooks/schemas/", nil)
	var schemas struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(a.body, &schemas); err != nil || a.status != http.StatusOK {
		t.Fatalf("schemas: %s", a)
	}
	var ids []string
	for _, s := range schemas.Data {
		ids = append(ids, s.ID)
	}
	for _, want := range []string{"apiVersion", "error", "receiver", "schema", "scaleService", "scaleHost", "serviceUpgrade", "forwardPost"} {
		if !slices.Contains(ids, want) {
			t.Errorf("schemas %v lack %s", ids, want)
		}
	}
	a = e.api(http.MethodGet, "/v1-webhooks/", nil)
	var version struct {
		Type  string            `json:"type"`
		Links map[string]string `json:"links"`
	}
	if err := json.Unmarshal(a.body, &version); err != nil || version.Type != "apiVersion" ||
		version.Links["receivers"] != e.apiURL+"/v1-webhooks/receivers?projectId="+projectID {
		t.Errorf("apiVersion: %s", a)
	}
}
