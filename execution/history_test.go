package execution

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHistoryKeepsNewestAndFilters(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	h := NewHistory(3, func() time.Time { return now })
	for i := range 5 {
		e := h.Start(fmt.Sprintf("r%d", i%2), "name", "scaleService", now)
		e.Running()
		e.AddCall(Call{Method: "PUT", Target: "services/1s1", Status: 200})
		e.Finish(OutcomeDone, nil)
	}
	all := h.List("", 0)
	if len(all) != 3 || all[0].ID != "x5" || all[2].ID != "x3" {
		t.Fatalf("List = %+v, want x5,x4,x3", all)
	}
	r0 := h.List("r0", 0)
	if len(r0) != 2 || r0[0].ID != "x5" || r0[1].ID != "x3" {
		t.Fatalf("List(r0) = %+v, want x5,x3", r0)
	}
	if got := h.List("", 1); len(got) != 1 || got[0].ID != "x5" {
		t.Fatalf("List limit 1 = %+v", got)
	}
	if _, ok := h.Get("x1"); ok {
		t.Fatal("x1 should have been dropped from a history of 3")
	}
	// Copies: changing a listed record does not change the history.
	all[0].Calls[0].Status = 500
	if r, _ := h.Get("x5"); r.Calls[0].Status != 200 {
		t.Fatal("List returned shared call slices")
	}
}

func TestEntryDurationsAndError(t *testing.T) {
	clock := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	h := NewHistory(0, func() time.Time { return clock })
	e := h.Start("r", "n", "scaleHost", clock)
	clock = clock.Add(50 * time.Millisecond)
	e.Running()
	clock = clock.Add(200 * time.Millisecond)
	e.Finish(OutcomeFailed, errors.New("boom"))
	r := e.Snapshot()
	if r.QueuedMillis != 50 || r.RunMillis != 200 || r.Error != "boom" || r.Outcome != OutcomeFailed {
		t.Fatalf("record = %+v", r)
	}
}

func TestHistoryHandler(t *testing.T) {
	h := NewHistory(0, nil)
	e := h.Start("1go4", "up", "scaleService", time.Now())
	e.Finish(OutcomeDone, nil)
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "/v1-webhooks/executions", 200, `"id":"x1"`},
		{"GET", "/v1-webhooks/executions/?receiverId=other", 200, `"data":[]`},
		{"GET", "/v1-webhooks/executions/x1", 200, `"receiverId":"1go4"`},
		{"GET", "/v1-webhooks/executions/x9", 404, `"statusCode":404`},
		{"GET", "/v1-webhooks/executions?limit=zero", 400, "positive integer"},
		{"POST", "/v1-webhooks/executions", 405, "not allowed"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = fmt.Fprint(&b, readAll(t, resp))
		if resp.StatusCode != tc.status || !strings.Contains(b.String(), tc.want) {
			t.Errorf("%s %s = %d %s, want %d containing %s", tc.method, tc.path, resp.StatusCode, b.String(), tc.status, tc.want)
		}
	}
}

func TestBookBoundsAndOrder(t *testing.T) {
	h := NewHistory(0, nil)
	b := NewBook(2)
	a1 := newIntent("service:1s1", h.Start("r", "n", "d", time.Now()))
	a2 := newIntent("service:1s1", h.Start("r", "n", "d", time.Now()))
	a3 := newIntent("service:1s1", h.Start("r", "n", "d", time.Now()))
	if err := b.park(a1); err != nil {
		t.Fatal(err)
	}
	if err := b.park(a2); err != nil {
		t.Fatal(err)
	}
	if err := b.park(a3); !errors.Is(err, ErrBookFull) {
		t.Fatalf("park over the bound = %v, want ErrBookFull", err)
	}
	for _, in := range []*intent{a2, a1} {
		if key, err := b.file(in.entry.ID()); err != nil || key != "service:1s1" {
			t.Fatalf("file = %q, %v", key, err)
		}
	}
	if _, err := b.file(a1.entry.ID()); !errors.Is(err, ErrUnknownExecution) {
		t.Fatalf("second file = %v, want ErrUnknownExecution", err)
	}
	got := b.take("service:1s1")
	if len(got) != 2 || got[0] != a2 || got[1] != a1 || b.Len() != 0 {
		t.Fatalf("take = %v, len %d", got, b.Len())
	}
	if err := b.park(a3); err != nil {
		t.Fatal(err)
	}
	_, _ = b.file(a3.entry.ID())
	b.putBack("service:1s1", got)
	if all := b.take("service:1s1"); len(all) != 3 || all[0] != a2 || all[2] != a3 {
		t.Fatalf("putBack order = %v", all)
	}
}
