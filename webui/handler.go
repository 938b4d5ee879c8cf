package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"time"
)

// static holds the page. Only the files listed in assetTypes are served.
//
//go:embed static
var static embed.FS

// assetTypes maps the served paths (relative to the mount point) to their file and media type. The types are
// set explicitly so that nothing depends on the host's MIME tables or on sniffing.
func assetTypes() map[string]struct{ file, contentType string } {
	return map[string]struct{ file, contentType string }{
		"/":          {"static/index.html", "text/html; charset=utf-8"},
		"/app.js":    {"static/app.js", "text/javascript; charset=utf-8"},
		"/style.css": {"static/style.css", "text/css; charset=utf-8"},
	}
}

// ContentSecurityPolicy is sent with every answer: the page loads scripts, styles and data only from its own
// origin, runs no inline script or style, cannot be framed and posts no form anywhere.
const ContentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	name        string
	contentType string
	etag        string
	body        []byte
}

// handler serves the embedded assets.
type handler struct {
	assets map[string]asset
}

// Handler serves the page. Mount it with the mount point stripped (http.StripPrefix): it answers "/" with the
// page, "/app.js" and "/style.css", 404 for anything else and 405 for methods other than GET and HEAD.
func Handler() (http.Handler, error) {
	types := assetTypes()
	h := &handler{assets: make(map[string]asset, len(types))}
	for path, a := range types {
		body, err := fs.ReadFile(static, a.file)
		if err != nil {
			return nil, fmt.Errorf("read embedded %s: %w", a.file, err)
		}
		sum := sha256.Sum256(body)
		h.assets[path] = asset{name: a.file, contentType: a.contentType, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, body: body}
	}
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	// Trigger URLs carry keys; the page never sends a Referer anywhere.
	hdr.Set("Referrer-Policy", "no-referrer")
	a, ok := h.assets[r.URL.Path]
	if !ok {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("ETag", a.etag)
	// Revalidated on every load, so a new version of the service never runs an old script.
	hdr.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}
