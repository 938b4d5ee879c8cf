package e2e

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// keyPattern is the shape of the original's trigger keys: 40 alphanumeric characters.
var keyPattern = regexp.MustCompile(`^[A-Za-z0-9]{40}$`)

// triggerKey returns the key of a trigger URL.
func triggerKey(t *testing.T, url string) string {
	t.Helper()
	_, rest, ok := strings.Cut(url, "?key=")
	key, _, _ := strings.Cut(rest, "&")
	if !ok || !keyPattern.MatchString(key) {
		t.Fatalf("trigger URL %s has no 40-character key", redactURL(url))
	}
	return key
}

// A receiver created with the exact JSON of webhook-service's documentation (cattle-protocol.md §6.2) is
// answered in the original's shape, and its trigger URL scales the service in Cattle, both for a client going
// through Rancher's proxy (X-API-Project-Id) and for an old script naming ?projectId= only.
func TestOriginalReceiverJSONWorksUnchanged(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")

	up := `{"name":"scale-web-up","driver":"scaleService",
 "scaleServiceConfig":{"serviceId":"` + web + `","action":"up","amount":1,"min":1,"max":5}}`
	a := e.api(http.MethodPost, "/v1-webhooks/receivers", []byte(up))
	if a.status != http.StatusOK {
		t.Fatalf("create with the original's JSON: %s, want 200 (not 201, as the original)", a)
	}
	// The answer has exactly the original's members, "&" literal in the url.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(a.body, &members); err != nil {
		t.Fatalf("decode create answer: %v", err)
	}
	for _, m := range []string{"id", "type", "links", "actions", "url", "driver", "name", "state",
		"scaleServiceConfig", "serviceUpgradeConfig", "scaleHostConfig", "forwardPostConfig"} {
		if _, ok := members[m]; !ok {
			t.Errorf("create answer lacks %q: %s", m, a.body)
		}
	}
	if len(members) != 12 {
		t.Errorf("create answer has %d members, want the original's 12: %s", len(members), a.body)
	}
	if strings.Contains(string(a.body), `\u0026`) || !strings.Contains(string(a.body), "&projectId="+projectID) {
		t.Errorf("url must carry a literal & before projectId, as the original: %s", a.body)
	}
	var r receiver
	if err := json.Unmarshal(a.body, &r); err != nil {
		t.Fatalf("decode receiver: %v", err)
	}
	key := triggerKey(t, r.URL)
	if want := e.apiURL + "/v1-webhooks/endpoint?key=" + key + "&projectId=" + projectID; r.URL != want {
		t.Errorf("url %s, want it on the public URL: %s", redactURL(r.URL), redactURL(want))
	}
	if want := e.apiURL + "/v1-webhooks/receivers/" + r.ID + "?projectId=" + projectID; r.Links["self"] != want {
		t.Errorf("links.self %q, want %q", r.Links["self"], want)
	}
	if r.Type != "receiver" || r.Driver != "scaleService" || r.Name != "scale-web-up" || len(r.Actions) != 0 {
		t.Errorf("receiver %+v, want type receiver, driver scaleService, name scale-web-up, no actions", r)
	}
	wantCfg := map[string]any{"serviceId": web, "action": "up", "amount": 1.0, "min": 1.0, "max": 5.0, "type": "scaleService"}
	if !equalJSON(r.ScaleServiceConfig, wantCfg) {
		t.Errorf("scaleServiceConfig %v, want %v", r.ScaleServiceConfig, wantCfg)
	}
	if len(r.ScaleHostConfig) != 0 || len(r.ServiceUpgradeConfig) != 0 || len(r.ForwardPostConfig) != 0 {
		t.Errorf("unused configs must be {}: %s", a.body)
	}

	// Stored as the original stored it: a genericObject of kind webhookReceiver with resourceData{url,driver,config}.
	var stored struct {
		Name         string         `json:"name"`
		Kind         string         `json:"kind"`
		ResourceData map[string]any `json:"resourceData"`
	}
	e.sim(http.MethodGet, projectPath("genericobjects/"+r.ID), nil, &stored)
	if stored.Kind != "webhookReceiver" || stored.Name != "scale-web-up" || stored.ResourceData["driver"] != "scaleService" ||
		stored.ResourceData["url"] != r.URL || !equalJSON(stored.ResourceData["config"], wantCfg) {
		t.Errorf("stored genericObject %+v is not the original's shape", stored)
	}

	// Trigger it as Alertmanager or curl -X POST would: no body.
	if s := e.service(web); s.Scale != 2 {
		t.Fatalf("web starts at scale %d, want the demo's 2", s.Scale)
	}
	tr := e.trigger(r.URL, "", nil)
	if tr.status != http.StatusOK {
		t.Fatalf("trigger: %s, want 200", tr)
	}
	if rep := decodeReply(t, tr); rep.Result != "scaled" || rep.From != 2 || rep.To != 3 {
		t.Errorf("trigger answer %s, want scaled 2 → 3", tr)
	}
	e.waitService(web, "web scaled to 3 and settled", func(s serviceView) bool { return s.Scale == 3 && settled(s) })

	// An old client names the project in the query only, with the same JSON (action down).
	down := strings.Replace(strings.Replace(up, `"up"`, `"down"`, 1), "scale-web-up", "scale-web-down", 1)
	a = e.must(http.MethodPost, e.apiURL+"/v1-webhooks/receivers?projectId="+projectID, jsonHeader(), []byte(down))
	if a.status != http.StatusOK {
		t.Fatalf("create with ?projectId= only: %s", a)
	}
	var d receiver
	if err := json.Unmarshal(a.body, &d); err != nil {
		t.Fatalf("decode receiver: %v", err)
	}
	if tr := e.trigger(d.URL, "", nil); tr.status != http.StatusOK {
		t.Fatalf("trigger down: %s", tr)
	}
	e.waitService(web, "web scaled back to 2", func(s serviceView) bool { return s.Scale == 2 && settled(s) })

	// Both are listed; keys never reach the logs.
	a = e.api(http.MethodGet, "/v1-webhooks/receivers", nil)
	var list struct {
		Type         string     `json:"type"`
		ResourceType string     `json:"resourceType"`
		Data         []receiver `json:"data"`
	}
	if err := json.Unmarshal(a.body, &list); err != nil || a.status != http.StatusOK {
		t.Fatalf("list receivers: %s (%v)", a, err)
	}
	if list.Type != "collection" || list.ResourceType != "receiver" || len(list.Data) != 2 ||
		list.Data[0].URL != r.URL || list.Data[1].URL != d.URL {
		t.Errorf("list %s, want a receiver collection of the two receivers with their URLs", a.body)
	}
	for _, k := range []string{key, triggerKey(t, d.URL)} {
		if strings.Contains(e.logs.String(), k) {
			t.Errorf("a trigger key appears in the service's logs")
		}
	}
}

// A receiver webhook-service wrote (a genericObject posted straight to Cattle, with the original's key, url on
// Rancher's address, and config member names) is listed and shown by the service exactly as stored, and its
// trigger URL, as Rancher's proxy forwards it, scales the service.
func TestOriginalGenericObjectIsServedAndTriggerable(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	const key = "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0n"
	storedURL := "http://rancher.example.com:8080/v1-webhooks/endpoint?key=" + key + "&projectId=" + projectID
	config := map[string]any{"serviceId": web, "amount": 1, "action": "up", "min": 1, "max": 5, "type": "scaleService"}
	var obj struct {
		ID string `json:"id"`
	}
	e.sim(http.MethodPost, projectPath("genericobjects"), map[string]any{
		"name": "legacy-scale-web", "key": key, "kind": "webhookReceiver",
		"resourceData": map[string]any{"url": storedURL, "driver": "scaleService", "config": config},
	}, &obj)

	var got receiver
	eventually(t, "the original's receiver is listed", func() (bool, string) {
		a := e.api(http.MethodGet, "/v1-webhooks/receivers", nil)
		var list struct {
			Data []receiver `json:"data"`
		}
		if err := json.Unmarshal(a.body, &list); err != nil || a.status != http.StatusOK {
			return false, a.String()
		}
		for _, r := range list.Data {
			if r.ID == obj.ID {
				got = r
				return true, ""
			}
		}
		return false, a.String()
	})
	if got.URL != storedURL || got.Driver != "scaleService" || got.Name != "legacy-scale-web" ||
		!equalJSON(got.ScaleServiceConfig, config) {
		t.Errorf("listed as %+v, want the stored url, driver, name and config", got)
	}
	a := e.api(http.MethodGet, "/v1-webhooks/receivers/"+obj.ID, nil)
	var one receiver
	if err := json.Unmarshal(a.body, &one); err != nil || a.status != http.StatusOK || one.URL != storedURL {
		t.Errorf("GET receiver %s: %s", obj.ID, a)
	}

	// Rancher's proxy forwards /v1-webhooks/endpoint?key=...&projectId=... unchanged to the service.
	tr := e.trigger(e.apiURL+"/v1-webhooks/endpoint?key="+key+"&projectId="+projectID, "", nil)
	if tr.status != http.StatusOK {
		t.Fatalf("trigger the original's receiver: %s", tr)
	}
	if rep := decodeReply(t, tr); rep.Result != "scaled" || rep.To != 3 {
		t.Errorf("trigger answer %s, want scaled to 3", tr)
	}
	e.waitService(web, "web scaled to 3", func(s serviceView) bool { return s.Scale == 3 && settled(s) })
}

// equalJSON compares two values by their JSON encoding (numbers decoded as float64 compare with ints).
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var va, vb any
	if json.Unmarshal(ja, &va) != nil || json.Unmarshal(jb, &vb) != nil {
		return false
	}
	ca, _ := json.Marshal(va)
	cb, _ := json.Marshal(vb)
	return string(ca) == string(cb)
}
