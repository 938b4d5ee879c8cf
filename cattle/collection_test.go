package cattle

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// pagedServices serves n services in pages of size (or the limit= asked for),
// with pagination.next carrying marker=m<offset> and the original query, like
// Cattle.
func pagedServices(f *fakeCattle, n, size int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		offset := 0
		if m := q.Get("marker"); m != "" {
			offset, _ = strconv.Atoi(strings.TrimPrefix(m, "m"))
		}
		pageSize := size
		if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 {
			pageSize = l
		}
		data := []map[string]any{}
		for i := offset; i < n && i < offset+pageSize; i++ {
			data = append(data, f.serviceJSON(fmt.Sprintf("1s%d", i+1), fmt.Sprintf("web%d", i+1), "active"))
		}
		pagination := map[string]any{"limit": pageSize, "partial": false}
		if offset+pageSize < n {
			q.Set("marker", fmt.Sprintf("m%d", offset+pageSize))
			pagination["partial"] = true
			pagination["next"] = f.projectURL("services") + "?" + q.Encode()
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"type": "collection", "resourceType": "service", "data": data, "pagination": pagination,
		})
	}
}

func TestListFollowsPagination(t *testing.T) {
	tests := []struct {
		name       string
		opts       ListOptions
		wantIDs    []string
		wantQuery  url.Values // of the first request
		wantCalls  int
		wantMarker []string // marker of each request
	}{
		{
			name: "filters sort and every page",
			opts: ListOptions{
				Filters: url.Values{"name_ne": {"x"}, "kind": {"service", "loadBalancerService"}},
				Sort:    "name", Order: OrderDesc,
			},
			wantIDs: []string{"1s1", "1s2", "1s3", "1s4", "1s5"},
			wantQuery: url.Values{
				"name_ne": {"x"}, "kind": {"service", "loadBalancerService"}, "sort": {"name"}, "order": {"desc"},
			},
			wantCalls:  3,
			wantMarker: []string{"", "m2", "m4"},
		},
		{
			name:       "limit caps the rows and stops paging",
			opts:       ListOptions{Filters: url.Values{"name": {"web"}}, Limit: 3},
			wantIDs:    []string{"1s1", "1s2", "1s3"},
			wantQuery:  url.Values{"name": {"web"}, "limit": {"3"}},
			wantCalls:  1,
			wantMarker: []string{""},
		},
		{
			name:       "limit across pages",
			opts:       ListOptions{Limit: 1},
			wantIDs:    []string{"1s1"},
			wantQuery:  url.Values{"limit": {"1"}},
			wantCalls:  1,
			wantMarker: []string{""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCattle(t)
			f.handle("GET /v2-beta/projects/1a5/services", pagedServices(f, 5, 2))
			c := newTestClient(t, f, nil)
			before := len(f.requests())

			svcs, err := c.ListServices(context.Background(), tt.opts)
			if err != nil {
				t.Fatalf("ListServices: %v", err)
			}
			var ids []string
			for _, s := range svcs {
				ids = append(ids, s.ID)
			}
			if !reflect.DeepEqual(ids, tt.wantIDs) {
				t.Fatalf("ids = %v, want %v", ids, tt.wantIDs)
			}
			reqs := f.requestsSince(before)
			if len(reqs) != tt.wantCalls {
				t.Fatalf("%d requests, want %d: %+v", len(reqs), tt.wantCalls, reqs)
			}
			if !reflect.DeepEqual(reqs[0].Query, tt.wantQuery) {
				t.Fatalf("first query = %v, want %v", reqs[0].Query, tt.wantQuery)
			}
			for i, r := range reqs {
				if r.Method != http.MethodGet || r.Path != "/v2-beta/projects/1a5/services" {
					t.Fatalf("request %d = %s %s", i, r.Method, r.Path)
				}
				if got := r.Query.Get("marker"); got != tt.wantMarker[i] {
					t.Fatalf("request %d marker = %q, want %q", i, got, tt.wantMarker[i])
				}
				// Filters survive on every page because next carries them.
				for k, v := range tt.opts.Filters {
					if !reflect.DeepEqual(r.Query[k], v) {
						t.Fatalf("request %d lost filter %s: %v", i, k, r.Query)
					}
				}
			}
		})
	}
}

func TestListPaginationSafety(t *testing.T) {
	tests := []struct {
		name      string
		next      func(f *fakeCattle, r *http.Request) string
		maxPages  int
		wantCalls int
	}{
		{
			name: "endless pages hit the cap",
			next: func(f *fakeCattle, r *http.Request) string {
				n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Query().Get("marker"), "m"))
				return f.projectURL("services") + fmt.Sprintf("?marker=m%d", n+1)
			},
			maxPages:  3,
			wantCalls: 3,
		},
		{
			name: "a next link pointing back is a loop",
			next: func(f *fakeCattle, r *http.Request) string {
				return f.projectURL("services") + "?marker=m1"
			},
			maxPages:  100,
			wantCalls: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCattle(t)
			f.handle("GET /v2-beta/projects/1a5/services", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{
					"type": "collection", "data": []any{f.serviceJSON("1s1", "web", "active")},
					"pagination": map[string]any{"next": tt.next(f, r), "partial": true},
				})
			})
			c := newTestClient(t, f, func(o *Options) { o.MaxPages = tt.maxPages })
			before := len(f.requests())
			_, err := c.ListServices(context.Background(), ListOptions{})
			if !errors.Is(err, ErrTooManyPages) {
				t.Fatalf("err = %v, want ErrTooManyPages", err)
			}
			if !strings.HasPrefix(err.Error(), "list service: ") {
				t.Fatalf("err = %v, want it to name the operation", err)
			}
			if got := len(f.requestsSince(before)); got != tt.wantCalls {
				t.Fatalf("%d requests, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestListRejections(t *testing.T) {
	f := newFakeCattle(t)
	f.handle("GET /v2-beta/projects/1a5/services", serveJSON(http.StatusOK, map[string]any{"type": "error"}))
	f.setSchema(f.schema("machine", "machines", []string{"POST"}, nil))
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	var mna *MethodNotAllowedError
	tests := []struct {
		name  string
		call  func() error
		check func(error) bool
	}{
		{"unknown schema", func() error { return c.List(ctx, "nope", ListOptions{}, &[]Service{}) },
			func(err error) bool { return errors.Is(err, ErrUnknownSchema) }},
		{"collection without GET", func() error { return c.List(ctx, "machine", ListOptions{}, &[]Service{}) },
			func(err error) bool { return errors.As(err, &mna) && mna.Method == "GET" && mna.Target == "collection" }},
		{"nil output", func() error { return c.List(ctx, "service", ListOptions{}, nil) },
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "nil output") }},
		{"negative limit", func() error { return c.List(ctx, "service", ListOptions{Limit: -1}, &[]Service{}) },
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "negative limit") }},
		{"not a collection", func() error { return c.List(ctx, "service", ListOptions{}, &[]Service{}) },
			func(err error) bool { return err != nil && strings.Contains(err.Error(), `got type "error"`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !tt.check(err) {
				t.Fatalf("unexpected error: %v", err)
			}
		})
	}
}

func TestTypedListsUseTheirCollections(t *testing.T) {
	f := newFakeCattle(t)
	empty := serveJSON(http.StatusOK, map[string]any{"type": "collection", "data": []any{}})
	for _, p := range []string{"hosts", "instances", "containers", "stacks", "genericobjects"} {
		f.handle("GET /v2-beta/projects/1a5/"+p, empty)
	}
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	tests := []struct {
		path string
		call func() error
	}{
		{"hosts", func() error { _, err := c.ListHosts(ctx, ListOptions{}); return err }},
		{"instances", func() error { _, err := c.ListInstances(ctx, ListOptions{}); return err }},
		{"containers", func() error { _, err := c.ListContainers(ctx, ListOptions{}); return err }},
		{"stacks", func() error { _, err := c.ListStacks(ctx, ListOptions{}); return err }},
		{"genericobjects", func() error { _, err := c.ListGenericObjects(ctx, ListOptions{}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			before := len(f.requests())
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			reqs := f.requestsSince(before)
			if len(reqs) != 1 || reqs[0].Path != "/v2-beta/projects/1a5/"+tt.path {
				t.Fatalf("requests = %+v", reqs)
			}
		})
	}
}
