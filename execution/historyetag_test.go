package execution

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// get serves one GET of the history handler with an optional If-None-Match.
func get(t *testing.T, h http.Handler, path, ifNoneMatch string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHistoryETagAnswers304UntilSomethingChanges(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	hist := NewHistory(10, func() time.Time { return now })
	e := hist.Start("1go4", "scale-web-up", "scaleService", now)
	h := hist.Handler()
	const list = "/v1-webhooks/executions?projectId=1a5"

	first := get(t, h, list, "")
	tag := first.Header().Get("ETag")
	if first.Code != http.StatusOK || tag == "" || first.Body.Len() == 0 {
		t.Fatalf("first GET: %d, ETag %q, %d bytes; want 200 with an ETag and a body", first.Code, tag, first.Body.Len())
	}
	if got := first.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("Cache-Control = %q, want no-cache", got)
	}
	for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*"} {
		again := get(t, h, list, inm)
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 || again.Header().Get("ETag") != tag {
			t.Errorf("If-None-Match %s on an unchanged history: %d, %d bytes, ETag %q; want 304, no body, ETag %s",
				inm, again.Code, again.Body.Len(), again.Header().Get("ETag"), tag)
		}
	}
	if stale := get(t, h, list, `"stale"`); stale.Code != http.StatusOK || stale.Body.Len() == 0 {
		t.Errorf("If-None-Match with another tag: %d, want 200 with the body", stale.Code)
	}

	// Every change of a listed record changes the tag: a step, the outcome, a step added after the end.
	changes := []struct {
		what   string
		change func()
	}{
		{"step", func() { e.Step("queued by trigger") }},
		{"running", e.Running},
		{"finish", func() { e.Finish(OutcomeDone, nil) }},
		{"step after the end", func() { hist.AddStep(e.ID(), "notified webhook") }},
		{"new execution", func() { hist.Start("1go4", "scale-web-up", "scaleService", now) }},
	}
	for _, c := range changes {
		c.change()
		rec := get(t, h, list, tag)
		newTag := rec.Header().Get("ETag")
		if rec.Code != http.StatusOK || newTag == "" || newTag == tag {
			t.Fatalf("after %s: %d with ETag %q (was %q); want 200 with a new tag", c.what, rec.Code, newTag, tag)
		}
		tag = newTag
	}

	// The tag is per answer: a filter or a single record has its own.
	filtered := get(t, h, list+"&receiverId=1go9", tag)
	if filtered.Code != http.StatusOK || filtered.Header().Get("ETag") == tag {
		t.Errorf("filtered list with the unfiltered tag: %d, ETag %q; want 200 with its own tag", filtered.Code, filtered.Header().Get("ETag"))
	}
	one := get(t, h, "/v1-webhooks/executions/"+e.ID(), "")
	oneTag := one.Header().Get("ETag")
	if one.Code != http.StatusOK || oneTag == "" || oneTag == tag {
		t.Fatalf("GET one: %d, ETag %q; want 200 with its own tag", one.Code, oneTag)
	}
	if again := get(t, h, "/v1-webhooks/executions/"+e.ID(), oneTag); again.Code != http.StatusNotModified {
		t.Errorf("GET one with its tag: %d, want 304", again.Code)
	}
	if missing := get(t, h, "/v1-webhooks/executions/x999", "*"); missing.Code != http.StatusNotFound {
		t.Errorf("GET a missing record with If-None-Match *: %d, want 404", missing.Code)
	}
}
