package cattlesim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// dial opens an event subscription; the first frame (the immediate ping) has been read when it returns, so
// the hub has registered the subscriber.
func (e *restEnv) dial(t *testing.T, path string, cred Credential) *websocket.Conn {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL, nil)
	req.SetBasicAuth(cred.AccessKey, cred.SecretKey)
	h := http.Header{"Authorization": {req.Header.Get("Authorization")}}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+path, h)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", path, err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	if resp.Header.Get("X-API-Schemas") == "" || resp.Header.Get("X-API-Account-Id") == "" {
		t.Fatalf("upgrade response lacks API headers: %v", resp.Header)
	}
	if ev := readFrame(t, conn); ev["name"] != "ping" {
		t.Fatalf("first frame %v, want ping", ev)
	}
	return conn
}

// readFrame reads one JSON frame within 5s.
func readFrame(t *testing.T, conn *websocket.Conn) map[string]any {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatalf("deadline: %v", err)
	}
	_, b, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("frame %q: %v", b, err)
	}
	return ev
}

func TestSubscribeResourceChangeMatchesREST(t *testing.T) {
	e := newRestEnv(t)
	conn := e.dial(t, "/v2-beta/projects/1a5/subscribe?eventNames=resource.change", e.env5)
	svc := e.addService(5, "loadBalancerService", "lb", nil)

	var got map[string]any
	for got == nil {
		ev := readFrame(t, conn)
		if ev["name"] != "resource.change" {
			continue
		}
		res := jobj(jobj(ev["data"])["resource"])
		if acct := res["accountId"]; acct != nil && acct != "1a5" {
			t.Fatalf("event of another project: %v", ev)
		}
		if ev["resourceId"] == svc.APIID() {
			if ev["resourceType"] != "loadBalancerService" {
				t.Fatalf("resourceType %v, want the API type", ev["resourceType"])
			}
			got = res
		}
	}
	rest := e.do(http.MethodGet, "/v2-beta/projects/1a5/services/"+svc.APIID(), &e.env5, nil).must(t, http.StatusOK)
	if !restJSONEqual(got, rest.body) {
		t.Fatalf("event resource differs from REST GET:\nevent %v\nrest  %v", got, rest.body)
	}
	if !strings.Contains(jstr(jobj(got["links"])["self"]), "/v2-beta/projects/1a5/") {
		t.Fatalf("links are not scoped like the subscription: %v", got["links"])
	}
}

func TestPublish(t *testing.T) {
	e := newRestEnv(t)
	tests := []struct {
		name   string
		path   string
		cred   *Credential
		method string
		body   any
		status int
		code   string
		field  string
	}{
		{"qualified reply", "/v2-beta/publish", &e.env5, http.MethodPost, map[string]any{"name": "reply.1", "previousIds": []string{"x"}}, 201, "", ""},
		{"scoped path", "/v2-beta/projects/1a5/publish", &e.env5, http.MethodPost, map[string]any{"name": "reply.2", "previousIds": nil}, 201, "", ""},
		{"qualified non-reply", "/v2-beta/publish", &e.env5, http.MethodPost, map[string]any{"name": "service.foo"}, 403, "Forbidden", ""},
		{"raw key may publish anything", "/v2-beta/publish", &e.svc, http.MethodPost, map[string]any{"name": "service.foo"}, 201, "", ""},
		{"missing name", "/v2-beta/publish", &e.env5, http.MethodPost, map[string]any{"previousIds": []string{"x"}}, 422, "MissingRequired", "name"},
		{"malformed", "/v2-beta/publish", &e.env5, http.MethodPost, `{"name"`, 422, "InvalidBodyContent", ""},
		{"no GET", "/v2-beta/publish", &e.env5, http.MethodGet, nil, 405, "Method not allowed", ""},
		{"unauthenticated", "/v2-beta/publish", nil, http.MethodPost, map[string]any{"name": "reply.3"}, 401, "Unauthorized", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.cred, tc.body)
			if tc.code != "" {
				r.wantError(t, tc.status, tc.code, tc.field)
				return
			}
			r.must(t, tc.status)
			if r.body["type"] != "publish" || r.body["id"] == nil {
				t.Fatalf("publish answer %s", r.raw)
			}
		})
	}
	if n := len(e.sim.hub.Published()); n != 3 {
		t.Fatalf("hub recorded %d publishes, want 3", n)
	}
}

func TestControlRequestReply(t *testing.T) {
	e := newRestEnv(t)
	conn := e.dial(t, "/v2-beta/projects/1a5/subscribe?eventNames=test.ping", e.env5)

	// The handler: answer one request with a progress and a final reply.
	handled := make(chan error, 1)
	go func() {
		handled <- func() error {
			for {
				if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
					return err
				}
				_, b, err := conn.ReadMessage()
				if err != nil {
					return err
				}
				var ev struct {
					ID, Name, ReplyTo string
				}
				if err := json.Unmarshal(b, &ev); err != nil {
					return err
				}
				if ev.Name != "test.ping" {
					continue
				}
				for _, body := range []map[string]any{
					{"name": ev.ReplyTo, "previousIds": []string{ev.ID}, "transitioning": "yes"},
					{"name": ev.ReplyTo, "previousIds": []string{ev.ID}, "data": map[string]any{"ok": true}},
				} {
					r, err := e.send(http.MethodPost, "/v2-beta/publish", &e.env5, body)
					if err != nil {
						return err
					}
					if r.status != http.StatusCreated {
						return &apiError{Status: r.status, Message: string(r.raw)}
					}
				}
				return nil
			}
		}()
	}()

	r := e.do(http.MethodPost, "/_sim/requests", &e.env5, map[string]any{"name": "test.ping",
		"resourceType": "service", "resourceId": "1s5", "data": map[string]any{"q": 1}, "timeoutMillis": 3000}).
		must(t, http.StatusOK)
	if jobj(r.body["data"])["ok"] != true || len(r.body["previousIds"].([]any)) != 1 {
		t.Fatalf("reply %s", r.raw)
	}
	if err := <-handled; err != nil {
		t.Fatalf("handler: %v", err)
	}

	t.Run("no subscriber times out", func(t *testing.T) {
		e.do(http.MethodPost, "/_sim/requests", &e.env7, map[string]any{"name": "nobody.listens", "timeoutMillis": 30}).
			wantError(t, http.StatusGatewayTimeout, "Gateway Timeout", "")
	})
	t.Run("name required", func(t *testing.T) {
		e.do(http.MethodPost, "/_sim/requests", &e.env7, map[string]any{}).
			wantError(t, http.StatusUnprocessableEntity, "MissingRequired", "name")
	})
}

func TestDropAndLogout(t *testing.T) {
	e := newRestEnv(t)
	conn := e.dial(t, "/v2-beta/subscribe?eventNames=resource.change", e.env5)
	r := e.do(http.MethodPost, "/_sim/websockets/drop", &e.admin, nil).must(t, http.StatusOK)
	if r.body["dropped"] != float64(1) {
		t.Fatalf("dropped %v", r.body["dropped"])
	}
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatalf("connection not dropped: %v", err)
			}
			break
		}
	}

	conn = e.dial(t, "/v2-beta/projects/1a5/subscribe?eventNames=resource.change", e.env5)
	other := e.dial(t, "/v2-beta/projects/1a7/subscribe?eventNames=resource.change", e.env7)
	r = e.do(http.MethodPost, "/_sim/projects/1a5/logout", &e.admin, nil).must(t, http.StatusOK)
	if r.body["loggedOut"] != float64(1) {
		t.Fatalf("loggedOut %v", r.body["loggedOut"])
	}
	for {
		ev := readFrame(t, conn)
		if ev["name"] == "logout" {
			break
		}
	}
	// The other project's subscription stays open and keeps receiving.
	svc := e.addService(7, "service", "api", nil)
	for {
		ev := readFrame(t, other)
		if ev["name"] == "resource.change" && ev["resourceId"] == svc.APIID() {
			break
		}
	}
}
