package conformance

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/cattle"
)

// §2.1, §7.1: discovery. The version root, the project and its schemas answer 200 with X-API-Schemas
// (project-scoped when the path was), schemas describe every type a client needs with project-scoped,
// lower-cased collection links, and our client discovers the API from any CATTLE_URL form.

func TestDiscoveryXAPISchemasHeader(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	unscoped, scoped := e.url+"/v2-beta/schemas", e.url+project5+"/schemas"
	for _, tc := range []struct {
		path, want string
		status     int
	}{
		{"/v2-beta", unscoped, http.StatusOK},
		{"/v2-beta/schemas", unscoped, http.StatusOK},
		{"/v2-beta/services", unscoped, http.StatusOK},
		{project5, scoped, http.StatusOK},
		{project5 + "/schemas", scoped, http.StatusOK},
		{project5 + "/schemas/service", scoped, http.StatusOK},
		{project5 + "/services", scoped, http.StatusOK},
		{project5 + "/hosts/" + e.id("1a5/host/worker-01"), scoped, http.StatusOK},
		// Every answer carries it, errors included (§2.1).
		{project5 + "/services/1s999999", scoped, http.StatusNotFound},
	} {
		r := e.do(http.MethodGet, tc.path, &e.env5, nil)
		if r.status != tc.status {
			t.Errorf("GET %s = %d, want %d; body %s", tc.path, r.status, tc.status, snippet(r.raw))
		}
		if got := r.header.Get("X-API-Schemas"); got != tc.want {
			t.Errorf("GET %s: X-API-Schemas %q, want %q", tc.path, got, tc.want)
		}
		if got := r.header.Get("Content-Type"); got != "application/json; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q, want application/json; charset=utf-8", tc.path, got)
		}
	}

	root := e.do(http.MethodGet, "/v2-beta", &e.env5, nil).body
	if got := str(obj(root, "links"), "schemas"); got != unscoped {
		t.Errorf("/v2-beta links.schemas = %q, want %q", got, unscoped)
	}
	project := e.do(http.MethodGet, project5, &e.env5, nil).body
	if str(project, "id") != "1a5" || str(project, "type") != "project" {
		t.Errorf("GET %s: id %q type %q, want 1a5 project", project5, str(project, "id"), str(project, "type"))
	}
}

func TestDiscoverySchemas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(http.MethodGet, project5+"/schemas", &e.env5, nil).expect(t, http.StatusOK, "GET schemas")
	if str(r.body, "type") != "collection" || str(r.body, "resourceType") != "schema" {
		t.Fatalf("schemas envelope: type %q resourceType %q, want collection/schema", str(r.body, "type"),
			str(r.body, "resourceType"))
	}
	byID := map[string]map[string]any{}
	for _, s := range r.data(t) {
		byID[str(s, "id")] = s
	}
	// The schema ids §7.1 lists, with the service subkinds.
	requiredSchemas := []string{"service", "loadBalancerService", "dnsService", "externalService", "host",
		"container", "instance", "stack", "genericObject", "hostTemplate", "externalHostEvent", "subscribe", "publish"}
	for _, id := range requiredSchemas {
		s, ok := byID[id]
		if !ok {
			t.Errorf("schema %s missing (§7.1)", id)
			continue
		}
		if str(s, "pluralName") == "" {
			t.Errorf("schema %s has no pluralName", id)
		}
		links := obj(s, "links")
		if self := str(links, "self"); !strings.HasPrefix(self, e.url+project5+"/schemas/") {
			t.Errorf("schema %s links.self %q, want under %s", id, self, e.url+project5+"/schemas/")
		}
		coll := str(links, "collection")
		wantColl := e.url + project5 + "/" + strings.ToLower(str(s, "pluralName"))
		if coll != wantColl {
			t.Errorf("schema %s links.collection %q, want the project-scoped, lower-cased %q", id, coll, wantColl)
		}
		for _, member := range []string{"collectionMethods", "resourceMethods"} {
			if _, isArr := s[member].([]any); !isArr {
				t.Errorf("schema %s: %s is %T, want an array", id, member, s[member])
			}
		}
		for _, member := range []string{"resourceFields", "resourceActions", "collectionFilters"} {
			if obj(s, member) == nil {
				t.Errorf("schema %s: %s is %T, want an object", id, member, s[member])
			}
		}
	}
	for _, kind := range []string{"loadBalancerService", "dnsService", "externalService"} {
		if p := str(byID[kind], "parent"); p != "service" {
			t.Errorf("schema %s parent %q, want service", kind, p)
		}
	}
	methods := func(id, member string) []string {
		var out []string
		for _, m := range arr(byID[id], member) {
			if s, ok := m.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	// The method lists a client must honour (§2.1 go-rancher bootstrap).
	for _, tc := range []struct{ id, member, method string }{
		{"service", "collectionMethods", "POST"}, {"service", "resourceMethods", "PUT"},
		{"host", "resourceMethods", "DELETE"}, {"publish", "collectionMethods", "POST"},
		{"subscribe", "collectionMethods", "GET"}, {"instance", "collectionMethods", "GET"},
	} {
		if !slices.Contains(methods(tc.id, tc.member), tc.method) {
			t.Errorf("schema %s %s = %v, want it to include %s", tc.id, tc.member, methods(tc.id, tc.member), tc.method)
		}
	}
	if slices.Contains(methods("instance", "collectionMethods"), "POST") {
		t.Errorf("schema instance allows POST; /instances is read-only (§5)")
	}
	// Filters a client relies on (§2.4) and the subscribe filter of §1.1.
	for _, tc := range []struct{ id, field string }{
		{"service", "name"}, {"service", "kind"}, {"service", "state"}, {"service", "stackId"},
		{"host", "name"}, {"host", "state"}, {"host", "removed"}, {"genericObject", "key"},
		{"genericObject", "kind"}, {"subscribe", "eventNames"},
	} {
		if obj(obj(byID[tc.id], "collectionFilters"), tc.field) == nil {
			t.Errorf("schema %s has no collection filter %s", tc.id, tc.field)
		}
	}
	for _, f := range []string{"scale", "launchConfig", "secondaryLaunchConfigs", "upgrade", "instanceIds"} {
		if obj(obj(byID["service"], "resourceFields"), f) == nil {
			t.Errorf("schema service has no field %s", f)
		}
	}
	if obj(obj(byID["service"], "resourceActions"), "upgrade") == nil {
		t.Errorf("schema service has no upgrade action")
	}

	// The non-project path works with the project named by header or parameter (admin key: any project).
	for _, tc := range []struct {
		path   string
		header []string
		want   string
	}{
		{"/v2-beta/services", []string{"X-API-Project-Id", "1a5"}, "web"},
		{"/v2-beta/services?projectId=1a7", nil, "api"},
	} {
		rows := e.do(http.MethodGet, tc.path, &e.admin, nil, tc.header...).expect(t, http.StatusOK, tc.path).data(t)
		if !slices.Contains(names(rows), tc.want) {
			t.Errorf("admin GET %s %v lists %v, want %s among them", tc.path, tc.header, names(rows), tc.want)
		}
	}
}

func TestDiscoveryClientFromAnyCattleURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, suffix := range []string{"/v1", "/v1/", "/v2-beta", "/v2-beta/", "", "/"} {
		_, since := e.calls(0)
		c, err := cattle.New(t.Context(), e.clientOptions(e.env5, suffix))
		if err != nil {
			t.Errorf("cattle.New with CATTLE_URL %q: %v", e.url+suffix, err)
			continue
		}
		if c.ProjectID() != "1a5" || c.ProjectURL() != e.url+project5 {
			t.Errorf("CATTLE_URL %q: project %q url %q, want 1a5 at %s", suffix, c.ProjectID(), c.ProjectURL(),
				e.url+project5)
		}
		s, ok := c.Schema("service")
		if !ok || s.CollectionURL() != e.url+project5+"/services" {
			t.Errorf("CATTLE_URL %q: service collection %q (found %v), want %s", suffix, s.CollectionURL(), ok,
				e.url+project5+"/services")
		}
		sub, err := c.SubscribeURL("resource.change")
		wantSub := "ws" + strings.TrimPrefix(e.url, "http") + project5 + "/subscribe?eventNames=resource.change"
		if err != nil || sub != wantSub {
			t.Errorf("CATTLE_URL %q: subscribe url %q (%v), want %s", suffix, sub, err, wantSub)
		}
		// Discovery followed X-API-Schemas to the project's schemas and never asked for a /v1 path.
		calls, _ := e.calls(since)
		var fetchedSchemas bool
		for _, cl := range calls {
			if strings.HasPrefix(cl.Path, "/v1") {
				t.Errorf("CATTLE_URL %q: the client requested %s; it must rewrite /v1 to /v2-beta", suffix, cl.Path)
			}
			if cl.Method == http.MethodGet && cl.Path == project5+"/schemas" && cl.Status == http.StatusOK {
				fetchedSchemas = true
			}
		}
		if !fetchedSchemas {
			t.Errorf("CATTLE_URL %q: no GET %s/schemas in the call log %+v", suffix, project5, calls)
		}
		if _, err := c.ListServices(t.Context(), cattle.ListOptions{}); err != nil {
			t.Errorf("CATTLE_URL %q: list services after discovery: %v", suffix, err)
		}
	}
}
