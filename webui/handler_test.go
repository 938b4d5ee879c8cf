package webui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, h http.Handler, method, path string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "http://127.0.0.1"+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func newHandler(t *testing.T) http.Handler {
	t.Helper()
	h, err := Handler()
	if err != nil {
		t.Fatalf("Handler: %v", err)
	}
	// Mounted as the receivers API mounts it.
	return http.StripPrefix("/v1-webhooks/ui", h)
}

func TestUIHandlerServesThePageWithItsHeaders(t *testing.T) {
	h := newHandler(t)
	cases := []struct {
		path, contentType, contains string
	}{
		{"/v1-webhooks/ui/", "text/html; charset=utf-8", `<script src="app.js" defer></script>`},
		{"/v1-webhooks/ui/app.js", "text/javascript; charset=utf-8", `"use strict";`},
		{"/v1-webhooks/ui/style.css", "text/css; charset=utf-8", ".outcome"},
	}
	for _, c := range cases {
		rec := serve(t, h, http.MethodGet, c.path+"?projectId=1a5", nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d, want 200", c.path, rec.Code)
		}
		hdr := rec.Header()
		if got := hdr.Get("Content-Type"); got != c.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, got, c.contentType)
		}
		if got := hdr.Get("Content-Security-Policy"); !strings.HasPrefix(got, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q, want default-src 'self' first", c.path, got)
		}
		for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
			"X-Frame-Options": "DENY", "Cache-Control": "no-cache"} {
			if got := hdr.Get(name); got != want {
				t.Errorf("GET %s: %s %q, want %q", c.path, name, got, want)
			}
		}
		if !strings.Contains(rec.Body.String(), c.contains) {
			t.Errorf("GET %s: body does not contain %q", c.path, c.contains)
		}
		etag := hdr.Get("ETag")
		if etag == "" {
			t.Fatalf("GET %s: no ETag", c.path)
		}
		again := serve(t, h, http.MethodGet, c.path, http.Header{"If-None-Match": {etag}})
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("GET %s with If-None-Match %s: %d with %d bytes, want 304 and no body", c.path, etag, again.Code, again.Body.Len())
		}
		head := serve(t, h, http.MethodHead, c.path, nil)
		if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Type") != c.contentType {
			t.Errorf("HEAD %s: %d with %d bytes, type %q; want 200, no body, %q", c.path, head.Code, head.Body.Len(),
				head.Header().Get("Content-Type"), c.contentType)
		}
	}
}

func TestUIHandlerRefusesEverythingElse(t *testing.T) {
	h := newHandler(t)
	for _, path := range []string{"/v1-webhooks/ui/index.html", "/v1-webhooks/ui/static/app.js", "/v1-webhooks/ui/../receivers",
		"/v1-webhooks/ui/app.js/", "/v1-webhooks/ui/nope"} {
		rec := serve(t, h, http.MethodGet, path, nil)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, rec.Code)
		}
		if rec.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: the 404 has no Content-Security-Policy", path)
		}
	}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec := serve(t, h, method, "/v1-webhooks/ui/", nil)
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /v1-webhooks/ui/: %d, Allow %q; want 405 with Allow: GET, HEAD", method, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

// The page must run under its own Content-Security-Policy (no inline script, style or handler, nothing from
// another origin) and must never turn data into markup. These checks read the sources; the browser test in
// e2e runs the page and fails on any CSP violation or script error.
func TestUIAssetsAreSelfContainedAndSafe(t *testing.T) {
	read := func(name string) string {
		b, err := fs.ReadFile(static, "static/"+name)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		return string(b)
	}
	html, js, css := read("index.html"), read("app.js"), read("style.css")

	scripts := regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`).FindAllStringSubmatch(html, -1)
	if len(scripts) != 1 {
		t.Errorf("index.html has %d script elements, want exactly app.js", len(scripts))
	}
	for _, s := range scripts {
		if !strings.Contains(s[1], `src="app.js"`) || strings.TrimSpace(s[2]) != "" {
			t.Errorf("index.html has an inline or foreign script: %s", s[0])
		}
	}
	forbidden := []struct {
		file, text, what string
		re               *regexp.Regexp
	}{
		{"index.html", html, "a style attribute", regexp.MustCompile(`(?i)\sstyle\s*=`)},
		{"index.html", html, "a style element", regexp.MustCompile(`(?i)<style`)},
		{"index.html", html, "an inline event handler", regexp.MustCompile(`(?i)\son[a-z]+\s*=`)},
		{"index.html", html, "a URL of another origin", regexp.MustCompile(`(?i)(?:src|href|action)\s*=\s*"(?:[a-z]+:|//)`)},
		{"app.js", js, "markup built from strings", regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function`)},
		{"app.js", js, "an absolute URL", regexp.MustCompile(`(?i)\bhttps?://`)},
		{"app.js", js, "inline style", regexp.MustCompile(`\.style\.|setAttribute\("style"`)},
		{"style.css", css, "a fetched resource", regexp.MustCompile(`(?i)@import|url\(`)},
	}
	for _, f := range forbidden {
		if m := f.re.FindString(f.text); m != "" {
			t.Errorf("%s has %s: %q", f.file, f.what, m)
		}
	}
}
