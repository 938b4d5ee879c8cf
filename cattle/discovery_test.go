package cattle

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestDiscoverProject(t *testing.T) {
	projects := func(ids ...string) map[string]any {
		data := []map[string]any{}
		for _, id := range ids {
			data = append(data, map[string]any{"id": id, "type": "project"})
		}
		return map[string]any{"type": "collection", "resourceType": "project", "data": data}
	}
	tests := []struct {
		name         string
		headers      map[string]string
		projects     map[string]any
		wantProject  string
		wantErr      []string
		wantListCall bool
	}{
		{
			name:        "environment key reports its project",
			headers:     map[string]string{"X-API-ACCOUNT-ID": "1a5", "X-API-ACCOUNT-KIND": "project"},
			wantProject: "1a5",
		},
		{
			name:         "admin key with a single project",
			headers:      map[string]string{"X-API-Account-Id": "1a1", "X-API-Account-Kind": "admin"},
			projects:     projects("1a5"),
			wantProject:  "1a5",
			wantListCall: true,
		},
		{
			name:         "no headers falls back to the list",
			projects:     projects("1a5"),
			wantProject:  "1a5",
			wantListCall: true,
		},
		{
			name:         "no project",
			projects:     projects(),
			wantErr:      []string{"no project", "--project-id"},
			wantListCall: true,
		},
		{
			name:         "several projects",
			projects:     projects("1a5", "1a7"),
			wantErr:      []string{"2 projects", "1a5, 1a7", "--project-id"},
			wantListCall: true,
		},
		{
			name: "several pages of projects",
			projects: map[string]any{
				"type": "collection", "data": []map[string]any{{"id": "1a5"}},
				"pagination": map[string]any{"next": "http://x/v2-beta/projects?marker=m1", "partial": true},
			},
			wantErr:      []string{"more than 1 projects", "--project-id"},
			wantListCall: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCattle(t)
			f.rootHeaders = tt.headers
			if tt.projects != nil {
				f.handle("GET /v2-beta/projects", serveJSON(http.StatusOK, tt.projects))
			}
			c, err := New(context.Background(), Options{URL: f.url("/v1"), AccessKey: testAccessKey, SecretKey: testSecretKey})
			listed := false
			for _, r := range f.requests() {
				if r.Path == "/v2-beta/projects" {
					listed = true
				}
			}
			if listed != tt.wantListCall {
				t.Fatalf("GET /v2-beta/projects made = %v, want %v", listed, tt.wantListCall)
			}
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("New succeeded with project %q, want error", c.ProjectID())
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Fatalf("err = %v, want containing %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if c.ProjectID() != tt.wantProject {
				t.Fatalf("ProjectID = %q, want %q", c.ProjectID(), tt.wantProject)
			}
		})
	}
}

func TestDiscoverySchemas(t *testing.T) {
	f := newFakeCattle(t)
	c := newTestClient(t, f, nil)

	paths := []string{}
	for _, r := range f.requests() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	want := []string{"GET /v2-beta/projects/1a5", "GET /v2-beta/projects/1a5/schemas"}
	if strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Fatalf("discovery requests = %v, want %v", paths, want)
	}
	s, ok := c.Schema("genericobject")
	if !ok || s.ID != "genericObject" {
		t.Fatalf("Schema(genericobject) = %+v, %v", s, ok)
	}
	if s.CollectionURL() != f.projectURL("genericobjects") {
		t.Fatalf("collection url = %q", s.CollectionURL())
	}
	if _, ok := c.Schema("nope"); ok {
		t.Fatal("Schema(nope) found")
	}
}

func TestDiscoveryFailures(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(f *fakeCattle)
		secret  string
		wantErr []string
		wantIs  error
	}{
		{
			name:    "wrong keys",
			secret:  "wrong-secret-999",
			wantErr: []string{"rejected the access key and secret key"},
			wantIs:  ErrUnauthorized,
		},
		{
			name: "unknown project",
			setup: func(f *fakeCattle) {
				f.handle("GET /v2-beta/projects/1a5", serveJSON(http.StatusNotFound,
					map[string]any{"type": "error", "status": 404, "code": "Not Found"}))
			},
			wantErr: []string{"project 1a5", "does not exist"},
			wantIs:  ErrNotFound,
		},
		{
			name: "no schemas header",
			setup: func(f *fakeCattle) {
				f.handle("GET /v2-beta/projects/1a5", serveJSON(http.StatusOK, map[string]any{}))
			},
			wantErr: []string{"no X-API-Schemas header"},
		},
		{
			name: "not 200",
			setup: func(f *fakeCattle) {
				f.handle("GET /v2-beta/projects/1a5", func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-API-Schemas", "/v2-beta/projects/1a5/schemas")
					w.WriteHeader(http.StatusNoContent)
				})
			},
			wantErr: []string{"expected status 200, got 204"},
		},
		{
			name: "schemas unavailable",
			setup: func(f *fakeCattle) {
				f.handle("GET /v2-beta/projects/1a5/schemas", serveJSON(http.StatusServiceUnavailable, "down"))
			},
			wantErr: []string{"load cattle schemas", "503"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCattle(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			secret := testSecretKey
			if tt.secret != "" {
				secret = tt.secret
			}
			_, err := New(context.Background(), Options{URL: f.url("/v1"), AccessKey: testAccessKey, SecretKey: secret, ProjectID: testProject})
			if err == nil {
				t.Fatal("New succeeded")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want containing %q", err, want)
				}
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error leaks the secret key: %v", err)
			}
		})
	}
}

func TestDiscoveryUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	for _, project := range []string{"", testProject} {
		t.Run("project="+project, func(t *testing.T) {
			_, err := New(context.Background(), Options{
				URL: "http://" + addr + "/v1", AccessKey: testAccessKey, SecretKey: testSecretKey, ProjectID: project,
			})
			if err == nil {
				t.Fatal("New succeeded against a closed port")
			}
			if want := "cattle is unreachable at http://" + addr; !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want containing %q", err, want)
			}
			if strings.Contains(err.Error(), testSecretKey) {
				t.Fatalf("error leaks the secret key: %v", err)
			}
			var te *TransportError
			if !errors.As(err, &te) || !IsRetryable(err) {
				t.Fatalf("want a retryable *TransportError, got %T %v", err, err)
			}
		})
	}
}
