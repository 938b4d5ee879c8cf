package cattlesim

import (
	"net/http"
	"strings"
	"testing"
)

func TestDiscoveryRoots(t *testing.T) {
	e := newRestEnv(t)
	base := e.srv.URL
	tests := []struct {
		name, path  string
		wantSchemas string
		check       func(t *testing.T, r restResponse)
	}{
		{"root lists v2-beta", "/", base + "/v2-beta/schemas", func(t *testing.T, r restResponse) {
			if r.body["resourceType"] != "apiVersion" || len(r.data(t)) != 1 || r.data(t)[0]["id"] != "v2-beta" {
				t.Fatalf("root: %s", r.raw)
			}
		}},
		{"version root links collections", "/v2-beta", base + "/v2-beta/schemas", func(t *testing.T, r restResponse) {
			links := jobj(r.body["links"])
			if links["services"] != base+"/v2-beta/services" || links["genericObjects"] != base+"/v2-beta/genericobjects" ||
				links["schemas"] != base+"/v2-beta/schemas" {
				t.Fatalf("links: %v", links)
			}
		}},
		{"project root", "/v2-beta/projects/1a5", base + "/v2-beta/projects/1a5/schemas", func(t *testing.T, r restResponse) {
			links := jobj(r.body["links"])
			if r.body["id"] != "1a5" || r.body["type"] != "project" || r.body["name"] != "Default" ||
				links["self"] != base+"/v2-beta/projects/1a5" ||
				links["services"] != base+"/v2-beta/projects/1a5/services" ||
				links["loadBalancerServices"] != base+"/v2-beta/projects/1a5/loadbalancerservices" {
				t.Fatalf("project: %s", r.raw)
			}
		}},
		{"project schemas", "/v2-beta/projects/1a5/schemas", base + "/v2-beta/projects/1a5/schemas", nil},
		{"single schema any case", "/v2-beta/schemas/LoadBalancerService", base + "/v2-beta/schemas", func(t *testing.T, r restResponse) {
			if r.body["id"] != "loadBalancerService" || r.body["parent"] != "service" {
				t.Fatalf("schema: %s", r.raw)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodGet, tc.path, &e.env5, nil).must(t, http.StatusOK)
			if got := r.header.Get("X-API-Schemas"); got != tc.wantSchemas {
				t.Fatalf("X-API-Schemas %q, want %q", got, tc.wantSchemas)
			}
			if got := r.header.Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Fatalf("Content-Type %q", got)
			}
			if r.header.Get("X-API-Account-Id") != "1a5" || r.header.Get("X-API-Account-Kind") != "project" {
				t.Fatalf("account headers %v", r.header)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestSchemasHeaderOnEveryResponse(t *testing.T) {
	e := newRestEnv(t)
	base := e.srv.URL
	tests := []struct {
		name, method, path string
		cred               *Credential
		status             int
		want               string
	}{
		{"unauthorized", http.MethodGet, "/v2-beta/services", nil, http.StatusUnauthorized, base + "/v2-beta/schemas"},
		{"forbidden scoped", http.MethodGet, "/v2-beta/projects/1a7/services", &e.env5, http.StatusForbidden, base + "/v2-beta/projects/1a7/schemas"},
		{"not found", http.MethodGet, "/v2-beta/nosuchthings", &e.env5, http.StatusNotFound, base + "/v2-beta/schemas"},
		{"no v1", http.MethodGet, "/v1/services", &e.env5, http.StatusNotFound, base + "/v2-beta/schemas"},
		{"unprocessable", http.MethodPost, "/v2-beta/projects/1a5/services", &e.env5, http.StatusUnprocessableEntity, base + "/v2-beta/projects/1a5/schemas"},
		{"method not allowed", http.MethodPost, "/v2-beta/instances", &e.env5, http.StatusMethodNotAllowed, base + "/v2-beta/schemas"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.cred, "{}").must(t, tc.status)
			if got := r.header.Get("X-API-Schemas"); got != tc.want {
				t.Fatalf("X-API-Schemas %q, want %q", got, tc.want)
			}
			if r.body["type"] != "error" {
				t.Fatalf("not an error body: %s", r.raw)
			}
		})
	}
}

func TestSchemasCollectionShape(t *testing.T) {
	e := newRestEnv(t)
	base := e.srv.URL
	r := e.do(http.MethodGet, "/v2-beta/projects/1a5/schemas", &e.env5, nil).must(t, http.StatusOK)
	if r.body["type"] != "collection" || r.body["resourceType"] != "schema" ||
		jobj(r.body["links"])["self"] != base+"/v2-beta/projects/1a5/schemas" {
		t.Fatalf("envelope: type=%v resourceType=%v links=%v", r.body["type"], r.body["resourceType"], r.body["links"])
	}
	byID := map[string]map[string]any{}
	for _, sc := range r.data(t) {
		byID[jstr(sc["id"])] = sc
	}
	// §7.1: the types a client needs, with their collection URL (project-scoped, lower-cased).
	wantCollections := map[string]string{
		"service": "services", "loadBalancerService": "loadbalancerservices", "dnsService": "dnsservices",
		"externalService": "externalservices", "host": "hosts", "container": "containers", "instance": "instances",
		"stack": "stacks", "genericObject": "genericobjects", "hostTemplate": "hosttemplates",
		"externalHostEvent": "externalhostevents", "subscribe": "subscribe", "publish": "publish", "project": "projects",
	}
	for id, plural := range wantCollections {
		t.Run(id, func(t *testing.T) {
			sc := byID[id]
			if sc == nil {
				t.Fatalf("schema %s missing", id)
			}
			links := jobj(sc["links"])
			if links["collection"] != base+"/v2-beta/projects/1a5/"+plural {
				t.Fatalf("collection link %v", links["collection"])
			}
			if links["self"] != base+"/v2-beta/projects/1a5/schemas/"+strings.ToLower(id) {
				t.Fatalf("self link %v", links["self"])
			}
			for _, k := range []string{"pluralName", "collectionMethods", "resourceMethods", "resourceFields",
				"resourceActions", "collectionFilters"} {
				if _, ok := sc[k]; !ok {
					t.Fatalf("schema %s lacks %s", id, k)
				}
			}
			if sc["type"] != "schema" {
				t.Fatalf("type %v", sc["type"])
			}
		})
	}

	svc := byID["service"]
	scale := jobj(jobj(svc["resourceFields"])["scale"])
	if scale["type"] != "int" || scale["default"] != float64(1) || scale["min"] != float64(0) || scale["update"] != true {
		t.Fatalf("service.scale: %v", scale)
	}
	if lc := jobj(jobj(svc["resourceFields"])["launchConfig"]); lc["create"] != true || lc["update"] != false {
		t.Fatalf("launchConfig must be create-only: %v", lc)
	}
	if cs := jobj(jobj(svc["resourceFields"])["currentScale"]); cs["create"] != false || cs["update"] != false {
		t.Fatalf("currentScale must be read-only: %v", cs)
	}
	if up := jobj(jobj(svc["resourceActions"])["upgrade"]); up["input"] != "serviceUpgrade" || up["output"] != "service" {
		t.Fatalf("upgrade action: %v", up)
	}
	for _, f := range []string{"name", "kind", "state", "stackId", "healthState", "removed", "system", "uuid", "id"} {
		if jobj(jobj(svc["collectionFilters"])[f])["modifiers"] == nil {
			t.Fatalf("service filter %s missing: %v", f, svc["collectionFilters"])
		}
	}
	if _, ok := jobj(svc["collectionFilters"])["labels"]; ok {
		t.Fatalf("labels must not be filterable (§2.4)")
	}
	host := byID["host"]
	if lbl := jobj(jobj(host["resourceFields"])["labels"]); lbl["update"] != true {
		t.Fatalf("host labels must be updatable: %v", lbl)
	}
	if ac := jobj(jobj(host["resourceFields"])["amazonec2Config"]); ac["type"] != "amazonec2Config" || ac["create"] != true {
		t.Fatalf("host amazonec2Config: %v", ac)
	}
	if m := byID["instance"]["collectionMethods"].([]any); len(m) != 1 || m[0] != "GET" {
		t.Fatalf("instances must be read-only: %v", m)
	}
	if _, ok := byID["launchConfig"]; !ok {
		t.Fatalf("embedded launchConfig schema missing")
	}
	if byID["launchConfig"]["links"].(map[string]any)["collection"] != nil {
		t.Fatalf("embedded types have no collection")
	}
}

func TestProjectsListedPerKey(t *testing.T) {
	e := newRestEnv(t)
	tests := []struct {
		name string
		cred *Credential
		want []string
	}{
		{"environment key sees its project", &e.env5, []string{"1a5"}},
		{"other environment key", &e.env7, []string{"1a7"}},
		{"admin sees all", &e.admin, []string{"1a5", "1a7"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := e.do(http.MethodGet, "/v2-beta/projects", tc.cred, nil).must(t, http.StatusOK).ids(t)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("projects %v, want %v", got, tc.want)
			}
		})
	}
}
