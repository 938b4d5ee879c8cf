package cattlesim

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

func TestAuthRejections(t *testing.T) {
	e := newRestEnv(t)
	badSecret := e.env5
	badSecret.SecretKey = "wrong"
	unknown := Credential{AccessKey: "nobody", SecretKey: "x"}
	tests := []struct {
		name   string
		path   string
		cred   *Credential
		header []string
		status int
		code   string
		field  string
	}{
		{"no credentials", "/v2-beta/services", nil, nil, http.StatusUnauthorized, "Unauthorized", ""},
		{"bad secret", "/v2-beta/services", &badSecret, nil, http.StatusUnauthorized, "Unauthorized", ""},
		{"unknown key", "/v2-beta/services", &unknown, nil, http.StatusUnauthorized, "Unauthorized", ""},
		{"no credentials on root", "/", nil, nil, http.StatusUnauthorized, "Unauthorized", ""},
		{"environment key on foreign project path", "/v2-beta/projects/1a7/services", &e.env5, nil, http.StatusForbidden, "Forbidden", ""},
		{"environment key on foreign project header", "/v2-beta/services", &e.env5, []string{"X-API-Project-Id", "1a7"}, http.StatusForbidden, "Forbidden", ""},
		{"environment key on foreign project param", "/v2-beta/services?projectId=1a7", &e.env5, nil, http.StatusForbidden, "Forbidden", ""},
		{"malformed project id", "/v2-beta/services", &e.admin, []string{"X-API-Project-Id", "garbage"}, http.StatusBadRequest, "InvalidFormat", "projectId"},
		{"admin on unknown project", "/v2-beta/projects/1a99/services", &e.admin, nil, http.StatusNotFound, "Not Found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodGet, tc.path, tc.cred, nil, tc.header...)
			r.wantError(t, tc.status, tc.code, tc.field)
			if tc.status == http.StatusUnauthorized &&
				r.header.Get("WWW-Authenticate") != `Basic realm="Enter API access key and secret key as username and password"` {
				t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestProjectScoping(t *testing.T) {
	e := newRestEnv(t)
	s5 := e.addService(5, "service", "web", nil)
	s7 := e.addService(7, "service", "api", nil)
	tests := []struct {
		name   string
		path   string
		cred   *Credential
		header []string
		want   []string
	}{
		{"environment key is bound to its project", "/v2-beta/services", &e.env5, nil, []string{s5.APIID()}},
		{"same through the scoped path", "/v2-beta/projects/1a5/services", &e.env5, nil, []string{s5.APIID()}},
		{"other environment key", "/v2-beta/services", &e.env7, nil, []string{s7.APIID()}},
		{"own project by header", "/v2-beta/services", &e.env7, []string{"X-API-Project-Id", "1a7"}, []string{s7.APIID()}},
		{"admin without project sees every project", "/v2-beta/services", &e.admin, nil, []string{s5.APIID(), s7.APIID()}},
		{"admin by header", "/v2-beta/services", &e.admin, []string{"X-API-Project-Id", "1a7"}, []string{s7.APIID()}},
		{"admin by query param", "/v2-beta/services?projectId=1a5", &e.admin, nil, []string{s5.APIID()}},
		{"service key by path", "/v2-beta/projects/1a7/services", &e.svc, nil, []string{s7.APIID()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := e.do(http.MethodGet, tc.path, tc.cred, nil, tc.header...).must(t, http.StatusOK).ids(t)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("ids %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("foreign object by id is not found", func(t *testing.T) {
		e.do(http.MethodGet, "/v2-beta/services/"+s7.APIID(), &e.env5, nil).wantError(t, http.StatusNotFound, "Not Found", "")
	})
	t.Run("account headers name the effective project", func(t *testing.T) {
		r := e.do(http.MethodGet, "/v2-beta/projects/1a7/services", &e.admin, nil).must(t, http.StatusOK)
		if r.header.Get("X-API-Account-Id") != "1a7" || r.header.Get("X-API-User-Id") != "1a1" {
			t.Fatalf("headers %v", r.header)
		}
		r = e.do(http.MethodGet, "/v2-beta/services", &e.admin, nil).must(t, http.StatusOK)
		if r.header.Get("X-API-Account-Id") != "1a1" || r.header.Get("X-API-Account-Kind") != "admin" {
			t.Fatalf("headers %v", r.header)
		}
	})
}

func TestWebsocketUpgradeNeedsAuth(t *testing.T) {
	e := newRestEnv(t)
	wsURL := "ws" + strings.TrimPrefix(e.srv.URL, "http")
	tests := []struct {
		name   string
		path   string
		cred   *Credential
		status int
	}{
		{"no credentials", "/v2-beta/subscribe?eventNames=resource.change", nil, http.StatusUnauthorized},
		{"foreign project", "/v2-beta/projects/1a7/subscribe?eventNames=resource.change", &e.env5, http.StatusForbidden},
		{"invalid event name", "/v2-beta/subscribe?eventNames=bad%20name", &e.env5, http.StatusUnprocessableEntity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.cred != nil {
				req, _ := http.NewRequest(http.MethodGet, e.srv.URL, nil)
				req.SetBasicAuth(tc.cred.AccessKey, tc.cred.SecretKey)
				h.Set("Authorization", req.Header.Get("Authorization"))
			}
			conn, resp, err := websocket.DefaultDialer.Dial(wsURL+tc.path, h)
			if err == nil {
				conn.Close()
				t.Fatalf("upgrade succeeded")
			}
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("response %v, want status %d (err %v)", resp, tc.status, err)
			}
			if resp.Header.Get("X-API-Schemas") == "" {
				t.Fatalf("X-API-Schemas missing on refused upgrade")
			}
		})
	}
}
