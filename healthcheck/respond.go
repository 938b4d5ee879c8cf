package healthcheck

import (
	"encoding/json"
	"net/http"
)

// Status values of the "status" member of every response body.
const (
	statusOK        = "ok"
	statusUnhealthy = "unhealthy"
	statusError     = "error"
)

// report is the body of /healthcheck and /healthz. Checks maps each check
// name to "ok" or to the reason it failed.
type report struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// errorBody is the body of every error response (404, 405, 500).
type errorBody struct {
	Status  string `json:"status"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// writeJSON is the single place responses are written, so headers are the
// same on every path.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only reachable through a programming error in this package's types.
		code = http.StatusInternalServerError
		body = []byte(`{"status":"error","code":500,"message":"encode response"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

// writeError writes the JSON error body for an HTTP status code.
func writeError(w http.ResponseWriter, code int, message string) {
	writeJSON(w, code, errorBody{Status: statusError, Code: code, Message: message})
}
