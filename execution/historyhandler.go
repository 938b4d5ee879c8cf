package execution

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// DefaultListLimit is how many records GET /v1-webhooks/executions returns without ?limit=.
const DefaultListLimit = 100

// executionCollection is the JSON of an execution listing, shaped like the API's other collections.
type executionCollection struct {
	Type         string   `json:"type"`
	ResourceType string   `json:"resourceType"`
	Data         []Record `json:"data"`
}

// Handler serves the history: GET /v1-webhooks/executions[?receiverId=<id>&limit=<n>] newest first, and
// GET /v1-webhooks/executions/<id>, both with an ETag (If-None-Match answers 304 while nothing changed). The
// receivers API mounts it behind its project check.
func (h *History) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", http.MethodGet)
			writeJSON(w, http.StatusMethodNotAllowed, errorBody(http.StatusMethodNotAllowed, "Method "+r.Method+" not allowed"))
			return
		}
		rest := strings.Trim(r.URL.Path[strings.Index(r.URL.Path, "/executions")+len("/executions"):], "/")
		if rest != "" {
			rec, ok := h.Get(rest)
			if !ok {
				writeJSON(w, http.StatusNotFound, errorBody(http.StatusNotFound, "Execution "+rest+" not found"))
				return
			}
			writeJSONTagged(w, r, rec)
			return
		}
		limit := DefaultListLimit
		if s := r.URL.Query().Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				writeJSON(w, http.StatusBadRequest, errorBody(http.StatusBadRequest, "limit must be a positive integer"))
				return
			}
			limit = n
		}
		writeJSONTagged(w, r, executionCollection{Type: "collection", ResourceType: "execution",
			Data: h.List(r.URL.Query().Get("receiverId"), limit)})
	})
}

// errorBody is the error JSON of the /v1-webhooks API (webhook-service's shape).
func errorBody(code int, msg string) map[string]any {
	return map[string]any{"type": "error", "statusCode": code, "status": "Server Error", "message": msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
