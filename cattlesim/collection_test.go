package cattlesim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// collectionFixture: stack demo (1st1) with web (1s1), db (1s2), lb (1s3, loadBalancerService); stack other
// (1st2) with worker (1s4, system); removed service gone (1s5); all in project 5.
func collectionFixture(t *testing.T) (*restEnv, map[string]*Object) {
	e := newRestEnv(t)
	demo := e.addStack(5, "demo")
	other := e.addStack(5, "other")
	objs := map[string]*Object{
		"web":    e.addService(5, "service", "web", demo),
		"db":     e.addService(5, "service", "db", demo),
		"lb":     e.addService(5, "loadBalancerService", "lb", demo),
		"worker": e.addService(5, "service", "worker", other),
		"gone":   e.addService(5, "service", "gone", other),
	}
	e.sim.mu.Lock()
	objs["worker"].Fields["system"] = true
	objs["db"].Fields["healthState"] = "degraded"
	objs["web"].Fields["healthState"] = "healthy"
	e.sim.markRemovedLocked(objs["gone"])
	for i, name := range []string{"web", "db", "lb", "worker", "gone"} {
		objs[name].Created = time.Date(2017, 7, 1, 0, 0, i, 0, time.UTC)
	}
	e.sim.mu.Unlock()
	return e, objs
}

func TestCollectionFilters(t *testing.T) {
	e, o := collectionFixture(t)
	id := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, o[n].APIID())
		}
		return out
	}
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"no filter hides removed rows", "", id("web", "db", "lb", "worker")},
		{"_removed includes them", "_removed=true", id("web", "db", "lb", "worker", "gone")},
		{"eq", "name=web", id("web")},
		{"ne", "name_ne=web", id("db", "lb", "worker")},
		{"prefix", "name_prefix=w", id("web", "worker")},
		{"like", "name_like=w%25b", id("web")},
		{"like single char", "name_like=d_", id("db")},
		{"notlike", "name_notlike=w%25", id("db", "lb")},
		{"kind", "kind=loadBalancerService", id("lb")},
		{"reference by API id", "stackId=1st2", id("worker")},
		{"reference by number", "stackId=1", id("web", "db", "lb")},
		{"repeated values are AND-ed", "name=web&name=db", nil},
		{"two filters AND-ed", "stackId=1st1&name_ne=db", id("web", "lb")},
		{"null column matches only null", "healthState_ne=degraded", id("web")},
		{"null modifier", "healthState_null=true", id("lb", "worker")},
		{"notnull modifier", "healthState_notnull", id("web", "db")},
		{"boolean", "system=true", id("worker")},
		{"removed_null keeps live rows", "removed_null=true&_removed=true", id("web", "db", "lb", "worker")},
		{"removed_notnull with _removed", "removed_notnull=true&_removed=true", id("gone")},
		{"date gt", "created_gt=2017-07-01T00:00:01Z", id("lb", "worker")},
		{"date lte epoch ms", fmt.Sprintf("created_lte=%d", time.Date(2017, 7, 1, 0, 0, 1, 0, time.UTC).UnixMilli()), id("web", "db")},
		{"id filter", "id=" + o["db"].APIID(), id("db")},
		{"unknown params are ignored", "labels=app%3Dweb&bogus=1&scale=7", id("web", "db", "lb", "worker")},
		{"unknown modifier is ignored", "name_sounds=web", id("web", "db", "lb", "worker")},
		{"modifier not allowed on the field is ignored", "system_like=x", id("web", "db", "lb", "worker")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := e.do(http.MethodGet, "/v2-beta/services?"+tc.query, &e.env5, nil).must(t, http.StatusOK).ids(t)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("?%s → %v, want %v", tc.query, got, tc.want)
			}
		})
	}
}

func TestCollectionEnvelope(t *testing.T) {
	e, o := collectionFixture(t)
	base := e.srv.URL
	r := e.do(http.MethodGet, "/v2-beta/projects/1a5/services?name=web&name_ne=db", &e.env5, nil).must(t, http.StatusOK)
	b := r.body
	if b["type"] != "collection" || b["resourceType"] != "service" ||
		jobj(b["links"])["self"] != base+"/v2-beta/projects/1a5/services" {
		t.Fatalf("envelope: %s", r.raw)
	}
	ct := jobj(b["createTypes"])
	if ct["service"] != base+"/v2-beta/projects/1a5/services" ||
		ct["loadBalancerService"] != base+"/v2-beta/projects/1a5/loadbalancerservices" || ct["dnsService"] == nil {
		t.Fatalf("createTypes: %v", ct)
	}
	filters := jobj(b["filters"])
	sc := e.sim.schemas["service"]
	if len(filters) != len(sc.CollectionFilters) {
		t.Fatalf("filters lists %d fields, schema has %d", len(filters), len(sc.CollectionFilters))
	}
	for name, v := range filters {
		switch name {
		case "name":
			list, _ := v.([]any)
			if len(list) != 2 || jobj(list[0])["modifier"] != "eq" || jobj(list[0])["value"] != "web" ||
				jobj(list[1])["modifier"] != "ne" {
				t.Fatalf("name filter: %v", v)
			}
		default:
			if v != nil {
				t.Fatalf("filter %s not applied but %v", name, v)
			}
		}
	}
	if jobj(b["sortLinks"])["name"] != base+"/v2-beta/projects/1a5/services?sort=name" {
		t.Fatalf("sortLinks: %v", b["sortLinks"])
	}
	p := jobj(b["pagination"])
	if p["limit"] != float64(100) || p["partial"] != false || p["next"] != nil {
		t.Fatalf("pagination: %v", p)
	}
	if _, ok := b["createDefaults"]; !ok || b["sort"] != nil {
		t.Fatalf("createDefaults/sort: %s", r.raw)
	}
	if ids := r.ids(t); !slices.Equal(ids, []string{o["web"].APIID()}) {
		t.Fatalf("data %v", ids)
	}
}

func TestCollectionNamesAndKinds(t *testing.T) {
	e, o := collectionFixture(t)
	tests := []struct {
		path, resourceType string
		want               []string
	}{
		{"/v2-beta/services", "service", []string{o["web"].APIID(), o["db"].APIID(), o["lb"].APIID(), o["worker"].APIID()}},
		{"/v2-beta/service", "service", []string{o["web"].APIID(), o["db"].APIID(), o["lb"].APIID(), o["worker"].APIID()}},
		{"/v2-beta/LoadBalancerServices", "loadBalancerService", []string{o["lb"].APIID()}},
		{"/v2-beta/loadbalancerservice", "loadBalancerService", []string{o["lb"].APIID()}},
		{"/v2-beta/dnsservices", "dnsService", nil},
		{"/v2-beta/stacks", "stack", []string{"1st1", "1st2"}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r := e.do(http.MethodGet, tc.path, &e.env5, nil).must(t, http.StatusOK)
			if r.body["resourceType"] != tc.resourceType {
				t.Fatalf("resourceType %v", r.body["resourceType"])
			}
			if got := r.ids(t); !slices.Equal(got, tc.want) {
				t.Fatalf("ids %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("plain service is not found under another kind", func(t *testing.T) {
		e.do(http.MethodGet, "/v2-beta/loadbalancerservices/"+o["web"].APIID(), &e.env5, nil).
			wantError(t, http.StatusNotFound, "Not Found", "")
	})
	t.Run("a removed resource is served by id", func(t *testing.T) {
		r := e.do(http.MethodGet, "/v2-beta/services/"+o["gone"].APIID(), &e.env5, nil).must(t, http.StatusOK)
		if r.body["state"] != "removed" || r.body["removed"] == nil || r.body["removedTS"] == nil {
			t.Fatalf("removed resource: %s", r.raw)
		}
	})
	t.Run("type letters of ids are not checked", func(t *testing.T) {
		r := e.do(http.MethodGet, "/v2-beta/services/1h"+strings.TrimPrefix(o["db"].APIID(), "1s"), &e.env5, nil)
		if r.must(t, http.StatusOK).body["id"] != o["db"].APIID() {
			t.Fatalf("got %v", r.body["id"])
		}
	})
}

func TestCollectionSort(t *testing.T) {
	e, o := collectionFixture(t)
	tests := []struct {
		query string
		want  []string
	}{
		{"sort=name", []string{"db", "lb", "web", "worker"}},
		{"sort=name&order=desc", []string{"worker", "web", "lb", "db"}},
		{"sort=created&order=desc", []string{"worker", "lb", "db", "web"}},
		{"sort=healthState", []string{"lb", "worker", "db", "web"}},
		{"sort=labels", []string{"web", "db", "lb", "worker"}},
		{"order=desc", []string{"worker", "lb", "db", "web"}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			r := e.do(http.MethodGet, "/v2-beta/services?"+tc.query, &e.env5, nil).must(t, http.StatusOK)
			var want []string
			for _, n := range tc.want {
				want = append(want, o[n].APIID())
			}
			if got := r.ids(t); !slices.Equal(got, want) {
				t.Fatalf("?%s → %v, want %v", tc.query, got, want)
			}
		})
	}
	t.Run("sort member", func(t *testing.T) {
		r := e.do(http.MethodGet, "/v2-beta/services?sort=name&order=desc", &e.env5, nil).must(t, http.StatusOK)
		s := jobj(r.body["sort"])
		if s["name"] != "name" || s["order"] != "desc" || !strings.HasSuffix(jstr(s["reverse"]), "order=asc") {
			t.Fatalf("sort %v", r.body["sort"])
		}
	})
}

func TestCollectionPagination(t *testing.T) {
	e := newRestEnv(t)
	var all []string
	for i := range 7 {
		all = append(all, e.addService(5, "service", fmt.Sprintf("svc%d", i), nil).APIID())
	}

	t.Run("limit=1 is partial with a next marker", func(t *testing.T) {
		r := e.do(http.MethodGet, "/v2-beta/services?limit=1&name_prefix=svc", &e.env5, nil).must(t, http.StatusOK)
		p := jobj(r.body["pagination"])
		next, err := url.Parse(jstr(p["next"]))
		if err != nil || p["partial"] != true || next.Query().Get("marker") != "m1" ||
			next.Query().Get("name_prefix") != "svc" || next.Query().Get("limit") != "1" {
			t.Fatalf("pagination %v (%v)", p, err)
		}
	})
	t.Run("following next visits every row once", func(t *testing.T) {
		for _, limit := range []int{1, 2, 3, 7} {
			var seen []string
			pages := 0
			next := fmt.Sprintf("%s/v2-beta/services?limit=%d", e.srv.URL, limit)
			for next != "" {
				pages++
				if pages > 20 {
					t.Fatalf("limit %d: pagination does not end", limit)
				}
				r := e.do(http.MethodGet, next, &e.env5, nil).must(t, http.StatusOK)
				seen = append(seen, r.ids(t)...)
				next = jstr(jobj(r.body["pagination"])["next"])
			}
			if !slices.Equal(seen, all) {
				t.Fatalf("limit %d: visited %v, want %v", limit, seen, all)
			}
			if want := (len(all) + limit - 1) / limit; pages != want {
				t.Fatalf("limit %d: %d pages, want %d", limit, pages, want)
			}
		}
	})
	t.Run("limit bounds", func(t *testing.T) {
		for q, want := range map[string]float64{"": 100, "limit=0": 3000, "limit=-5": 3000, "limit=99999": 3000,
			"limit=abc": 100, "limit=5": 5} {
			r := e.do(http.MethodGet, "/v2-beta/services?"+q, &e.env5, nil).must(t, http.StatusOK)
			if got := jobj(r.body["pagination"])["limit"]; got != want {
				t.Fatalf("?%s: limit %v, want %v", q, got, want)
			}
		}
	})
	t.Run("marker past the end is an empty page", func(t *testing.T) {
		r := e.do(http.MethodGet, "/v2-beta/services?marker=m50", &e.env5, nil).must(t, http.StatusOK)
		if len(r.ids(t)) != 0 || jobj(r.body["pagination"])["partial"] != false {
			t.Fatalf("page: %s", r.raw)
		}
	})
}

func TestCollectionDefaultLimit(t *testing.T) {
	e := newRestEnv(t)
	e.sim.mu.Lock()
	for i := range 150 {
		e.sim.insertLocked(&Object{Type: "genericObject", BaseType: "genericObject", AccountID: 5, State: "active",
			Fields: map[string]any{"name": fmt.Sprintf("g%03d", i), "kind": "webhookReceiver"}})
	}
	e.sim.mu.Unlock()
	r := e.do(http.MethodGet, "/v2-beta/genericobjects?kind=webhookReceiver", &e.env5, nil).must(t, http.StatusOK)
	p := jobj(r.body["pagination"])
	if len(r.ids(t)) != 100 || p["partial"] != true || !strings.Contains(jstr(p["next"]), "marker=m100") {
		t.Fatalf("first page: %d rows, pagination %v", len(r.ids(t)), p)
	}
	r = e.do(http.MethodGet, jstr(p["next"]), &e.env5, nil).must(t, http.StatusOK)
	if len(r.ids(t)) != 50 || jobj(r.body["pagination"])["partial"] != false {
		t.Fatalf("second page: %d rows", len(r.ids(t)))
	}
}

func TestLinks(t *testing.T) {
	e := newRestEnv(t)
	st := e.addStack(5, "demo")
	svc := e.addService(5, "service", "web", st)
	other := e.addService(5, "service", "db", st)
	host := e.insert(&Object{Type: "host", BaseType: "host", AccountID: 5, Fields: map[string]any{"hostname": "h1"}})
	c1 := e.insert(&Object{Type: "container", BaseType: "instance", AccountID: 5, State: "running", Fields: map[string]any{
		"name": "demo-web-1", "serviceIds": []any{svc.APIID()}, "hostId": host.APIID(), "stackId": st.APIID()}})
	e.insert(&Object{Type: "container", BaseType: "instance", AccountID: 5, State: "running", Fields: map[string]any{
		"name": "demo-db-1", "serviceIds": []any{other.APIID()}}})
	base := e.srv.URL + "/v2-beta/projects/1a5"

	r := e.do(http.MethodGet, base+"/services/"+svc.APIID(), &e.env5, nil).must(t, http.StatusOK)
	links := jobj(r.body["links"])
	tests := []struct {
		name, link string
		wantIDs    []string
		wantID     string
	}{
		{"service instances", jstr(links["instances"]), []string{c1.APIID()}, ""},
		{"service stack", jstr(links["stack"]), nil, st.APIID()},
		{"stack services", base + "/stacks/" + st.APIID() + "/services", []string{svc.APIID(), other.APIID()}, ""},
		{"host instances", base + "/hosts/" + host.APIID() + "/instances", []string{c1.APIID()}, ""},
		{"instance host", base + "/containers/" + c1.APIID() + "/host", nil, host.APIID()},
		{"instance services", base + "/instances/" + c1.APIID() + "/services", []string{svc.APIID()}, ""},
		{"account", jstr(links["account"]), nil, "1a5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.link == "" {
				t.Fatalf("link missing")
			}
			r := e.do(http.MethodGet, tc.link, &e.env5, nil).must(t, http.StatusOK)
			if tc.wantID != "" {
				if r.body["id"] != tc.wantID {
					t.Fatalf("got %v, want %s", r.body["id"], tc.wantID)
				}
				return
			}
			if got := r.ids(t); !slices.Equal(got, tc.wantIDs) {
				t.Fatalf("ids %v, want %v", got, tc.wantIDs)
			}
		})
	}
	t.Run("unknown link", func(t *testing.T) {
		e.do(http.MethodGet, base+"/services/"+svc.APIID()+"/nothing", &e.env5, nil).wantError(t, http.StatusNotFound, "Not Found", "")
	})
}

func TestLikePattern(t *testing.T) {
	tests := []struct {
		pattern, value string
		want           bool
	}{
		{"w%", "web", true},
		{"w%", "aweb", false},
		{"%e%", "web", true},
		{"w_b", "web", true},
		{"w_b", "weeb", false},
		{`50\%`, "50%", true},
		{`50\%`, "500", false},
		{"a.b", "axb", false},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+"~"+tc.value, func(t *testing.T) {
			if got := likePattern(tc.pattern).MatchString(tc.value); got != tc.want {
				t.Fatalf("LIKE %q on %q = %v", tc.pattern, tc.value, got)
			}
		})
	}
}
