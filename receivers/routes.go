package receivers

import (
	"net/http"
	"sort"
	"strings"
)

// handlerFunc is a route: it writes its own success answer and returns an error for anything else, which the
// router writes in the original's error format.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// methods maps HTTP methods to the handlers of one path.
type methods map[string]handlerFunc

// route dispatches by path and method. Every route also accepts one trailing slash, as the original's did.
func (a *API) route(w http.ResponseWriter, r *http.Request) {
	parts, ok := splitPath(r.URL.Path)
	if !ok {
		writeError(w, r, a.log, fail(http.StatusNotFound, "Not found"))
		return
	}
	var m methods
	switch {
	case len(parts) == 0:
		m = methods{http.MethodGet: a.serveVersion}
	case parts[0] == "schemas" && len(parts) == 1:
		m = methods{http.MethodGet: a.serveSchemas}
	case parts[0] == "schemas" && len(parts) == 2:
		m = methods{http.MethodGet: func(w http.ResponseWriter, r *http.Request) error { return a.serveSchema(w, r, parts[1]) }}
	case parts[0] == "receivers" && len(parts) == 1:
		m = methods{http.MethodGet: a.listReceivers, http.MethodPost: a.createReceiver}
	case parts[0] == "receivers" && len(parts) == 2:
		id := parts[1]
		m = methods{
			http.MethodGet:    func(w http.ResponseWriter, r *http.Request) error { return a.getReceiver(w, r, id) },
			http.MethodPut:    func(w http.ResponseWriter, r *http.Request) error { return a.updateReceiver(w, r, id) },
			http.MethodDelete: func(w http.ResponseWriter, r *http.Request) error { return a.deleteReceiver(w, r, id) },
		}
	case parts[0] == "endpoint" && len(parts) == 1:
		m = methods{http.MethodPost: a.trigger}
	case parts[0] == "executions" && a.executions != nil:
		a.serveExecutions(w, r)
		return
	case parts[0] == "ui" && a.ui != nil:
		a.serveUI(w, r)
		return
	default:
		writeError(w, r, a.log, fail(http.StatusNotFound, "Not found"))
		return
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	h, ok := m[method]
	if !ok {
		allowed := make([]string, 0, len(m))
		for k := range m {
			allowed = append(allowed, k)
		}
		sort.Strings(allowed)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, r, a.log, fail(http.StatusMethodNotAllowed, "Method %s not allowed on %s", r.Method, r.URL.Path))
		return
	}
	if err := h(w, r); err != nil {
		writeError(w, r, a.log, err)
	}
}

// splitPath returns the segments after /v1-webhooks, dropping one trailing slash; ok is false outside
// /v1-webhooks or for empty segments ("receivers//x").
func splitPath(path string) ([]string, bool) {
	if path != apiPrefix && !strings.HasPrefix(path, apiPrefix+"/") {
		return nil, false
	}
	rest := strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(path, apiPrefix), "/"), "/")
	if rest == "" {
		return nil, true
	}
	parts := strings.Split(rest, "/")
	for _, p := range parts {
		if p == "" {
			return nil, false
		}
	}
	return parts, true
}

// serveExecutions checks the project (as for every management route) and hands over to Options.Executions.
func (a *API) serveExecutions(w http.ResponseWriter, r *http.Request) {
	if _, err := a.identify(r); err != nil {
		writeError(w, r, a.log, err)
		return
	}
	a.executions.ServeHTTP(w, r)
}

// serveUI hands the web page's requests to Options.UI with /v1-webhooks/ui stripped. The bare /v1-webhooks/ui
// is redirected to /v1-webhooks/ui/ (relatively, so a proxy's prefix stays), where the page's relative URLs
// resolve.
func (a *API) serveUI(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == apiPrefix+"/ui" {
		target := "ui/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", target)
		w.WriteHeader(http.StatusFound)
		return
	}
	http.StripPrefix(apiPrefix+"/ui", a.ui).ServeHTTP(w, r)
}
