package execution

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
)

// writeJSONTagged answers a successful GET of the history with an ETag, the hash of the answer itself, so a
// client polling for live updates (the web page, every 2 s) sends If-None-Match and gets a bodiless 304 while
// nothing changed. Hashing the answer rather than counting changes keeps the tag right whatever changes a
// record (steps added after the end included) and per filter (?receiverId=, ?limit=).
func writeJSONTagged(w http.ResponseWriter, r *http.Request, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only reachable through a programming error in this package's types.
		writeJSON(w, http.StatusInternalServerError, errorBody(http.StatusInternalServerError, "encode response"))
		return
	}
	sum := sha256.Sum256(buf.Bytes())
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	// Cached copies must be revalidated: the history changes at any time.
	h.Set("Cache-Control", "no-cache")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// etagMatches reports whether an If-None-Match header names etag (weak comparison, as RFC 9110 asks for
// If-None-Match) or is "*".
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
