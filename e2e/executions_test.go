package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// GET /v1-webhooks/executions lists every execution newest first, with what came in, what was decided, the
// Cattle calls and the outcome; ?receiverId= keeps one receiver's, ?limit= the newest n; one record is served
// at /v1-webhooks/executions/<id>.
func TestExecutionsNewestFirstFilteredByReceiver(t *testing.T) {
	t.Parallel()
	e := start(t)
	web, worker := e.id("service/web"), e.id("service/worker")
	a := e.scaleReceiver("scale-web-up", web, "up", 1, 1, 5)
	b := e.scaleReceiver("scale-worker-up", worker, "up", 1, 1, 5)

	// Fired one after the other, each answered when done: a, b, a, b, a.
	var ids, idsA, idsB []string
	for i, r := range []receiver{a, b, a, b, a} {
		ans := e.trigger(r.URL, "", nil)
		if ans.status != http.StatusOK {
			t.Fatalf("trigger %d (%s): %s", i, r.Name, ans)
		}
		id := decodeReply(t, ans).ExecutionID
		ids = append(ids, id)
		if r.ID == a.ID {
			idsA = append(idsA, id)
		} else {
			idsB = append(idsB, id)
		}
	}
	slices.Reverse(ids)
	slices.Reverse(idsA)
	slices.Reverse(idsB)

	all := e.executions("")
	if got := recordIDs(all); !slices.Equal(got, ids) {
		t.Fatalf("executions %v, want newest first %v", got, ids)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Received.After(all[i-1].Received) {
			t.Errorf("execution %s received after the one listed before it", all[i].ID)
		}
	}

	onlyA := e.executions("receiverId=" + a.ID)
	if got := recordIDs(onlyA); !slices.Equal(got, idsA) {
		t.Errorf("executions of %s: %v, want %v", a.ID, got, idsA)
	}
	for i, rec := range onlyA {
		wantDecision := []string{"scale 4 → 5", "scale 3 → 4", "scale 2 → 3"}[i]
		if rec.ReceiverID != a.ID || rec.ReceiverName != "scale-web-up" || rec.Driver != "scaleService" ||
			rec.Target != "service:"+web || rec.Outcome != "done" || rec.Decision != wantDecision || rec.Input != "bare POST" {
			t.Errorf("record %+v, want receiver %s's done %q on service:%s from a bare POST", rec, a.ID, wantDecision, web)
		}
		// A read of the service, again after each wait while the previous scale settles, then one PUT.
		var calls []string
		for _, c := range rec.Calls {
			calls = append(calls, c.Method+" "+c.Target)
		}
		n := len(calls)
		if n < 2 || calls[n-1] != "PUT services/"+web ||
			slices.ContainsFunc(calls[:n-1], func(c string) bool { return c != "GET services/"+web }) {
			t.Errorf("record %s calls %v, want reads of services/%s then one PUT", rec.ID, calls, web)
		}
	}
	if got := recordIDs(e.executions("receiverId=" + b.ID + "&limit=1")); !slices.Equal(got, idsB[:1]) {
		t.Errorf("newest execution of %s: %v, want %v", b.ID, got, idsB[:1])
	}
	if got := e.executions("receiverId=1go999"); len(got) != 0 {
		t.Errorf("executions of an unknown receiver: %v, want none", recordIDs(got))
	}
	if one := e.execution(idsB[0]); one.ReceiverID != b.ID || one.Target != "service:"+worker || one.Outcome != "done" {
		t.Errorf("execution %s: %+v, want receiver %s's done scale of worker", idsB[0], one, b.ID)
	}
	wantError(t, "limit=0", e.api(http.MethodGet, "/v1-webhooks/executions?limit=0", nil), http.StatusBadRequest, "limit")
	if ans := e.api(http.MethodGet, "/v1-webhooks/executions/x999", nil); ans.status != http.StatusNotFound ||
		!strings.Contains(string(ans.body), "not found") {
		t.Errorf("unknown execution: %s, want 404", ans)
	}
}

func recordIDs(recs []record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}
