package receivers

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/rancher/scale-subscriber/httpserve"
)

// limitBody caps every request body at Options.MaxBodyBytes; readBody turns the overflow into a 413.
func (a *API) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, a.maxBody)
		next.ServeHTTP(w, r)
	})
}

// readBody reads the whole (capped) body before anything is done with it, so an oversize request changes
// nothing.
func (a *API) readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fail(http.StatusRequestEntityTooLarge, "Request body too large: the limit is %d bytes", tooBig.Limit)
		}
		return nil, fail(http.StatusBadRequest, "Error reading request body: %v", err)
	}
	return body, nil
}

// requireJSON checks the Content-Type of a management write. The original compared the header with
// "application/json" exactly; we accept the same media type with parameters too ("application/json;
// charset=utf-8"), which an old client never sent differently, and keep the original's message otherwise.
func requireJSON(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(mt, "application/json") {
		return fail(http.StatusBadRequest, "Content-Type must be supplied as header. Only application/json is supported")
	}
	return nil
}

// recoverPanics turns a panic in a route (or in the Executor) into a logged error and a JSON 500 in
// webhook-service's error shape, keeping the server up. If the answer had already started, the connection is
// aborted instead (httpserve.Recover). The log carries the path only, never the query: it holds trigger keys.
func (a *API) recoverPanics(next http.Handler) http.Handler {
	return httpserve.Recover(a.log, "receivers", func(w http.ResponseWriter, r *http.Request, code int, message string) {
		writeError(w, r, a.log, fail(code, "%s", message))
	})(next)
}
