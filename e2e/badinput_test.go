package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// maxBody is the service's default cap on request bodies (1 MiB); oversize bodies are one byte more, and much more.
const maxBody = 1 << 20

// oversizeJSON is a valid JSON object of n bytes or more.
func oversizeJSON(n int) []byte {
	return []byte(`{"name":"` + strings.Repeat("x", n) + `","driver":"scaleService"}`)
}

// Malformed JSON, a wrong content type and oversize bodies, on creates, updates and triggers, are answered with a
// clear 4xx in the original's error JSON, and nothing changes in Cattle: no genericObject written or removed, no
// scale, no upgrade; the existing receivers are as they were.
func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	scaleR := e.scaleReceiver("scale-web-up", web, "up", 1, 1, 5)
	upgradeR := e.upgradeReceiver("upgrade-web")
	// Both genericObjects settle (requested → active) before the picture to compare with is taken.
	var before answer
	eventually(t, "receivers active", func() (bool, string) {
		before = e.api(http.MethodGet, "/v1-webhooks/receivers", nil)
		return strings.Count(string(before.body), `"state":"active"`) == 2, before.String()
	})
	mark := e.callMark()

	valid := `{"name":"scale-web-new","driver":"scaleService","scaleServiceConfig":{"serviceId":"` + web +
		`","action":"up","amount":1,"min":1,"max":5}}`
	withType := func(ct string) http.Header {
		h := http.Header{"X-API-Project-Id": {projectID}}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		return h
	}
	const badType = "Content-Type must be supplied as header. Only application/json is supported"
	for _, tc := range []struct {
		name   string
		method string
		path   string
		header http.Header
		body   []byte
		code   int
		msg    string
	}{
		{"create: truncated JSON", http.MethodPost, "/v1-webhooks/receivers", withType("application/json"),
			[]byte(`{"name":"x","driver":`), http.StatusBadRequest, "Bad request body"},
		{"create: not an object", http.MethodPost, "/v1-webhooks/receivers", withType("application/json"),
			[]byte(`["scaleService"]`), http.StatusBadRequest, "Bad request body"},
		{"create: fractional amount", http.MethodPost, "/v1-webhooks/receivers", withType("application/json"),
			[]byte(strings.Replace(valid, `"amount":1`, `"amount":1.5`, 1)), http.StatusBadRequest, "Bad request body"},
		{"create: text/plain", http.MethodPost, "/v1-webhooks/receivers", withType("text/plain"),
			[]byte(valid), http.StatusBadRequest, badType},
		{"create: form encoded", http.MethodPost, "/v1-webhooks/receivers", withType("application/x-www-form-urlencoded"),
			[]byte("name=x&driver=scaleService"), http.StatusBadRequest, badType},
		{"create: no content type", http.MethodPost, "/v1-webhooks/receivers", withType(""),
			[]byte(valid), http.StatusBadRequest, badType},
		{"create: one byte over the cap", http.MethodPost, "/v1-webhooks/receivers", withType("application/json"),
			oversizeJSON(maxBody), http.StatusRequestEntityTooLarge, "Request body too large"},
		{"create: 8 MiB", http.MethodPost, "/v1-webhooks/receivers", withType("application/json"),
			oversizeJSON(8 * maxBody), http.StatusRequestEntityTooLarge, "Request body too large"},
		{"update: truncated JSON", http.MethodPut, "/v1-webhooks/receivers/" + scaleR.ID, withType("application/json"),
			[]byte(`{"scaleServiceConfig":{"max":`), http.StatusBadRequest, "Bad request body"},
		{"update: text/plain", http.MethodPut, "/v1-webhooks/receivers/" + scaleR.ID, withType("text/plain"),
			[]byte(`{"scaleServiceConfig":{"max":9}}`), http.StatusBadRequest, badType},
		{"update: oversize", http.MethodPut, "/v1-webhooks/receivers/" + scaleR.ID, withType("application/json"),
			oversizeJSON(maxBody), http.StatusRequestEntityTooLarge, "Request body too large"},
		{"push: truncated JSON", http.MethodPost, strings.TrimPrefix(upgradeR.URL, e.apiURL), withType("application/json"),
			[]byte(`{"push_data":{"tag":"1.14"},"repository":`), http.StatusBadRequest, "Malformed JSON"},
		{"push: a JSON string", http.MethodPost, strings.TrimPrefix(upgradeR.URL, e.apiURL), withType("application/json"),
			[]byte(`"nginx:1.14"`), http.StatusBadRequest, "Body should be of type"},
		{"push: empty", http.MethodPost, strings.TrimPrefix(upgradeR.URL, e.apiURL), withType("application/json"),
			[]byte{}, http.StatusBadRequest, "No Payload"},
		{"push: oversize", http.MethodPost, strings.TrimPrefix(upgradeR.URL, e.apiURL), withType("application/json"),
			append(append([]byte{}, dockerHubPush[:len(dockerHubPush)-1]...), []byte(`,"x":"`+strings.Repeat("y", maxBody)+`"}`)...),
			http.StatusRequestEntityTooLarge, "Request body too large"},
		{"scale trigger: oversize", http.MethodPost, strings.TrimPrefix(scaleR.URL, e.apiURL), withType("application/json"),
			oversizeJSON(2 * maxBody), http.StatusRequestEntityTooLarge, "Request body too large"},
		{"trigger without key", http.MethodPost, "/v1-webhooks/endpoint?projectId=" + projectID, withType(""),
			[]byte{}, http.StatusBadRequest, "Invalid execute url"},
		{"trigger with an unknown key", http.MethodPost, "/v1-webhooks/endpoint?key=" + strings.Repeat("a", 40) + "&projectId=" + projectID,
			withType(""), []byte{}, http.StatusForbidden, revoked},
	} {
		wantError(t, tc.name, e.must(tc.method, e.apiURL+tc.path, tc.header, tc.body), tc.code, tc.msg)
	}

	calls, _ := e.callsSince(mark)
	for _, c := range calls {
		if c.Method != http.MethodGet {
			t.Errorf("refused input changed something in cattle: %v %s", c, c.Body)
		}
	}
	after := e.api(http.MethodGet, "/v1-webhooks/receivers", nil)
	if !bytes.Equal(before.body, after.body) {
		t.Errorf("receivers changed:\nbefore %s\nafter  %s", before.body, after.body)
	}
	var list struct {
		Data []receiver `json:"data"`
	}
	if err := json.Unmarshal(after.body, &list); err != nil || len(list.Data) != 2 {
		t.Errorf("receivers after refused input: %s, want the two created before", after)
	}
	if s := e.service(web); s.Scale != 2 || s.LaunchConfig.ImageUUID != "docker:nginx:1.13" {
		t.Errorf("web at scale %d on %s, want 2 on docker:nginx:1.13", s.Scale, s.LaunchConfig.ImageUUID)
	}
	// The receivers still work after all that.
	if a := e.trigger(scaleR.URL, "", nil); a.status != http.StatusOK {
		t.Errorf("scale receiver after refused input: %s", a)
	}
}
