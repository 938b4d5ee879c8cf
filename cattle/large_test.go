package cattle

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestListRawRowsMatchDecodedList checks the fast path for *[]json.RawMessage (rows handed over as collected,
// without joining and re-parsing them): across pages and with a limit it yields exactly the rows the generic
// decode yields, and an empty listing is an empty, non-nil slice like json.Unmarshal of "[]" gives.
func TestListRawRowsMatchDecodedList(t *testing.T) {
	f := newFakeCattle(t)
	f.handle("GET /v2-beta/projects/1a5/services", pagedServices(f, 5, 2))
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	for _, opts := range []ListOptions{{}, {Limit: 3}, {PageSize: 4}} {
		var raw []json.RawMessage
		if err := c.List(ctx, "service", opts, &raw); err != nil {
			t.Fatalf("List raw %+v: %v", opts, err)
		}
		// Through the generic path: a type that is not *[]json.RawMessage but decodes the same bytes.
		var generic []any
		if err := c.List(ctx, "service", opts, &generic); err != nil {
			t.Fatalf("List generic %+v: %v", opts, err)
		}
		if len(raw) != len(generic) || len(raw) == 0 {
			t.Fatalf("%+v: %d raw rows, %d decoded rows", opts, len(raw), len(generic))
		}
		for i := range raw {
			var row any
			if err := json.Unmarshal(raw[i], &row); err != nil {
				t.Fatalf("%+v: raw row %d is not JSON: %v", opts, i, err)
			}
			if !reflect.DeepEqual(row, generic[i]) {
				t.Fatalf("%+v: raw row %d = %v, want %v", opts, i, row, generic[i])
			}
		}
	}

	empty := newFakeCattle(t)
	empty.handle("GET /v2-beta/projects/1a5/services", pagedServices(empty, 0, 2))
	var raw []json.RawMessage
	if err := newTestClient(t, empty, nil).List(ctx, "service", ListOptions{}, &raw); err != nil {
		t.Fatalf("List empty: %v", err)
	}
	if raw == nil || len(raw) != 0 {
		t.Fatalf("empty listing = %#v, want an empty non-nil slice", raw)
	}
}

// TestResponseBodiesWithAndWithoutLength checks both ways a body is read: into one buffer of the announced
// Content-Length, or grown as it comes (chunked); and that a body shorter than announced is an error, not a
// truncated decode.
func TestResponseBodiesWithAndWithoutLength(t *testing.T) {
	f := newFakeCattle(t)
	big := f.serviceJSON("1s1", "web", "active")
	big["description"] = strings.Repeat("x", 64<<10) // past any small-body buffering
	body, err := json.Marshal(big)
	if err != nil {
		t.Fatal(err)
	}
	f.handle("GET /v2-beta/projects/1a5/services/1s1", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	f.handle("GET /v2-beta/projects/1a5/services/1s2", func(w http.ResponseWriter, _ *http.Request) {
		// No length: net/http sends a body this large chunked.
		flusher, _ := w.(http.Flusher)
		for i := 0; i < len(body); i += 1000 {
			_, _ = w.Write(body[i:min(i+1000, len(body))])
			if flusher != nil {
				flusher.Flush()
			}
		}
	})
	f.handle("GET /v2-beta/projects/1a5/services/1s3", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+10))
		_, _ = w.Write(body) // ten bytes short: the server handler ends, the connection is cut
	})
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	for _, id := range []string{"1s1", "1s2"} {
		var got map[string]any
		if err := c.ByID(ctx, "service", id, &got); err != nil {
			t.Fatalf("ByID %s: %v", id, err)
		}
		if got["description"] != big["description"] || got["id"] != "1s1" {
			t.Fatalf("ByID %s decoded a different body (%d-byte description)", id, len(fmt.Sprint(got["description"])))
		}
	}
	var got map[string]any
	if err := c.ByID(ctx, "service", "1s3", &got); err == nil {
		t.Fatal("ByID of a body shorter than its Content-Length: want an error")
	}
}
