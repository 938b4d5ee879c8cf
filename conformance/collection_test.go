package conformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/cattle"
)

// §2.3, §2.4, §7.4: collections. The envelope, filters with modifiers (repeated values AND-ed, unknown
// parameters ignored), removed rows hidden from lists but served by id, sort and order, limit default 100 and
// marker pagination with pagination.partial + next, which our client follows.

func TestCollectionEnvelope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(http.MethodGet, project5+"/services?name=web", &e.env5, nil).expect(t, http.StatusOK, "list services")
	b := r.body
	if str(b, "type") != "collection" || str(b, "resourceType") != "service" {
		t.Errorf("type %q resourceType %q, want collection/service", str(b, "type"), str(b, "resourceType"))
	}
	if self := str(obj(b, "links"), "self"); !strings.HasPrefix(self, e.url+project5+"/services") {
		t.Errorf("links.self %q, want the services collection", self)
	}
	if got := str(obj(b, "createTypes"), "loadBalancerService"); got != e.url+project5+"/loadbalancerservices" {
		t.Errorf("createTypes.loadBalancerService %q, want the lower-cased collection", got)
	}
	if obj(b, "sortLinks") == nil || obj(b, "sortLinks")["name"] == nil {
		t.Errorf("sortLinks %v, want a link per sortable field (name among them)", b["sortLinks"])
	}
	page := obj(b, "pagination")
	if limit, _ := num(page, "limit"); limit != 100 {
		t.Errorf("pagination.limit %v, want the default 100", page["limit"])
	}
	if page["partial"] == true || page["next"] != nil {
		t.Errorf("one row fits one page, but pagination = %v", page)
	}
	filters := obj(b, "filters")
	applied, _ := objects(arr(filters, "name"))
	if len(applied) != 1 || str(applied[0], "modifier") != "eq" || str(applied[0], "value") != "web" {
		t.Errorf("filters.name = %v, want [{modifier eq, value web}]", filters["name"])
	}
	// Every filterable field is listed, null when not applied (§2.3).
	for _, f := range []string{"kind", "state", "stackId"} {
		v, present := filters[f]
		if !present || v != nil {
			t.Errorf("filters.%s = %v (present %v), want a null member", f, v, present)
		}
	}
	rows := r.data(t)
	if len(rows) != 1 || str(rows[0], "name") != "web" || str(rows[0], "type") != "service" {
		t.Errorf("data = %v, want the one service web", names(rows))
	}
}

func TestCollectionFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	stack := e.id("1a5/stack/demo")
	numericStack := strings.TrimPrefix(stack, "1st")
	webID, workerID := e.id("1a5/service/web"), e.id("1a5/service/worker")
	all := []string{"lb", "monitor", "web", "worker"}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"name=web", []string{"web"}},
		{"name_eq=web", []string{"web"}},
		{"name_ne=web", []string{"lb", "monitor", "worker"}},
		{"name_prefix=w", []string{"web", "worker"}},
		{"name_like=%25or%25", []string{"monitor", "worker"}},
		{"name_like=w_b", []string{"web"}},
		{"name_notlike=%25or%25", []string{"lb", "web"}},
		{"kind=loadBalancerService", []string{"lb"}},
		// Comparison modifiers on the id (numeric, creation order web, worker, lb, monitor).
		{"id_gt=" + webID, []string{"lb", "monitor", "worker"}},
		{"id_lte=" + workerID, []string{"web", "worker"}},
		{"id_ne=" + webID + "&id_ne=" + workerID, []string{"lb", "monitor"}},
		// Repeated values of one parameter are AND-ed (§2.4).
		{"name_ne=web&name_ne=lb", []string{"monitor", "worker"}},
		{"name=web&name=worker", nil},
		// References accept the API id or the plain number (§2.4, §2.7).
		{"stackId=" + stack, all},
		{"stackId=" + numericStack, all},
		// SQL null semantics.
		{"removed_null=true", all},
		{"removed_notnull=true", nil},
		// Comparisons are case-sensitive.
		{"name=WEB", nil},
		// Unknown parameters, unknown modifiers and non-filterable fields are silently ignored (§2.4).
		{"foo=bar", all},
		{"labels=app%3Dweb", all},
		{"name_bogus=web", all},
		{"launchConfig=x", all},
		{"kind=loadBalancerService&unknown=1", []string{"lb"}},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatalf("bad test query %q: %v", tc.query, err)
		}
		svcs, err := c.ListServices(t.Context(), cattle.ListOptions{Filters: q})
		if err != nil {
			t.Errorf("list services ?%s: %v", tc.query, err)
			continue
		}
		var got []string
		for _, s := range svcs {
			got = append(got, s.Name)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("services ?%s = %v, want %v", tc.query, got, tc.want)
		}
	}

	// A modifier the schema does not advertise for a field is ignored like any unknown parameter.
	sc, ok := c.Schema("service")
	if !ok {
		t.Fatalf("no service schema")
	}
	var nameFilter struct {
		Modifiers []string `json:"modifiers"`
	}
	if err := json.Unmarshal(sc.CollectionFilters["name"], &nameFilter); err != nil || len(nameFilter.Modifiers) == 0 {
		t.Fatalf("service collectionFilters.name = %s (%v), want {modifiers:[...]}", sc.CollectionFilters["name"], err)
	}
	if !slices.Contains(nameFilter.Modifiers, "gt") {
		svcs, err := c.ListServices(t.Context(), cattle.ListOptions{Filters: url.Values{"name_gt": {"m"}}})
		if err != nil || len(svcs) != 4 {
			t.Errorf("services ?name_gt=m (gt not among name's modifiers %v): %d services (%v), want all 4",
				nameFilter.Modifiers, len(svcs), err)
		}
	}

	// Host filters, dates included: the demo hosts were created a minute apart in this order.
	hosts, err := c.ListHosts(t.Context(), cattle.ListOptions{})
	if err != nil || len(hosts) != 3 {
		t.Fatalf("list hosts: %d hosts (%v), want 3", len(hosts), err)
	}
	created := map[string]string{}
	for _, h := range hosts {
		created[h.Hostname] = h.Created
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"hostname_prefix=worker-", []string{"worker-01", "worker-02"}},
		{"name=custom-01", []string{"custom-01"}},
		{"created_lt=" + url.QueryEscape(created["worker-02"]), []string{"worker-01"}},
		{"created_gte=" + url.QueryEscape(created["worker-02"]), []string{"custom-01", "worker-02"}},
		{"state=active", []string{"custom-01", "worker-01", "worker-02"}},
		{"labels=pool%3Dnone", []string{"custom-01", "worker-01", "worker-02"}},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatalf("bad test query %q: %v", tc.query, err)
		}
		hs, err := c.ListHosts(t.Context(), cattle.ListOptions{Filters: q})
		if err != nil {
			t.Errorf("list hosts ?%s: %v", tc.query, err)
			continue
		}
		var got []string
		for _, h := range hs {
			got = append(got, h.Hostname)
		}
		if slices.Sort(got); !slices.Equal(got, tc.want) {
			t.Errorf("hosts ?%s = %v, want %v", tc.query, got, tc.want)
		}
	}
}

func TestCollectionRemovedRowsHiddenButServedByID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	var objs []*cattle.GenericObject
	for _, name := range []string{"keep", "drop"} {
		o, err := c.CreateGenericObject(t.Context(), cattle.GenericObject{
			Resource: cattle.Resource{Name: name, Kind: "conformance"}, Key: "key-" + name})
		if err != nil {
			t.Fatalf("create generic object %s: %v", name, err)
		}
		objs = append(objs, o)
	}
	for _, o := range objs {
		waitFor(t, settleTimeout, "generic object "+o.Name+" active", func() (bool, string) {
			got, err := c.GetGenericObject(t.Context(), o.ID)
			if err != nil {
				return false, err.Error()
			}
			return got.State == "active", got.State
		})
	}
	drop := objs[1]
	fresh, err := c.GetGenericObject(t.Context(), drop.ID)
	if err != nil {
		t.Fatalf("get %s: %v", drop.ID, err)
	}
	answer, err := c.DeleteGenericObject(t.Context(), fresh)
	if err != nil {
		t.Fatalf("delete %s: %v", drop.ID, err)
	}
	if answer.State != "removing" {
		t.Errorf("DELETE answered state %q, want removing (§2.5)", answer.State)
	}
	waitFor(t, settleTimeout, "generic object drop removed", func() (bool, string) {
		got, err := c.GetGenericObject(t.Context(), drop.ID)
		if err != nil {
			return false, err.Error()
		}
		return got.State == "removed", fmt.Sprintf("state %s removed %q", got.State, got.Removed)
	})

	listed, err := c.ListGenericObjects(t.Context(), cattle.ListOptions{Filters: url.Values{"kind": {"conformance"}}})
	if err != nil {
		t.Fatalf("list generic objects: %v", err)
	}
	if len(listed) != 1 || listed[0].Name != "keep" {
		var got []string
		for _, o := range listed {
			got = append(got, o.Name+"/"+o.State)
		}
		t.Errorf("list after removal = %v, want only keep (removed rows are hidden, §2.4)", got)
	}
	byID, err := c.GetGenericObject(t.Context(), drop.ID)
	if err != nil {
		t.Fatalf("GET by id of a removed object: %v, want it served (§2.4)", err)
	}
	if !byID.IsRemoved() || byID.State != "removed" || byID.Removed == "" {
		t.Errorf("removed object by id: state %q removed %q, want state removed with a removed date", byID.State,
			byID.Removed)
	}
	// The _removed option shows them in lists again.
	rows := e.do(http.MethodGet, project5+"/genericobjects?kind=conformance&_removed=true", &e.env5, nil).
		expect(t, http.StatusOK, "list with _removed").data(t)
	if got := names(rows); !slices.Contains(got, "drop") || !slices.Contains(got, "keep") {
		t.Errorf("list with _removed = %v, want keep and drop", got)
	}
}

func TestCollectionSortAndOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	list := func(sort, order string) []string {
		t.Helper()
		svcs, err := c.ListServices(t.Context(), cattle.ListOptions{Sort: sort, Order: order})
		if err != nil {
			t.Fatalf("list services sort=%q order=%q: %v", sort, order, err)
		}
		var out []string
		for _, s := range svcs {
			out = append(out, s.Name)
		}
		return out
	}
	byID := []string{"web", "worker", "lb", "monitor"} // creation order of the demo seed
	for _, tc := range []struct {
		sort, order string
		want        []string
	}{
		{"", "", byID},
		{"name", "", []string{"lb", "monitor", "web", "worker"}},
		{"name", cattle.OrderAsc, []string{"lb", "monitor", "web", "worker"}},
		{"name", cattle.OrderDesc, []string{"worker", "web", "monitor", "lb"}},
		{"", cattle.OrderDesc, []string{"monitor", "lb", "worker", "web"}},
		// Sorting on a field that is not filterable is ignored: id order.
		{"launchConfig", "", byID},
	} {
		if got := list(tc.sort, tc.order); !slices.Equal(got, tc.want) {
			t.Errorf("services sort=%q order=%q = %v, want %v", tc.sort, tc.order, got, tc.want)
		}
	}
}

func TestCollectionPaginationLimitOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	next := e.url + project5 + "/services?limit=1"
	var seen []string
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatalf("more than 10 pages for 4 services: pagination loops (seen %v)", seen)
		}
		r := e.do(http.MethodGet, next, &e.env5, nil).expect(t, http.StatusOK, "GET "+next)
		rows := r.data(t)
		page := obj(r.body, "pagination")
		if len(rows) != 1 {
			t.Fatalf("page %d (%s) has %d rows, want 1", pages, next, len(rows))
		}
		seen = append(seen, str(rows[0], "name"))
		if limit, _ := num(page, "limit"); limit != 1 {
			t.Errorf("page %d: pagination.limit %v, want 1", pages, page["limit"])
		}
		partial, _ := page["partial"].(bool)
		nextURL, _ := page["next"].(string)
		last := len(seen) == 4
		switch {
		case !last && (!partial || nextURL == ""):
			t.Fatalf("page %d of 4: pagination %v, want partial true and a next link", pages, page)
		case !last && !strings.Contains(nextURL, fmt.Sprintf("marker=m%d", len(seen))):
			t.Errorf("page %d: next %q, want marker=m%d (§2.4)", pages, nextURL, len(seen))
		case last && (partial || page["next"] != nil):
			t.Errorf("last page: pagination %v, want partial false and next null", page)
		}
		next = nextURL
	}
	if want := []string{"web", "worker", "lb", "monitor"}; !slices.Equal(seen, want) {
		t.Errorf("following next with limit=1 yields %v, want %v once each", seen, want)
	}

	// Our client follows pagination.next to the end.
	c := e.client(e.env5)
	_, since := e.calls(0)
	svcs, err := c.ListServices(t.Context(), cattle.ListOptions{PageSize: 1})
	if err != nil {
		t.Fatalf("list services page size 1: %v", err)
	}
	if len(svcs) != 4 {
		t.Errorf("client list with page size 1 returned %d services, want 4", len(svcs))
	}
	calls, _ := e.calls(since)
	var markers int
	for _, cl := range calls {
		if cl.Path == project5+"/services" && strings.Contains(cl.Query, "marker=m") {
			markers++
		}
	}
	if markers != 3 {
		t.Errorf("client made %d requests with a marker, want 3 (pages 2-4): %+v", markers, calls)
	}
}

func TestCollectionDefaultLimitIs100(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	const n = 101
	for i := range n {
		if _, err := c.CreateGenericObject(t.Context(), cattle.GenericObject{
			Resource: cattle.Resource{Name: fmt.Sprintf("obj-%03d", i), Kind: "page"}, Key: fmt.Sprint(i)}); err != nil {
			t.Fatalf("create generic object %d: %v", i, err)
		}
	}
	r := e.do(http.MethodGet, project5+"/genericobjects?kind=page", &e.env5, nil).expect(t, http.StatusOK, "list")
	page := obj(r.body, "pagination")
	if rows := r.data(t); len(rows) != 100 {
		t.Errorf("first page has %d rows, want the default limit 100", len(rows))
	}
	nextURL, _ := page["next"].(string)
	if limit, _ := num(page, "limit"); limit != 100 || page["partial"] != true || !strings.Contains(nextURL, "marker=m100") {
		t.Errorf("pagination = %v, want limit 100, partial true, next with marker=m100", page)
	}
	if nextURL != "" {
		rest := e.do(http.MethodGet, nextURL, &e.env5, nil).expect(t, http.StatusOK, "next page").data(t)
		if len(rest) != 1 || str(rest[0], "name") != "obj-100" {
			t.Errorf("second page = %v, want [obj-100]", names(rest))
		}
	}
	all, err := c.ListGenericObjects(t.Context(), cattle.ListOptions{Filters: url.Values{"kind": {"page"}}})
	if err != nil {
		t.Fatalf("client list: %v", err)
	}
	if len(all) != n {
		t.Errorf("client list returned %d objects, want all %d (it must follow next)", len(all), n)
	}
}
