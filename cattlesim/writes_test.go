package cattlesim

import (
	"net/http"
	"strings"
	"testing"
)

func TestCreateValidation(t *testing.T) {
	e := newRestEnv(t)
	st := e.addStack(5, "demo")
	foreign := e.addStack(7, "other")
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		code   string
		field  string
	}{
		{"missing name", "/v2-beta/services", map[string]any{"stackId": st.APIID()}, 422, "MissingRequired", "name"},
		{"empty name", "/v2-beta/services", map[string]any{"stackId": st.APIID(), "name": ""}, 422, "MissingRequired", "name"},
		{"missing stackId", "/v2-beta/services", map[string]any{"name": "web"}, 422, "MissingRequired", "stackId"},
		{"unknown stack", "/v2-beta/services", map[string]any{"name": "web", "stackId": "1st99"}, 422, "InvalidReference", "stackId"},
		{"stack of another project", "/v2-beta/services", map[string]any{"name": "web", "stackId": foreign.APIID()}, 422, "InvalidReference", "stackId"},
		{"negative scale", "/v2-beta/services", map[string]any{"name": "web", "stackId": st.APIID(), "scale": -1}, 422, "MinLimitExceeded", "scale"},
		{"non-numeric scale", "/v2-beta/services", map[string]any{"name": "web", "stackId": st.APIID(), "scale": "many"}, 422, "InvalidFormat", "scale"},
		{"fractional scale", "/v2-beta/services", map[string]any{"name": "web", "stackId": st.APIID(), "scale": 1.5}, 422, "InvalidFormat", "scale"},
		{"bad name characters", "/v2-beta/services", map[string]any{"name": "web_1", "stackId": st.APIID()}, 422, "InvalidCharacters", "name"},
		{"null on a non-nullable field", "/v2-beta/services", map[string]any{"name": "web", "stackId": st.APIID(), "scale": nil}, 422, "NotNullable", "scale"},
		{"launchConfig not an object", "/v2-beta/services", map[string]any{"name": "web", "stackId": st.APIID(), "launchConfig": "nginx"}, 422, "InvalidFormat", "launchConfig"},
		{"malformed JSON", "/v2-beta/services", `{"name":`, 422, "InvalidBodyContent", ""},
		{"JSON array body", "/v2-beta/services", `[1]`, 422, "InvalidBodyContent", ""},
		{"enum option", "/v2-beta/containers", map[string]any{"imageUuid": "docker:x", "networkMode": "weird"}, 422, "InvalidOption", "networkMode"},
		{"missing imageUuid", "/v2-beta/containers", map[string]any{"name": "c"}, 422, "MissingRequired", "imageUuid"},
		{"read-only instances", "/v2-beta/instances", map[string]any{"imageUuid": "docker:x"}, 405, "Method not allowed", ""},
		{"unknown collection", "/v2-beta/widgets", map[string]any{}, 404, "Not Found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.sim.State().Counts
			e.do(http.MethodPost, tc.path, &e.env5, tc.body).wantError(t, tc.status, tc.code, tc.field)
			after := e.sim.State().Counts
			if before["service"] != after["service"] || before["container"] != after["container"] {
				t.Fatalf("a rejected create stored something: %v → %v", before, after)
			}
		})
	}
}

func TestCreateReducesInput(t *testing.T) {
	e := newRestEnv(t)
	st := e.addStack(5, "demo")
	r := e.do(http.MethodPost, "/v2-beta/projects/1a5/services", &e.env5, map[string]any{
		"name": "web", "stackId": strings.TrimPrefix(st.APIID(), "1st"), // plain numbers are references too
		"launchConfig": map[string]any{"type": "launchConfig", "imageUuid": "docker:nginx", "labels": map[string]any{"a": "b"}},
		"currentScale": 9, "id": "1s77", "state": "active", "bogus": true, "links": nil, "actions": nil,
		"accountId": "1a7",
	}).must(t, http.StatusCreated)
	id, _ := ParseID(jstr(r.body["id"]))
	e.sim.mu.Lock()
	o := e.sim.getLocked("service", id)
	fields := cloneMap(o.Fields)
	account := o.AccountID
	e.sim.mu.Unlock()

	if account != 5 {
		t.Fatalf("created in account %d, want 5 (body accountId ignored for environment keys)", account)
	}
	for _, k := range []string{"id", "state", "bogus", "links", "actions", "accountId"} {
		if _, ok := fields[k]; ok {
			t.Errorf("non-creatable %q reached the store", k)
		}
	}
	if fields["currentScale"] == float64(9) {
		t.Errorf("read-only currentScale taken from the input")
	}
	if fields["stackId"] != st.APIID() {
		t.Errorf("stackId normalised to %v, want %s", fields["stackId"], st.APIID())
	}
	if fields["scale"] != float64(1) || fields["startOnCreate"] != true {
		t.Errorf("defaults not applied: scale=%v startOnCreate=%v", fields["scale"], fields["startOnCreate"])
	}
	if lc := jobj(fields["launchConfig"]); lc["imageUuid"] != "docker:nginx" {
		t.Errorf("launchConfig stored as %v", lc)
	}
	if jobj(r.body["launchConfig"])["type"] != "launchConfig" {
		t.Errorf("rendered launchConfig lacks its type")
	}
	if jobj(r.body["links"])["self"] != e.srv.URL+"/v2-beta/projects/1a5/services/"+jstr(r.body["id"]) {
		t.Errorf("self %v", jobj(r.body["links"])["self"])
	}
}

func TestCreateAsAdmin(t *testing.T) {
	e := newRestEnv(t)
	st := e.addStack(7, "other")
	t.Run("needs a project", func(t *testing.T) {
		e.do(http.MethodPost, "/v2-beta/genericobjects", &e.admin, map[string]any{"name": "x"}).
			wantError(t, http.StatusUnprocessableEntity, "MissingRequired", "accountId")
	})
	t.Run("accountId in the body", func(t *testing.T) {
		r := e.do(http.MethodPost, "/v2-beta/services", &e.admin, map[string]any{"name": "api", "stackId": st.APIID(),
			"accountId": "1a7"}).must(t, http.StatusCreated)
		if r.body["accountId"] != "1a7" {
			t.Fatalf("accountId %v", r.body["accountId"])
		}
	})
	t.Run("project header", func(t *testing.T) {
		r := e.do(http.MethodPost, "/v2-beta/genericobjects", &e.admin, map[string]any{"name": "g", "kind": "k"},
			"X-API-Project-Id", "1a5").must(t, http.StatusCreated)
		if r.body["accountId"] != "1a5" || r.body["kind"] != "k" {
			t.Fatalf("created %s", r.raw)
		}
	})
}

func TestUpdate(t *testing.T) {
	e := newRestEnv(t)
	svc := e.addService(5, "service", "web", nil)
	path := "/v2-beta/projects/1a5/services/" + svc.APIID()

	t.Run("only updatable fields are applied", func(t *testing.T) {
		// The exact body webhook-service's scaleService driver sends (§6.5).
		r := e.do(http.MethodPut, path, &e.env5, map[string]any{"links": nil, "actions": nil, "scale": 3,
			"currentScale": 99, "id": "1s99", "launchConfig": map[string]any{"imageUuid": "docker:evil"}, "bogus": 1}).
			must(t, http.StatusOK)
		if r.body["scale"] != float64(3) || r.body["id"] != svc.APIID() {
			t.Fatalf("answer: %s", r.raw)
		}
		e.sim.mu.Lock()
		defer e.sim.mu.Unlock()
		if svc.Fields["scale"] != float64(3) {
			t.Fatalf("scale %v", svc.Fields["scale"])
		}
		for _, k := range []string{"bogus", "id", "links"} {
			if _, ok := svc.Fields[k]; ok {
				t.Fatalf("%s reached the store", k)
			}
		}
		if svc.Fields["currentScale"] == float64(99) {
			t.Fatalf("read-only currentScale taken from the input")
		}
		if jobj(svc.Fields["launchConfig"])["imageUuid"] != "docker:nginx" {
			t.Fatalf("launchConfig is create-only but changed to %v", svc.Fields["launchConfig"])
		}
	})
	t.Run("nullable fields accept null", func(t *testing.T) {
		e.do(http.MethodPut, path, &e.env5, map[string]any{"description": nil, "scalePolicy": nil}).must(t, http.StatusOK)
	})
	tests := []struct {
		name, path  string
		body        any
		status      int
		code, field string
	}{
		{"null scale", path, map[string]any{"scale": nil}, 422, "NotNullable", "scale"},
		{"scale below min", path, map[string]any{"scale": -2}, 422, "MinLimitExceeded", "scale"},
		{"malformed", path, `{`, 422, "InvalidBodyContent", ""},
		{"unknown id", "/v2-beta/projects/1a5/services/1s404", map[string]any{"scale": 1}, 404, "Not Found", ""},
		{"garbage id", "/v2-beta/projects/1a5/services/xyz", map[string]any{"scale": 1}, 404, "Not Found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.do(http.MethodPut, tc.path, &e.env5, tc.body).wantError(t, tc.status, tc.code, tc.field)
		})
	}
	t.Run("_method override", func(t *testing.T) {
		fresh := e.addService(5, "service", "api", nil)
		r := e.do(http.MethodPost, "/v2-beta/services/"+fresh.APIID()+"?_method=PUT", &e.env5,
			map[string]any{"scale": 4}).must(t, http.StatusOK)
		if r.body["scale"] != float64(4) {
			t.Fatalf("scale %v", r.body["scale"])
		}
	})
	t.Run("create-only type has no PUT", func(t *testing.T) {
		g := e.insert(&Object{Type: "genericObject", BaseType: "genericObject", AccountID: 5})
		e.do(http.MethodPut, "/v2-beta/genericobjects/"+g.APIID(), &e.env5, map[string]any{"name": "x"}).
			wantError(t, http.StatusMethodNotAllowed, "Method not allowed", "")
	})
}

func TestDeleteAndActions(t *testing.T) {
	e := newRestEnv(t)
	svc := e.addService(5, "service", "web", nil)
	self := "/v2-beta/projects/1a5/services/" + svc.APIID()

	t.Run("unknown action", func(t *testing.T) {
		r := e.do(http.MethodPost, self+"/?action=explode", &e.env5, nil)
		r.wantError(t, http.StatusUnprocessableEntity, "InvalidAction", "action")
		// Full error shape (§2.6).
		for _, k := range []string{"id", "links", "actions", "message", "detail"} {
			if _, ok := r.body[k]; !ok {
				t.Fatalf("error lacks %s: %s", k, r.raw)
			}
		}
		if len(jstr(r.body["id"])) != 36 || len(jobj(r.body["links"])) != 0 || r.body["message"] != nil {
			t.Fatalf("error shape: %s", r.raw)
		}
	})
	t.Run("action without the slash", func(t *testing.T) {
		e.do(http.MethodPost, self+"?action=explode", &e.env5, nil).wantError(t, 422, "InvalidAction", "action")
	})
	t.Run("action not available in the current state", func(t *testing.T) {
		// "activate" starts only from inactive/restarting; the service is active.
		e.do(http.MethodPost, self+"/?action=activate", &e.env5, nil).wantError(t, 422, "ActionNotAvailable", "action")
	})
	t.Run("action on unknown id", func(t *testing.T) {
		e.do(http.MethodPost, "/v2-beta/services/1s999/?action=activate", &e.env5, nil).wantError(t, 404, "Not Found", "")
	})
	t.Run("delete answers the reloaded resource", func(t *testing.T) {
		r := e.do(http.MethodDelete, self, &e.env5, nil).must(t, http.StatusOK)
		if r.body["id"] != svc.APIID() || (r.body["state"] != "removing" && r.body["state"] != "removed") {
			t.Fatalf("delete answer: %s", r.raw)
		}
	})
	t.Run("delete of unknown id", func(t *testing.T) {
		e.do(http.MethodDelete, "/v2-beta/services/1s999", &e.env5, nil).wantError(t, 404, "Not Found", "")
	})
}

func TestContainersCreatable(t *testing.T) {
	e := newRestEnv(t)
	r := e.do(http.MethodPost, "/v2-beta/containers", &e.env5, map[string]any{"imageUuid": "docker:busybox",
		"labels": map[string]any{"n": 1}}).must(t, http.StatusCreated)
	if r.body["type"] != "container" || r.body["baseType"] != "instance" || !strings.HasPrefix(jstr(r.body["id"]), "1i") {
		t.Fatalf("container: %s", r.raw)
	}
	if jobj(r.body["labels"])["n"] != "1" {
		t.Fatalf("map[string] values are stringified: %v", r.body["labels"])
	}
	if ids := e.do(http.MethodGet, "/v2-beta/instances", &e.env5, nil).must(t, http.StatusOK).ids(t); len(ids) != 1 {
		t.Fatalf("instances %v", ids)
	}
}

func TestBodyTooLarge(t *testing.T) {
	e := newRestEnv(t)
	big := `{"name":"` + strings.Repeat("a", maxBodyBytes) + `"}`
	e.do(http.MethodPost, "/v2-beta/genericobjects", &e.env5, big).wantError(t, http.StatusRequestEntityTooLarge,
		"Request Entity Too Large", "")
}

func TestReduceInput(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	sc := s.schemas["inServiceUpgradeStrategy"]
	s.mu.Lock()
	defer s.mu.Unlock()
	out, aerr := s.reduceInputLocked(sc, 5, map[string]any{
		"launchConfig":           map[string]any{"type": "launchConfig", "imageUuid": "docker:x"},
		"secondaryLaunchConfigs": map[string]any{"name": "side"}, // a scalar becomes a one-element array
		"batchSize":              "2",                            // numeric strings are ints
		"previousLaunchConfig":   map[string]any{},               // read-only: dropped
	}, true)
	if aerr != nil {
		t.Fatalf("reduce: %v", aerr)
	}
	if lc := jobj(out["launchConfig"]); lc["type"] != nil || lc["imageUuid"] != "docker:x" {
		t.Fatalf("launchConfig %v: the input type member is dropped", lc)
	}
	if arr, ok := out["secondaryLaunchConfigs"].([]any); !ok || len(arr) != 1 {
		t.Fatalf("secondaryLaunchConfigs %v", out["secondaryLaunchConfigs"])
	}
	if out["batchSize"] != float64(2) || out["intervalMillis"] != float64(2000) || out["startFirst"] != false {
		t.Fatalf("conversion/defaults: %v", out)
	}
	if _, ok := out["previousLaunchConfig"]; ok {
		t.Fatalf("read-only field kept")
	}
}

// TestRenderedResourcesRoundTrip: clients post back what they read (webhook-service clones a host from its raw
// GET JSON, §6.5; go-rancher PUTs whole structs). Every rendered member that is not writable must be dropped,
// and rendered nulls of writable fields must be accepted.
func TestRenderedResourcesRoundTrip(t *testing.T) {
	e := newRestEnv(t)
	host := e.insert(&Object{Type: "host", BaseType: "host", AccountID: 5, Fields: map[string]any{
		"name": "worker-01", "hostname": "worker-01", "driver": "amazonec2", "labels": map[string]any{"pool": "workers"},
		"amazonec2Config": map[string]any{"region": "us-east-1", "instanceType": "t2.micro", "accessKey": "AK"},
	}})
	raw := e.do(http.MethodGet, "/v2-beta/projects/1a5/hosts/"+host.APIID(), &e.env5, nil).must(t, http.StatusOK).body
	raw["name"] = ""
	raw["hostname"] = "worker-02"
	r := e.do(http.MethodPost, "/v2-beta/projects/1a5/hosts", &e.env5, raw).must(t, http.StatusCreated)
	if r.body["hostname"] != "worker-02" || jobj(r.body["amazonec2Config"])["region"] != "us-east-1" ||
		jobj(r.body["labels"])["pool"] != "workers" || r.body["id"] == host.APIID() {
		t.Fatalf("cloned host: %s", r.raw)
	}

	svc := e.addService(5, "service", "web", e.addStack(5, "demo"))
	full := e.do(http.MethodGet, "/v2-beta/projects/1a5/services/"+svc.APIID(), &e.env5, nil).must(t, http.StatusOK).body
	full["description"] = "edited"
	r = e.do(http.MethodPut, jstr(jobj(full["links"])["self"]), &e.env5, full).must(t, http.StatusOK)
	if r.body["description"] != "edited" {
		t.Fatalf("PUT of a full rendering: %s", r.raw)
	}
}
