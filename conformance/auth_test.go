package conformance

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
)

// §1.3, §2.1, §7.2: HTTP Basic on every request, websocket upgrades and /_sim/ included; 401 (with a Basic
// challenge) for missing or wrong keys; 403 when an environment key names another project; an environment
// key is bound to its project.

func TestAuthRejectsMissingAndWrongKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wrongSecret := cattlesim.Credential{AccessKey: e.env5.AccessKey, SecretKey: "not-the-secret"}
	unknownKey := cattlesim.Credential{AccessKey: "NOSUCHKEY", SecretKey: e.env5.SecretKey}
	cases := []struct {
		name string
		cred *cattlesim.Credential
	}{{"no keys", nil}, {"wrong secret", &wrongSecret}, {"unknown access key", &unknownKey}}
	paths := []string{"/", "/v2-beta", project5, project5 + "/schemas", project5 + "/services",
		project5 + "/services/" + e.id("1a5/service/web"), "/_sim/faults"}
	for _, tc := range cases {
		for _, p := range paths {
			r := e.do(http.MethodGet, p, tc.cred, nil)
			if r.status != http.StatusUnauthorized {
				t.Errorf("%s: GET %s = %d, want 401; body %s", tc.name, p, r.status, snippet(r.raw))
				continue
			}
			if ch := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Basic ") {
				t.Errorf("%s: GET %s: 401 without a Basic challenge (WWW-Authenticate %q)", tc.name, p, ch)
			}
			if str(r.body, "type") != "error" || str(r.body, "code") != "Unauthorized" {
				t.Errorf("%s: GET %s: error body %s, want type error code Unauthorized (§2.6)", tc.name, p, snippet(r.raw))
			}
		}
		// Writes are refused before anything happens.
		r := e.do(http.MethodPut, project5+"/services/"+e.id("1a5/service/web"), tc.cred, map[string]any{"scale": 5})
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s: PUT service = %d, want 401", tc.name, r.status)
		}
	}
	if got := getService(t, e.client(e.env5), e.id("1a5/service/web")).Scale; got != 2 {
		t.Errorf("web scale = %d after refused PUTs, want 2 (a refused write must change nothing)", got)
	}

	// The websocket upgrade needs keys too (§1.3).
	wsURL := "ws" + strings.TrimPrefix(e.url, "http") + project5 + "/subscribe?eventNames=resource.change"
	for _, tc := range cases {
		h := http.Header{}
		if tc.cred != nil {
			h = basicAuth(*tc.cred)
		}
		conn, resp, err := newDialer().DialContext(t.Context(), wsURL, h)
		if err == nil {
			_ = conn.Close()
			t.Errorf("%s: websocket upgrade succeeded, want 401", tc.name)
			continue
		}
		if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Errorf("%s: websocket upgrade: %v (status %d), want a refused handshake with 401", tc.name, err, status)
		}
	}

	// Our client says plainly that the keys were rejected.
	_, err := cattle.New(t.Context(), e.clientOptions(wrongSecret, "/v1"))
	if !errors.Is(err, cattle.ErrUnauthorized) {
		t.Errorf("cattle.New with a wrong secret: %v, want an error matching cattle.ErrUnauthorized", err)
	}
	if err != nil && strings.Contains(err.Error(), wrongSecret.SecretKey) {
		t.Errorf("cattle.New error leaks the secret key: %v", err)
	}
}

func TestAuthForeignProjectIsForbidden(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	apiID := e.id("1a7/service/api")
	// Every way of naming project 1a7 with the environment key of 1a5 (§2.1: path, header, query parameter).
	refused := []struct {
		what   string
		path   string
		header []string
	}{
		{"project path", "/v2-beta/projects/1a7/services", nil},
		{"project root", "/v2-beta/projects/1a7", nil},
		{"project schemas", "/v2-beta/projects/1a7/schemas", nil},
		{"resource by id", "/v2-beta/projects/1a7/services/" + apiID, nil},
		{"X-API-Project-Id header", "/v2-beta/services", []string{"X-API-Project-Id", "1a7"}},
		{"projectId parameter", "/v2-beta/services?projectId=1a7", nil},
	}
	for _, tc := range refused {
		r := e.do(http.MethodGet, tc.path, &e.env5, nil, tc.header...)
		if r.status != http.StatusForbidden || str(r.body, "code") != "Forbidden" {
			t.Errorf("env key of 1a5, %s (GET %s): status %d body %s, want 403 Forbidden", tc.what, tc.path, r.status,
				snippet(r.raw))
		}
	}
	r := e.do(http.MethodPut, "/v2-beta/projects/1a7/services/"+apiID, &e.env5, map[string]any{"scale": 3})
	if r.status != http.StatusForbidden {
		t.Errorf("env key of 1a5 PUT on a 1a7 service = %d, want 403", r.status)
	}

	// The subscribe upgrade is refused the same way.
	wsURL := "ws" + strings.TrimPrefix(e.url, "http") + "/v2-beta/projects/1a7/subscribe?eventNames=resource.change"
	conn, resp, err := newDialer().DialContext(t.Context(), wsURL, basicAuth(e.env5))
	if err == nil {
		_ = conn.Close()
		t.Errorf("env key of 1a5 subscribed to 1a7, want 403")
	} else if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("env key of 1a5 subscribing to 1a7: %v, want a 403 handshake refusal", err)
	}

	// Our client, asked for 1a7 with the key of 1a5, fails discovery with the 403.
	opts := e.clientOptions(e.env5, "/v1")
	opts.ProjectID = "1a7"
	_, err = cattle.New(t.Context(), opts)
	if ae := asAPIError(t, err, "cattle.New for 1a7 with the key of 1a5"); ae.Status != http.StatusForbidden {
		t.Errorf("cattle.New for 1a7 with the key of 1a5: status %d, want 403", ae.Status)
	}
}

func TestAuthEnvironmentKeyIsBoundToItsProject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Without a project in the path, an environment key acts on its own project (§2.1 "Scoping").
	for _, tc := range []struct {
		cred  cattlesim.Credential
		want  string
		names []string
	}{
		{e.env5, "1a5", []string{"web", "worker", "lb", "monitor"}},
		{e.env7, "1a7", []string{"api"}},
	} {
		bare := e.do(http.MethodGet, "/v2-beta/services", &tc.cred, nil).expect(t, http.StatusOK, "GET /v2-beta/services")
		scoped := e.do(http.MethodGet, "/v2-beta/projects/"+tc.want+"/services", &tc.cred, nil).
			expect(t, http.StatusOK, "GET scoped services")
		if got := bare.header.Get("X-API-Account-Id"); got != tc.want {
			t.Errorf("key of %s: X-API-Account-Id %q, want %q", tc.want, got, tc.want)
		}
		if got := bare.header.Get("X-API-Account-Kind"); got != "project" {
			t.Errorf("key of %s: X-API-Account-Kind %q, want project", tc.want, got)
		}
		bareRows, scopedRows := bare.data(t), scoped.data(t)
		if got, want := names(bareRows), names(scopedRows); !slices.Equal(got, want) {
			t.Errorf("key of %s: /v2-beta/services lists %v but /v2-beta/projects/%s/services lists %v", tc.want, got,
				tc.want, want)
		}
		got := names(bareRows)
		slices.Sort(got)
		want := slices.Clone(tc.names)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("key of %s sees services %v, want %v", tc.want, got, want)
		}
		for _, row := range bareRows {
			if acct := str(row, "accountId"); acct != tc.want {
				t.Errorf("key of %s sees %s of account %q", tc.want, str(row, "name"), acct)
			}
		}
	}

	// An object of another project is invisible even by id, and the client discovers its own project alone.
	r := e.do(http.MethodGet, "/v2-beta/services/"+e.id("1a7/service/api"), &e.env5, nil)
	if r.status != http.StatusNotFound {
		t.Errorf("key of 1a5 GET of the 1a7 service by id (unscoped) = %d, want 404", r.status)
	}
	for _, tc := range []struct {
		cred cattlesim.Credential
		want string
	}{{e.env5, "1a5"}, {e.env7, "1a7"}} {
		c, err := cattle.New(t.Context(), e.clientOptions(tc.cred, ""))
		if err != nil {
			t.Fatalf("cattle.New with the key of %s and a bare URL: %v", tc.want, err)
		}
		if c.ProjectID() != tc.want {
			t.Errorf("client of the key of %s discovered project %q", tc.want, c.ProjectID())
		}
	}
}
