package cattle

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testAccessKey = "AKTEST1234"
	testSecretKey = "SK-very-secret-5678"
	testProject   = "1a5"
)

// recordedRequest is what the fake saw, for asserting the calls made.
type recordedRequest struct {
	Method      string
	Path        string
	Query       url.Values
	Body        []byte
	ContentType string
}

// fakeCattle is a tiny Cattle: Basic auth, discovery, schemas and whatever
// routes a test adds ("METHOD /exact/path"). Links it renders are absolute
// and lower-cased like Cattle's.
type fakeCattle struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	routes  map[string]http.HandlerFunc
	reqs    []recordedRequest
	schemas []map[string]any
	// rootHeaders are set on GET /v2-beta (account kind/id for discovery).
	rootHeaders map[string]string
}

func newFakeCattle(t *testing.T) *fakeCattle {
	t.Helper()
	f := &fakeCattle{t: t, routes: map[string]http.HandlerFunc{}, rootHeaders: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)

	f.schemas = []map[string]any{
		f.schema("service", "services", []string{"GET", "POST"}, []string{"GET", "PUT", "DELETE"}),
		f.schema("loadBalancerService", "loadBalancerServices", []string{"GET", "POST"}, []string{"GET", "PUT", "DELETE"}),
		f.schema("host", "hosts", []string{"GET", "POST"}, []string{"GET", "PUT", "DELETE"}),
		f.schema("instance", "instances", []string{"GET"}, []string{"GET"}),
		f.schema("container", "containers", []string{"GET", "POST"}, []string{"GET", "PUT", "DELETE"}),
		f.schema("stack", "stacks", []string{"GET", "POST"}, []string{"GET", "PUT", "DELETE"}),
		f.schema("genericObject", "genericObjects", []string{"GET", "POST"}, []string{"GET", "DELETE"}),
		f.schema("externalHostEvent", "externalHostEvents", []string{"GET", "POST"}, []string{"GET"}),
		f.schema("hostTemplate", "hostTemplates", []string{"GET", "POST"}, []string{"GET", "DELETE"}),
		f.schema("publish", "publish", []string{"POST"}, nil),
		f.schema("subscribe", "subscribe", []string{"GET", "POST"}, nil),
	}

	f.handle("GET /v2-beta", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		for k, v := range f.rootHeaders {
			w.Header().Set(k, v)
		}
		f.mu.Unlock()
		w.Header().Set("X-API-Schemas", f.url("/v2-beta/schemas"))
		writeJSON(w, http.StatusOK, map[string]any{"type": "apiVersion", "links": map[string]string{}})
	})
	f.handle("GET /v2-beta/projects/"+testProject, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-API-Schemas", f.url("/v2-beta/projects/"+testProject+"/schemas"))
		writeJSON(w, http.StatusOK, map[string]any{"id": testProject, "type": "project", "name": "Default"})
	})
	f.handle("GET /v2-beta/projects/"+testProject+"/schemas", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		data := append([]map[string]any(nil), f.schemas...)
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"type": "collection", "resourceType": "schema", "data": data})
	})
	return f
}

// url is an absolute URL on the fake.
func (f *fakeCattle) url(path string) string { return f.srv.URL + path }

// projectURL is an absolute, lower-cased, project-scoped URL on the fake.
func (f *fakeCattle) projectURL(rest string) string {
	return f.url("/v2-beta/projects/" + testProject + "/" + strings.ToLower(rest))
}

func (f *fakeCattle) schema(id, plural string, collMethods, resMethods []string) map[string]any {
	return map[string]any{
		"id": id, "type": "schema", "pluralName": plural,
		"links": map[string]string{
			"self":       f.projectURL("schemas/" + id),
			"collection": f.projectURL(plural),
		},
		"collectionMethods": collMethods,
		"resourceMethods":   resMethods,
	}
}

// setSchema replaces (or adds) the schema with the given id; call before New.
func (f *fakeCattle) setSchema(s map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, old := range f.schemas {
		if old["id"] == s["id"] {
			f.schemas[i] = s
			return
		}
	}
	f.schemas = append(f.schemas, s)
}

func (f *fakeCattle) handle(route string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[route] = h
}

// requests returns every request recorded so far.
func (f *fakeCattle) requests() []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recordedRequest(nil), f.reqs...)
}

// requestsSince returns what was recorded after the first n requests.
func (f *fakeCattle) requestsSince(n int) []recordedRequest { return f.requests()[n:] }

func (f *fakeCattle) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recordedRequest{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body,
		ContentType: r.Header.Get("Content-Type"),
	})
	h := f.routes[r.Method+" "+r.URL.Path]
	f.mu.Unlock()

	if ak, sk, ok := r.BasicAuth(); !ok || ak != testAccessKey || sk != testSecretKey {
		writeJSON(w, http.StatusUnauthorized, map[string]any{
			"type": "error", "status": 401, "code": "Unauthorized", "message": "Unauthorized",
		})
		return
	}
	if h == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{
			"type": "error", "status": 404, "code": "Not Found", "message": "Not Found",
		})
		return
	}
	h(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveJSON answers every request with status and v.
func serveJSON(status int, v any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, status, v) }
}

// newTestClient builds a client against f with the default test options
// changed by edit (may be nil).
func newTestClient(t *testing.T, f *fakeCattle, edit func(*Options)) *Client {
	t.Helper()
	// Tests count requests, so GETs are not retried unless a test asks for it.
	opts := Options{URL: f.url("/v1"), AccessKey: testAccessKey, SecretKey: testSecretKey, ProjectID: testProject,
		GetRetries: -1}
	if edit != nil {
		edit(&opts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := New(ctx, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// serviceJSON renders a service like Cattle does, with links and actions.
func (f *fakeCattle) serviceJSON(id, name, state string, actions ...string) map[string]any {
	self := f.projectURL("services/" + id)
	acts := map[string]string{}
	for _, a := range actions {
		acts[a] = self + "/?action=" + a
	}
	return map[string]any{
		"id": id, "type": "service", "baseType": "service", "kind": "service", "name": name,
		"state": state, "accountId": testProject, "scale": 2, "currentScale": 2,
		"links": map[string]string{"self": self}, "actions": acts,
		"launchConfig": map[string]any{"type": "launchConfig", "imageUuid": "docker:nginx:1.13"},
	}
}

// decodeBody decodes a recorded JSON body into a generic value.
func decodeBody(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode body %q: %v", b, err)
	}
	return v
}
