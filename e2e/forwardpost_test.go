package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// A forwardPost trigger is relayed to Cattle's service proxy /r/projects/<p>/<service>:<port><path> with the
// sender's body, headers and query, the sender's Authorization replaced by the service's key (cattlesim's proxy
// refuses anything else), and the upstream answer is relayed back.
func TestForwardPostRelaysThroughServiceProxy(t *testing.T) {
	t.Parallel()
	e := start(t)
	r := e.createReceiver(`{"name":"build-hook","driver":"forwardPost","forwardPostConfig":` +
		`{"projectId":"` + projectID + `","serviceName":"web","port":"8080","path":"/hooks/build"}}`)
	mark := e.callMark()

	h := http.Header{"Content-Type": {"application/json"}, "X-Build": {"42"}, "Authorization": {"Bearer sender-token"}}
	a := e.must(http.MethodPost, r.URL+"&ref=main", h, []byte(`{"ref":"main","sha":"0f3e4c1"}`))
	if a.status != http.StatusOK {
		t.Fatalf("forward: %s, want the upstream 200", a)
	}
	var echo struct {
		Method  string            `json:"method"`
		Service string            `json:"service"`
		Path    string            `json:"path"`
		Body    string            `json:"body"`
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(a.body, &echo); err != nil {
		t.Fatalf("decode relayed answer: %v: %s", err, a.body)
	}
	if echo.Method != http.MethodPost || echo.Service != "web" || echo.Path != "/hooks/build" ||
		echo.Body != `{"ref":"main","sha":"0f3e4c1"}` || echo.Headers["X-Build"] != "42" {
		t.Errorf("upstream saw %+v, want the sender's POST body and headers on web:8080/hooks/build", echo)
	}

	calls, _ := e.callsSince(mark)
	proxied := matching(calls, func(c call) bool { return strings.HasPrefix(c.Path, "/r/") })
	if len(proxied) != 1 {
		t.Fatalf("proxy calls %v, want one", proxied)
	}
	c := proxied[0]
	if c.Path != "/r/projects/"+projectID+"/web:8080/hooks/build" || c.Status != http.StatusOK ||
		!strings.Contains(c.Query, "projectId="+projectID) || !strings.Contains(c.Query, "ref=main") {
		t.Errorf("proxy call %v (query %s), want /r/projects/%s/web:8080/hooks/build with the trigger's query", c, c.Query, projectID)
	}
}
