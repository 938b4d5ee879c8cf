package cattle

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestGetRetriesRetryableFailures checks that a GET answered 503 twice and then 200 succeeds, that a 404 is not
// retried, and that POSTs are never retried by the client.
func TestGetRetriesRetryableFailures(t *testing.T) {
	f := newFakeCattle(t)
	var gets, posts atomic.Int32
	f.handle("GET /v2-beta/projects/1a5/services/1s1", func(w http.ResponseWriter, r *http.Request) {
		if gets.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "status": 503, "code": "ServiceUnavailable"})
			return
		}
		_ = json.NewEncoder(w).Encode(f.serviceJSON("1s1", "web", "active"))
	})
	f.handle("GET /v2-beta/projects/1a5/services/1s404", func(w http.ResponseWriter, r *http.Request) {
		gets.Add(100)
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "status": 404, "code": "NotFound"})
	})
	f.handle("POST /v2-beta/projects/1a5/services", func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	c := newTestClient(t, f, func(o *Options) { o.GetRetries = 3; o.RetryBackoff = time.Millisecond })
	ctx := context.Background()

	svc, err := c.GetService(ctx, "1s1")
	if err != nil || svc.Name != "web" {
		t.Fatalf("GetService = %+v, %v; want web after two 503s", svc, err)
	}
	if n := gets.Load(); n != 3 {
		t.Fatalf("GET sent %d times, want 3", n)
	}
	if _, err := c.GetService(ctx, "1s404"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetService(1s404) err = %v, want not found", err)
	}
	if n := gets.Load(); n != 103 {
		t.Fatalf("404 GET retried: count %d, want 103", n)
	}
	if err := c.Create(ctx, "service", map[string]any{"name": "x"}, nil); err == nil || !IsRetryable(err) {
		t.Fatalf("Create err = %v, want a retryable 503", err)
	}
	if n := posts.Load(); n != 1 {
		t.Fatalf("POST sent %d times, want exactly 1", n)
	}
}

// TestGetRetriesGiveUp checks that the last error comes back once retries are spent.
func TestGetRetriesGiveUp(t *testing.T) {
	f := newFakeCattle(t)
	var gets atomic.Int32
	f.handle("GET /v2-beta/projects/1a5/services/1s1", func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	})
	c := newTestClient(t, f, func(o *Options) { o.GetRetries = 2; o.RetryBackoff = time.Millisecond })
	_, err := c.GetService(context.Background(), "1s1")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadGateway {
		t.Fatalf("err = %v, want a 502 APIError", err)
	}
	if n := gets.Load(); n != 3 {
		t.Fatalf("GET sent %d times, want 1 + 2 retries", n)
	}
}
