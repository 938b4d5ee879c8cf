package cattle

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in      string
		root    string
		project string
		wantErr string
	}{
		{in: "http://rancher:8080", root: "http://rancher:8080"},
		{in: "http://rancher:8080/", root: "http://rancher:8080"},
		{in: "http://rancher:8080/v1", root: "http://rancher:8080"},
		{in: "http://rancher:8080/v1/", root: "http://rancher:8080"},
		{in: "http://rancher:8080/v2-beta", root: "http://rancher:8080"},
		{in: "http://rancher:8080/v2-beta/", root: "http://rancher:8080"},
		{in: " http://rancher:8080/v1 ", root: "http://rancher:8080"},
		{in: "https://rancher.example.com/v1/projects/1a5", root: "https://rancher.example.com", project: "1a5"},
		{in: "http://rancher:8080/v2-beta/projects/1a5/schemas", root: "http://rancher:8080", project: "1a5"},
		{in: "http://rancher:8080/v1/projects/", root: "http://rancher:8080"},
		{in: "http://rancher:8080/v1/schemas", root: "http://rancher:8080"},
		{in: "http://lb/rancher/v1", root: "http://lb/rancher"},
		{in: "http://lb/rancher", root: "http://lb/rancher"},
		{in: "http://rancher:8080/v1?projectId=1a7#frag", root: "http://rancher:8080"},
		{in: "", wantErr: "empty"},
		{in: "ftp://rancher/v1", wantErr: "must use http or https"},
		{in: "rancher:8080/v1", wantErr: "must use http or https"},
		{in: "ws://rancher:8080/v1", wantErr: "must use http or https"},
		{in: "http:///v1", wantErr: "no host"},
		{in: "http://user:pass@rancher/v1", wantErr: "must not contain credentials"},
		{in: "http://rancher:8080/%zz", wantErr: "parse cattle url"},
		{in: "http://user:pass@rancher:8080/%zz", wantErr: "parse cattle url"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ep, err := parseEndpoint(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "pass@") {
					t.Fatalf("error leaks credentials: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if ep.root != tt.root || ep.projectID != tt.project {
				t.Fatalf("got root %q project %q, want %q %q", ep.root, ep.projectID, tt.root, tt.project)
			}
			if want := tt.root + "/v2-beta"; ep.versionURL() != want {
				t.Fatalf("versionURL = %q, want %q", ep.versionURL(), want)
			}
		})
	}
}

// TestNewNormalisesURL checks every accepted CATTLE_URL spelling against a
// server: all of them end up on /v2-beta/projects/1a5.
func TestNewNormalisesURL(t *testing.T) {
	suffixes := []string{"", "/", "/v1", "/v1/", "/v2-beta", "/v2-beta/", "/v1/projects/1a5", "/v2-beta/projects/1a5/schemas"}
	for _, suffix := range suffixes {
		t.Run(suffix, func(t *testing.T) {
			f := newFakeCattle(t)
			c := newTestClient(t, f, func(o *Options) { o.URL = f.url(suffix) })
			if c.ProjectID() != testProject {
				t.Fatalf("ProjectID = %q", c.ProjectID())
			}
			if want := f.url("/v2-beta/projects/1a5"); c.ProjectURL() != want {
				t.Fatalf("ProjectURL = %q, want %q", c.ProjectURL(), want)
			}
			for _, r := range f.requests() {
				if !strings.HasPrefix(r.Path, "/v2-beta") {
					t.Fatalf("request outside /v2-beta: %s %s", r.Method, r.Path)
				}
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"no keys", Options{URL: "http://rancher/v1"}, "access key and secret key are required"},
		{"no secret", Options{URL: "http://rancher/v1", AccessKey: "a"}, "access key and secret key are required"},
		{"bad scheme", Options{URL: "gopher://rancher/v1", AccessKey: "a", SecretKey: "s"}, "must use http or https"},
		{"negative timeout", Options{URL: "http://rancher/v1", AccessKey: "a", SecretKey: "s", Timeout: -time.Second}, "negative timeout"},
		{"project conflict", Options{URL: "http://rancher/v1/projects/1a5", AccessKey: "a", SecretKey: "s", ProjectID: "1a7"}, "conflicts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}
