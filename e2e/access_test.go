package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
)

const revoked = "Requested webhook has been revoked/does not exist for this account"

// A deleted receiver's trigger URL answers 403 at once (not when Cattle has finished removing the object) and
// keeps answering 403 after, and the service is not scaled.
func TestDeletedReceiverURLIsRevoked(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	r := e.scaleReceiver("scale-web-up", web, "up", 1, 1, 5)
	if a := e.api(http.MethodDelete, "/v1-webhooks/receivers/"+r.ID, nil); a.status != http.StatusNoContent {
		t.Fatalf("delete receiver: %s, want 204", a)
	}
	mark := e.callMark()
	wantError(t, "trigger right after delete", e.trigger(r.URL, "", nil), http.StatusForbidden, revoked)

	eventually(t, "the genericObject removed in cattle", func() (bool, string) {
		var obj struct {
			State string `json:"state"`
		}
		e.sim(http.MethodGet, projectPath("genericobjects/"+r.ID), nil, &obj)
		return obj.State == "removed" || obj.State == "purged", "state " + obj.State
	})
	wantError(t, "trigger once removed", e.trigger(r.URL, "", nil), http.StatusForbidden, revoked)

	calls, _ := e.callsSince(mark)
	if puts := scalePUTs(calls, web); len(puts) != 0 {
		t.Errorf("a revoked receiver scaled web: %v", puts)
	}
	if s := e.service(web); s.Scale != 2 {
		t.Errorf("web at scale %d, want 2", s.Scale)
	}
	a := e.api(http.MethodGet, "/v1-webhooks/receivers", nil)
	var list struct {
		Data []receiver `json:"data"`
	}
	if err := json.Unmarshal(a.body, &list); err != nil || len(list.Data) != 0 {
		t.Errorf("receivers after delete: %s, want none listed", a)
	}
}

// The service runs for 1a5 only. A receiver of 1a7 (written there by webhook-service) cannot be read, changed,
// deleted or triggered through it, whichever way the project is named; a 1a5 receiver cannot be reached by
// naming 1a7; and nothing changes in either project.
func TestOtherProjectCannotBeReadChangedOrTriggered(t *testing.T) {
	t.Parallel()
	e := start(t)
	api7 := e.info.Objects[otherProject+"/service/api"]
	const key7 = "Zy9xWv8uTs7rQp6oNm5lKj4iHg3fEd2cBa1zYx0w"
	config7 := map[string]any{"serviceId": api7, "action": "up", "amount": 1, "min": 1, "max": 5}
	var obj7 struct {
		ID string `json:"id"`
	}
	a := e.simAs(e.otherCred(), http.MethodPost, "/v2-beta/projects/"+otherProject+"/genericobjects", map[string]any{
		"name": "scale-api-up", "key": key7, "kind": "webhookReceiver",
		"resourceData": map[string]any{"url": "http://rancher:8080/v1-webhooks/endpoint?key=" + key7 + "&projectId=" + otherProject,
			"driver": "scaleService", "config": config7},
	})
	if a.status != http.StatusCreated || json.Unmarshal(a.body, &obj7) != nil {
		t.Fatalf("create 1a7 genericObject: %s", a)
	}
	web := e.id("service/web")
	own := e.scaleReceiver("scale-web-up", web, "up", 1, 1, 5)
	mark := e.callMark()

	as := func(project string) http.Header { return jsonHeader("X-API-Project-Id", project) }
	update := []byte(`{"scaleServiceConfig":{"serviceId":"` + api7 + `","action":"up","amount":3,"min":1,"max":9}}`)
	for _, tc := range []struct {
		name   string
		method string
		path   string
		header http.Header
		body   []byte
		code   int
	}{
		{"read 1a7's receiver as 1a5", http.MethodGet, "/v1-webhooks/receivers/" + obj7.ID, as(projectID), nil, http.StatusNotFound},
		{"read 1a7's receiver as 1a7", http.MethodGet, "/v1-webhooks/receivers/" + obj7.ID, as(otherProject), nil, http.StatusForbidden},
		{"read 1a7's receiver by query", http.MethodGet, "/v1-webhooks/receivers/" + obj7.ID + "?projectId=" + otherProject, jsonHeader(), nil, http.StatusForbidden},
		{"list 1a7's receivers", http.MethodGet, "/v1-webhooks/receivers?projectId=" + otherProject, jsonHeader(), nil, http.StatusForbidden},
		{"header 1a5, query 1a7", http.MethodGet, "/v1-webhooks/receivers?projectId=" + otherProject, as(projectID), nil, http.StatusForbidden},
		{"change 1a7's receiver as 1a5", http.MethodPut, "/v1-webhooks/receivers/" + obj7.ID, as(projectID), update, http.StatusNotFound},
		{"change 1a7's receiver as 1a7", http.MethodPut, "/v1-webhooks/receivers/" + obj7.ID, as(otherProject), update, http.StatusForbidden},
		{"delete 1a7's receiver as 1a5", http.MethodDelete, "/v1-webhooks/receivers/" + obj7.ID, as(projectID), nil, http.StatusNotFound},
		{"delete 1a7's receiver as 1a7", http.MethodDelete, "/v1-webhooks/receivers/" + obj7.ID, as(otherProject), nil, http.StatusForbidden},
		{"read a 1a5 receiver as 1a7", http.MethodGet, "/v1-webhooks/receivers/" + own.ID, as(otherProject), nil, http.StatusForbidden},
		{"change a 1a5 receiver as 1a7", http.MethodPut, "/v1-webhooks/receivers/" + own.ID, as(otherProject), update, http.StatusForbidden},
		{"delete a 1a5 receiver as 1a7", http.MethodDelete, "/v1-webhooks/receivers/" + own.ID, as(otherProject), nil, http.StatusForbidden},
		{"1a7's executions", http.MethodGet, "/v1-webhooks/executions", as(otherProject), nil, http.StatusForbidden},
		{"trigger 1a7's key in 1a7", http.MethodPost, "/v1-webhooks/endpoint?key=" + key7 + "&projectId=" + otherProject, http.Header{}, []byte{}, http.StatusForbidden},
		{"trigger 1a7's key in 1a5", http.MethodPost, "/v1-webhooks/endpoint?key=" + key7 + "&projectId=" + projectID, http.Header{}, []byte{}, http.StatusForbidden},
		{"trigger a 1a5 key in 1a7", http.MethodPost, "/v1-webhooks/endpoint?key=" + triggerKey(t, own.URL) + "&projectId=" + otherProject, http.Header{}, []byte{}, http.StatusForbidden},
	} {
		a := e.must(tc.method, e.apiURL+tc.path, tc.header, tc.body)
		if a.status != tc.code {
			t.Errorf("%s: %s, want %d", tc.name, a, tc.code)
		}
		var body errorBody
		if err := json.Unmarshal(a.body, &body); err != nil || body.Type != "error" || body.StatusCode != tc.code {
			t.Errorf("%s: answer %s is not the error JSON", tc.name, a)
		}
	}

	calls, _ := e.callsSince(mark)
	for _, c := range calls {
		if c.Method != http.MethodGet {
			t.Errorf("a refused request changed something in cattle: %v %s", c, c.Body)
		}
	}
	var stored struct {
		State        string         `json:"state"`
		ResourceData map[string]any `json:"resourceData"`
	}
	if a := e.simAs(e.otherCred(), http.MethodGet, "/v2-beta/projects/"+otherProject+"/genericobjects/"+obj7.ID, nil); a.status != http.StatusOK ||
		json.Unmarshal(a.body, &stored) != nil || stored.State == "removing" || stored.State == "removed" ||
		!equalJSON(stored.ResourceData["config"], config7) {
		t.Errorf("1a7's receiver after the attempts: %s, want it live and unchanged", a)
	}
	var api struct {
		Scale int `json:"scale"`
	}
	if a := e.simAs(e.otherCred(), http.MethodGet, "/v2-beta/projects/"+otherProject+"/services/"+api7, nil); json.Unmarshal(a.body, &api) != nil || api.Scale != 1 {
		t.Errorf("1a7's api service: %s, want scale 1", a)
	}
	// The 1a5 receiver still works for 1a5.
	if a := e.trigger(own.URL, "", nil); a.status != http.StatusOK {
		t.Errorf("the 1a5 receiver after the refused attempts: %s, want 200", a)
	}
}
