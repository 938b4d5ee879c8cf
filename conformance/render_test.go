package conformance

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// §2.2, §2.7, §7.3: resource rendering. Ids 1<code><n>, type and baseType, links.self and useful links, actions
// with <self>/?action=<name> URLs, every generated URL lower-cased, transitioning fields, ISO dates with their
// *TS twins, nested typed objects, "/" escaped as "\/" in REST bodies.

func TestResourceRendering(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	iso := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	for _, tc := range []struct {
		path, idPattern, typ, baseType, link string
	}{
		{project5 + "/services/" + e.id("1a5/service/web"), `^1s\d+$`, "service", "service", "instances"},
		{project5 + "/services/" + e.id("1a5/service/lb"), `^1s\d+$`, "loadBalancerService", "service", "instances"},
		{project5 + "/hosts/" + e.id("1a5/host/worker-01"), `^1h\d+$`, "host", "host", "instances"},
		{project5 + "/stacks/" + e.id("1a5/stack/demo"), `^1st\d+$`, "stack", "stack", "services"},
	} {
		r := e.do(http.MethodGet, tc.path, &e.env5, nil).expect(t, http.StatusOK, "GET "+tc.path)
		b := r.body
		id := str(b, "id")
		if !regexp.MustCompile(tc.idPattern).MatchString(id) || str(b, "type") != tc.typ ||
			str(b, "baseType") != tc.baseType {
			t.Errorf("%s: id %q type %q baseType %q, want %s %s %s", tc.path, id, str(b, "type"), str(b, "baseType"),
				tc.idPattern, tc.typ, tc.baseType)
		}
		self := str(obj(b, "links"), "self")
		if self == "" || self != strings.ToLower(self) || !strings.HasSuffix(self, "/"+id) ||
			!strings.HasPrefix(self, e.url+project5+"/") {
			t.Errorf("%s: links.self %q, want a lower-cased project-scoped URL ending in the id", tc.path, self)
		}
		if str(obj(b, "links"), tc.link) == "" {
			t.Errorf("%s: no links.%s in %v", tc.path, tc.link, b["links"])
		}
		actions := obj(b, "actions")
		if len(actions) == 0 {
			t.Errorf("%s: no actions", tc.path)
		}
		for name, u := range actions {
			if s, _ := u.(string); s != self+"/?action="+name {
				t.Errorf("%s: action %s URL %v, want %s/?action=%s", tc.path, name, u, self, name)
			}
		}
		if str(b, "state") != "active" || str(b, "transitioning") != "no" || b["transitioningMessage"] != nil {
			t.Errorf("%s: state %v transitioning %v message %v, want active/no/null", tc.path, b["state"],
				b["transitioning"], b["transitioningMessage"])
		}
		created := str(b, "created")
		ts, _ := num(b, "createdTS")
		parsed, err := time.Parse(time.RFC3339, created)
		if !iso.MatchString(created) || err != nil || int64(ts) != parsed.UnixMilli() {
			t.Errorf("%s: created %q createdTS %v, want an ISO UTC date and its epoch ms", tc.path, created, b["createdTS"])
		}
		if v, present := b["removed"]; !present || v != nil {
			t.Errorf("%s: removed %v (present %v), want null", tc.path, v, present)
		}
		if !strings.Contains(string(r.raw), `http:\/\/`) {
			t.Errorf("%s: REST body does not escape / as \\/ like Cattle's writer", tc.path)
		}
	}

	web := e.do(http.MethodGet, project5+"/services/"+e.id("1a5/service/web"), &e.env5, nil).body
	if str(obj(web, "launchConfig"), "type") != "launchConfig" {
		t.Errorf("launchConfig %v, want a nested object typed launchConfig", web["launchConfig"])
	}
	// §2.7: the type letters of an id are not checked.
	n := strings.TrimPrefix(e.id("1a5/service/web"), "1s")
	if r := e.do(http.MethodGet, project5+"/services/1h"+n, &e.env5, nil); r.status != http.StatusOK ||
		str(r.body, "name") != "web" {
		t.Errorf("GET services/1h%s: %d %s, want web (type letters are not checked)", n, r.status, snippet(r.raw))
	}

	// A fresh create is already transitioning, with Cattle's default message.
	r := e.do(http.MethodPost, project5+"/genericobjects", &e.env5, map[string]any{"name": "fresh", "kind": "k"}).
		expect(t, http.StatusCreated, "create generic object")
	if !regexp.MustCompile(`^1go\d+$`).MatchString(str(r.body, "id")) || str(r.body, "transitioning") != "yes" ||
		str(r.body, "transitioningMessage") != "In Progress" {
		t.Errorf("created generic object %s, want id 1go<n>, transitioning yes, message In Progress", snippet(r.raw))
	}
}
