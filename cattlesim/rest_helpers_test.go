package cattlesim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// restEnv is an emulator served on 127.0.0.1 with two projects (1a5 "Default", 1a7 "Second") and one key
// of each kind. Fixtures are inserted straight into the store so these tests do not depend on the state
// machines.
type restEnv struct {
	t     *testing.T
	sim   *Sim
	srv   *httptest.Server
	env5  Credential // environment key of 1a5
	env7  Credential // environment key of 1a7
	admin Credential
	svc   Credential
}

func newRestEnv(t *testing.T) *restEnv {
	t.Helper()
	s := New(Options{FlushInterval: 10 * time.Millisecond, PingInterval: time.Hour, RandSeed: 1,
		ReplyTimeout: 2 * time.Second})
	e := &restEnv{t: t, sim: s,
		env5:  Credential{AccessKey: "env5", SecretKey: "secret5", AccountID: 5, Kind: KindProject},
		env7:  Credential{AccessKey: "env7", SecretKey: "secret7", AccountID: 7, Kind: KindProject},
		admin: Credential{AccessKey: "admin", SecretKey: "adminsecret", AccountID: 1, Kind: KindAdmin},
		svc:   Credential{AccessKey: "svc", SecretKey: "svcsecret", AccountID: 2, Kind: KindService},
	}
	for _, c := range []Credential{e.env5, e.env7, e.admin, e.svc} {
		s.AddCredential(c)
	}
	s.mu.Lock()
	for id, name := range map[int64]string{5: "Default", 7: "Second"} {
		s.insertWithIDLocked(&Object{Type: "project", BaseType: "account", AccountID: id, State: "active",
			Fields: map[string]any{"name": name}}, id)
	}
	s.mu.Unlock()

	e.srv = httptest.NewServer(s.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		e.srv.Close()
		checkInstanceIndex(t, s)
		s.Close()
	})
	return e
}

// insert stores a fixture object (Fields may be nil) and returns it.
func (e *restEnv) insert(o *Object) *Object {
	e.sim.mu.Lock()
	defer e.sim.mu.Unlock()
	if o.State == "" {
		o.State = "active"
	}
	return e.sim.insertLocked(o)
}

// stack and service insert typical fixtures.
func (e *restEnv) addStack(account int64, name string) *Object {
	return e.insert(&Object{Type: "stack", BaseType: "stack", AccountID: account, Fields: map[string]any{"name": name}})
}

func (e *restEnv) addService(account int64, typ, name string, stack *Object) *Object {
	f := map[string]any{"name": name, "scale": float64(1), "launchConfig": map[string]any{"imageUuid": "docker:nginx"}}
	if stack != nil {
		f["stackId"] = stack.APIID()
	}
	return e.insert(&Object{Type: typ, BaseType: "service", AccountID: account, Fields: f})
}

// restResponse is a decoded answer.
type restResponse struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends an authenticated request (cred may be nil) with a JSON body (string bodies are sent verbatim)
// and fails the test on transport errors. header holds name/value pairs; "Host" sets the request host.
func (e *restEnv) do(method, path string, cred *Credential, body any, header ...string) restResponse {
	e.t.Helper()
	r, err := e.send(method, path, cred, body, header...)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// send is do without the test: usable from helper goroutines.
func (e *restEnv) send(method, path string, cred *Credential, body any, header ...string) (restResponse, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return restResponse{}, err
		}
		rd = bytes.NewReader(buf)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = e.srv.URL + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return restResponse{}, err
	}
	if cred != nil {
		req.SetBasicAuth(cred.AccessKey, cred.SecretKey)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if strings.EqualFold(header[i], "Host") {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return restResponse{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return restResponse{}, err
	}
	out := restResponse{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			return out, fmt.Errorf("decode %q: %w", raw, err)
		}
	}
	return out, nil
}

// must fails the test unless the answer has the wanted status.
func (r restResponse) must(t *testing.T, status int) restResponse {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	return r
}

// data returns the data array of a collection answer.
func (r restResponse) data(t *testing.T) []map[string]any {
	t.Helper()
	arr, ok := r.body["data"].([]any)
	if !ok {
		t.Fatalf("no data array in %s", r.raw)
	}
	out := make([]map[string]any, 0, len(arr))
	for _, x := range arr {
		m, ok := x.(map[string]any)
		if !ok {
			t.Fatalf("data item is not an object: %v", x)
		}
		out = append(out, m)
	}
	return out
}

// ids returns the ids of a collection answer's data, in order.
func (r restResponse) ids(t *testing.T) []string {
	t.Helper()
	var ids []string
	for _, m := range r.data(t) {
		id, _ := m["id"].(string)
		ids = append(ids, id)
	}
	return ids
}

// wantError asserts Cattle's error JSON with the given status, code and fieldName ("" = null).
func (r restResponse) wantError(t *testing.T, status int, code, field string) {
	t.Helper()
	r.must(t, status)
	if r.body["type"] != "error" || r.body["baseType"] != "error" || r.body["code"] != code {
		t.Fatalf("want error %d %s, got %s", status, code, r.raw)
	}
	if got, _ := r.body["status"].(float64); int(got) != status {
		t.Fatalf("error status member %v, want %d", r.body["status"], status)
	}
	var wantField any
	if field != "" {
		wantField = field
	}
	if r.body["fieldName"] != wantField {
		t.Fatalf("fieldName %v, want %v (%s)", r.body["fieldName"], wantField, r.raw)
	}
}

func jstr(v any) string {
	s, _ := v.(string)
	return s
}

func jobj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// restJSONEqual compares two decoded JSON values.
func restJSONEqual(a, b any) bool { return reflect.DeepEqual(a, b) }
