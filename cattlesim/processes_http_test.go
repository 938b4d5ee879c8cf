package cattlesim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestProcessesOverHTTP drives the demo seed through the REST layer, as a client of the emulator does: the
// state machines must behave the same behind real requests (input reduced by the schemas, JSON numbers...).
func TestProcessesOverHTTP(t *testing.T) {
	s := New(Options{RandSeed: 1, Timings: Timings{Step: 5 * time.Millisecond}})
	info, err := s.Seed(SeedDemo, SeedOptions{AccessKey: "demo-access", SecretKey: "demo-secret"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		checkInstanceIndex(t, s)
		s.Close()
	})

	do := func(method, path string, body any) (int, map[string]any) {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			r = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, srv.URL+"/v2-beta/projects/1a5/"+path, r)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("demo-access", "demo-secret")
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
		return resp.StatusCode, m
	}
	waitFor := func(path, state string) map[string]any {
		t.Helper()
		deadline := time.Now().Add(procTimeout)
		for {
			_, m := do(http.MethodGet, path, nil)
			if m["state"] == state && m["transitioning"] == "no" {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: state %v/%v, want %s", path, m["state"], m["transitioning"], state)
			}
			time.Sleep(5 * time.Millisecond) // polling tick
		}
	}
	web := "services/" + info.Objects["1a5/service/web"]

	status, m := do(http.MethodPut, web, map[string]any{"scale": 3, "currentScale": 3, "links": nil, "actions": nil})
	if status != http.StatusOK || m["state"] != "updating-active" {
		t.Fatalf("PUT scale: %d %v", status, m["state"])
	}
	m = waitFor(web, "active")
	if m["currentScale"] != float64(3) {
		t.Fatalf("currentScale = %v", m["currentScale"])
	}

	lc, _ := m["launchConfig"].(map[string]any)
	lc["imageUuid"] = "docker:nginx:1.14"
	status, m = do(http.MethodPost, web+"/?action=upgrade", map[string]any{"inServiceStrategy": map[string]any{
		"batchSize": 2, "intervalMillis": 100, "launchConfig": lc}})
	if status != http.StatusAccepted || m["state"] != "upgrading" {
		t.Fatalf("upgrade: %d %v %v", status, m["state"], m["code"])
	}
	waitFor(web, "upgraded")
	if status, m = do(http.MethodPut, web, map[string]any{"scale": 4}); status != http.StatusConflict {
		t.Errorf("PUT during upgraded: %d %v, want 409", status, m["code"])
	}
	if status, m = do(http.MethodPost, web+"/?action=upgrade", map[string]any{"inServiceStrategy": map[string]any{
		"launchConfig": lc}}); status != http.StatusUnprocessableEntity || m["code"] != "ActionNotAvailable" {
		t.Errorf("upgrade from upgraded: %d %v", status, m["code"])
	}
	if status, m = do(http.MethodPost, web+"/?action=finishupgrade", nil); status != http.StatusAccepted {
		t.Fatalf("finishupgrade: %d %v", status, m["code"])
	}
	waitFor(web, "active")

	host := "hosts/" + info.Objects["1a5/host/worker-01"]
	if status, m = do(http.MethodDelete, host, nil); status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE active host: %d %v", status, m["code"])
	}
	if status, m = do(http.MethodPost, "hosts", map[string]any{"hostname": "x"}); status != http.StatusUnprocessableEntity ||
		m["code"] != "DriverConfigExactlyOneRequired" {
		t.Errorf("host without config: %d %v", status, m["code"])
	}
	status, m = do(http.MethodPost, "externalhostevents", map[string]any{"eventType": "host.evacuate",
		"hostId": info.Objects["1a5/host/worker-01"], "deleteHost": true})
	if status != http.StatusCreated || m["state"] != "creating" {
		t.Fatalf("evacuate: %d %v %v", status, m["state"], m["code"])
	}
	id, _ := m["id"].(string)
	waitFor("externalhostevents/"+id, "created")
	if _, m = do(http.MethodGet, host, nil); m["state"] != "purged" {
		t.Errorf("evacuated host state %v", m["state"])
	}
}
