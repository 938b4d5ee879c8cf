package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/cattlesim"
)

// Raw HTTP access to the emulator, for what a typed client would hide: status codes, headers, envelopes,
// error bodies and the /_sim/ control surface.

// rawResponse is one decoded answer.
type rawResponse struct {
	status int
	header http.Header
	raw    []byte
	// body is the answer decoded as a JSON object; nil when it is not one.
	body map[string]any
}

// do sends method path (relative to e.url, or absolute) with Basic auth of cred (nil: none) and a JSON body
// (nil: none; a string is sent verbatim). header holds name/value pairs. Transport errors fail the test.
func (e *env) do(method, path string, cred *cattlesim.Credential, body any, header ...string) rawResponse {
	e.t.Helper()
	r, err := e.send(e.ctx(), method, path, cred, body, header...)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// send is do without the test, for helper goroutines (which must not call t.Fatal).
func (e *env) send(ctx context.Context, method, path string, cred *cattlesim.Credential, body any,
	header ...string) (rawResponse, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return rawResponse{}, fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(buf)
	}
	target := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		target = e.url + path
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return rawResponse{}, fmt.Errorf("build request: %w", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cred != nil {
		req.SetBasicAuth(cred.AccessKey, cred.SecretKey)
	}
	if len(header)%2 != 0 {
		return rawResponse{}, fmt.Errorf("odd header pairs %q", header)
	}
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.httpc.Do(req)
	if err != nil {
		return rawResponse{}, fmt.Errorf("send request: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return rawResponse{}, fmt.Errorf("read body: %w", err)
	}
	out := rawResponse{status: resp.StatusCode, header: resp.Header, raw: raw}
	var decoded any
	if json.Unmarshal(raw, &decoded) == nil {
		out.body, _ = decoded.(map[string]any)
	}
	return out, nil
}

// expect fails the test unless the answer has the wanted status.
func (r rawResponse) expect(t *testing.T, want int, what string) rawResponse {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, want, snippet(r.raw))
	}
	return r
}

// control calls the /_sim/ control surface with the environment key of 1a5 and expects 200.
func (e *env) control(method, path string, body any) rawResponse {
	e.t.Helper()
	return e.do(method, "/_sim/"+strings.TrimPrefix(path, "/"), &e.env5, body).
		expect(e.t, http.StatusOK, "control "+method+" "+path)
}

// project5 is the REST path prefix of project 1a5.
const project5 = "/v2-beta/projects/1a5"

// snippet shortens a body for failure messages.
func snippet(b []byte) string {
	const n = 600
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// JSON accessors for decoded answers: they never assert types unchecked and say what they found instead.

// str returns m[key] when it is a string, else "".
func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// num returns m[key] when it is a number, and whether it was.
func num(m map[string]any, key string) (float64, bool) {
	f, ok := m[key].(float64)
	return f, ok
}

// obj returns m[key] when it is an object, else nil.
func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

// arr returns m[key] when it is an array, else nil.
func arr(m map[string]any, key string) []any {
	a, _ := m[key].([]any)
	return a
}

// objects returns the members of a JSON array that are objects; others are reported through bad.
func objects(a []any) (out []map[string]any, bad int) {
	for _, x := range a {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		} else {
			bad++
		}
	}
	return out, bad
}

// data returns the rows of a collection answer, failing the test when data is missing or not all objects.
func (r rawResponse) data(t *testing.T) []map[string]any {
	t.Helper()
	a, ok := r.body["data"].([]any)
	if !ok {
		t.Fatalf("answer has no data array: %s", snippet(r.raw))
	}
	rows, bad := objects(a)
	if bad > 0 {
		t.Fatalf("%d rows of data are not objects: %s", bad, snippet(r.raw))
	}
	return rows
}

// names returns the "name" member of each row, in order.
func names(rows []map[string]any) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, str(r, "name"))
	}
	return out
}

// decodeAny decodes JSON into a generic value, for deep comparisons that ignore formatting ("\/" escapes,
// member order).
func decodeAny(b []byte) (any, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decode json: %w", err)
	}
	return v, nil
}

// call is one entry of the emulator's call log (GET /_sim/calls).
type call struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Query     string `json:"query"`
	Status    int    `json:"status"`
	ProjectID string `json:"projectId"`
	Body      string `json:"body"`
}

// calls returns the logged API calls with index >= since, oldest first, and the index of the next call.
func (e *env) calls(since int) ([]call, int) {
	e.t.Helper()
	r := e.control(http.MethodGet, fmt.Sprintf("calls?since=%d", since), nil)
	var out struct {
		Calls []call `json:"calls"`
		Next  *int   `json:"next"`
	}
	if err := json.Unmarshal(r.raw, &out); err != nil || out.Next == nil {
		e.t.Fatalf("decode /_sim/calls answer (%v): %s", err, snippet(r.raw))
	}
	return out.Calls, *out.Next
}
