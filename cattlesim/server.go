package cattlesim

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rancher/scale-subscriber/httpserve"
)

// HTTP surface of the emulator: routing, middleware and the one response writer. Request flow for the REST API
// (cattle-protocol.md §2): parse the path → read the body (capped) → fault injection → [s.mu] authenticate,
// resolve the project, dispatch, render, marshal, log the call [/s.mu] → write. Websocket upgrades
// (subscribe.go) leave the lock before serving, and the control surface (/_sim/, control.go) skips faults and
// the call log.

// maxBodyBytes caps every request body (http.MaxBytesReader); larger bodies get 413.
const maxBodyBytes = 4 << 20

// Handler returns the emulator's HTTP handler: the v2-beta API, the subscribe websocket, the publish endpoint,
// the service proxy (/r/) and the control surface (/_sim/). The caller runs the http.Server (with its own
// timeouts) and Run for the event hub.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/_sim/", s.serveControl)
	mux.HandleFunc("/r/", s.serveProxy)
	mux.HandleFunc("/", s.serveAPI)
	return s.recoverPanics(mux)
}

// apiPath is a parsed request path.
type apiPath struct {
	// root is "/" (the apiVersion collection).
	root bool
	// versioned is true under /v2-beta; anything else is 404 (there is no /v1 here).
	versioned bool
	// scoped is true for /v2-beta/projects/<p>/..., whose URLs are generated project-scoped.
	scoped bool
	// project is the raw <p> of a scoped path.
	project string
	// rest are the non-empty segments after the version and the project scope, e.g. [services 1s5 instances].
	rest []string
}

func parseAPIPath(p string) apiPath {
	var segs []string
	for _, seg := range strings.Split(p, "/") {
		if seg != "" {
			segs = append(segs, seg)
		}
	}
	if len(segs) == 0 {
		return apiPath{root: true}
	}
	if segs[0] != apiVersion {
		return apiPath{}
	}
	ap := apiPath{versioned: true, rest: segs[1:]}
	if len(ap.rest) >= 2 && strings.EqualFold(ap.rest[0], "projects") {
		ap.scoped, ap.project = true, ap.rest[1]
		ap.rest = ap.rest[2:]
	}
	return ap
}

// first returns the lower-cased first segment after the version, or "".
func (p apiPath) first() string {
	if len(p.rest) == 0 {
		return ""
	}
	return strings.ToLower(p.rest[0])
}

// urls returns the URL builder of a request with this path.
func (p apiPath) urls(r *http.Request) urlBuilder {
	u := urlBuilder{base: requestBase(r)}
	if p.scoped {
		u.scope = "/projects/" + p.project
	}
	return u
}

// requestBase is scheme://host of the request as the client addressed it (X-Forwarded-Proto honoured, like
// Cattle behind a TLS-terminating balancer).
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

// apiRequest is one authenticated REST request being dispatched under s.mu.
type apiRequest struct {
	r      *http.Request
	method string
	path   apiPath
	u      urlBuilder
	query  url.Values
	body   []byte
	cred   Credential
	// account is the effective project's numeric id; 0 means "every project" (admin/service key, no project).
	account int64
}

// accountID returns the API id of the effective project, or "" when none.
func (q *apiRequest) accountID() string {
	if q.account == 0 {
		return ""
	}
	return FormatID("account", q.account)
}

// response is what a dispatcher produced: a status and a value to marshal, or an error.
type response struct {
	status  int
	payload any
	err     *apiError
}

func answer(status int, payload any) response { return response{status: status, payload: payload} }

func fail(err *apiError) response { return response{err: err} }

// serveAPI serves everything that is neither /_sim/ nor /r/.
func (s *Sim) serveAPI(w http.ResponseWriter, r *http.Request) {
	ap := parseAPIPath(r.URL.Path)
	u := ap.urls(r)
	w.Header().Set("X-API-Schemas", u.schemas())

	query := r.URL.Query()
	method := r.Method
	if m := query.Get("_method"); m != "" {
		method = strings.ToUpper(m)
	}
	if ap.first() == "subscribe" && method == http.MethodGet {
		s.serveSubscribe(w, r, ap, u)
		return
	}

	body, rerr := readBody(w, r)
	if rerr != nil {
		s.finish(w, r, method, "", nil, fail(rerr))
		return
	}
	if fr, faulted := s.injectFault(r); faulted {
		s.finish(w, r, method, "", body, fr)
		return
	}

	req := &apiRequest{r: r, method: method, path: ap, u: u, query: query, body: body}
	out, status := s.serveLocked(w, req, s.dispatchLocked)
	writeBody(w, status, out)
}

// serveLocked authorizes and dispatches a request under s.mu and logs the call. The deferred unlock keeps the
// emulator usable when a handler panics (recoverPanics then answers 500).
func (s *Sim) serveLocked(w http.ResponseWriter, req *apiRequest, dispatch func(*apiRequest) response) ([]byte, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := s.authorizeLocked(w, req)
	if resp.err == nil {
		resp = dispatch(req)
	}
	out, status := s.encodeLocked(resp)
	s.recordCallLocked(req.r, req.method, status, req.accountID(), req.body)
	return out, status
}

// authorizeLocked authenticates the request and resolves its project, setting the X-API-Account headers.
func (s *Sim) authorizeLocked(w http.ResponseWriter, req *apiRequest) response {
	cred, aerr := s.authenticateLocked(req.r)
	if aerr != nil {
		return fail(aerr)
	}
	req.cred = cred
	account, aerr := s.resolveProjectLocked(cred, req.path, req.r)
	if aerr != nil {
		return fail(aerr)
	}
	req.account = account
	setAccountHeaders(w, cred, account)
	return response{}
}

// dispatchLocked routes an authenticated request.
func (s *Sim) dispatchLocked(req *apiRequest) response {
	ap := req.path
	switch {
	case ap.root:
		if req.method != http.MethodGet {
			return fail(statusError(http.StatusMethodNotAllowed))
		}
		return answer(http.StatusOK, s.apiVersionsLocked(req))
	case !ap.versioned:
		return fail(errNotFound())
	case len(ap.rest) == 0 && !ap.scoped:
		if req.method != http.MethodGet {
			return fail(statusError(http.StatusMethodNotAllowed))
		}
		return answer(http.StatusOK, s.apiVersionLocked(req))
	case len(ap.rest) == 0:
		return s.projectRootLocked(req)
	}
	switch ap.first() {
	case "schemas", "schema":
		return s.schemasLocked(req)
	case "subscribe":
		// A GET was served as a websocket before locking; anything else cannot subscribe here.
		return fail(&apiError{Status: http.StatusMethodNotAllowed, Code: "Method not allowed",
			Message: "subscribe is a websocket: use GET with an Upgrade header"})
	case "publish":
		return s.publishLocked(req)
	case "apiversions", "apiversion":
		if req.method != http.MethodGet {
			return fail(statusError(http.StatusMethodNotAllowed))
		}
		return answer(http.StatusOK, s.apiVersionsLocked(req))
	}
	sc := s.collectionSchema(ap.rest[0])
	if sc == nil {
		return fail(errNotFound())
	}
	switch len(ap.rest) {
	case 1:
		return s.collectionLocked(req, sc)
	case 2:
		return s.resourceLocked(req, sc, ap.rest[1])
	case 3:
		return s.linkLocked(req, sc, ap.rest[1], ap.rest[2])
	default:
		return fail(errNotFound())
	}
}

// encodeLocked marshals a response (or its error) the REST way and returns the body and status.
func (s *Sim) encodeLocked(resp response) ([]byte, int) {
	if resp.err == nil {
		b, err := marshalREST(resp.payload)
		if err == nil {
			return b, resp.status
		}
		s.log.WithField("err", err).Error("marshal response")
		resp.err = statusError(http.StatusInternalServerError)
	}
	b, err := marshalREST(s.errorPayloadLocked(resp.err))
	if err != nil { // cannot happen: the payload is strings and ints
		return []byte(`{"type":"error","status":500}`), http.StatusInternalServerError
	}
	return b, resp.err.Status
}

// errorPayloadLocked is Cattle's error resource (§2.6): message, detail and fieldName are null when empty.
func (s *Sim) errorPayloadLocked(e *apiError) map[string]any {
	return map[string]any{
		"id":        s.uuidLocked(),
		"type":      "error",
		"baseType":  "error",
		"links":     map[string]string{},
		"actions":   map[string]string{},
		"status":    e.Status,
		"code":      e.Code,
		"message":   nullIfEmpty(e.Message),
		"detail":    nullIfEmpty(e.Detail),
		"fieldName": nullIfEmpty(e.FieldName),
	}
}

// finish answers a request that never reached dispatch (body or fault errors) and logs it.
func (s *Sim) finish(w http.ResponseWriter, r *http.Request, method, projectID string, body []byte, resp response) {
	out, status := func() ([]byte, int) {
		s.mu.Lock()
		defer s.mu.Unlock()
		out, status := s.encodeLocked(resp)
		s.recordCallLocked(r, method, status, projectID, body)
		return out, status
	}()
	writeBody(w, status, out)
}

// writeBody is the one place REST and control answers are written. 401s carry Cattle's Basic challenge.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="Enter API access key and secret key as username and password"`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// readBody reads the whole (capped) request body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, statusError(http.StatusRequestEntityTooLarge)
		}
		return nil, &apiError{Status: http.StatusBadRequest, Code: "Bad Request", Message: "cannot read request body"}
	}
	return b, nil
}

// injectFault applies the configured faults to a REST request before anything else happens: latency first,
// then, with probability ErrorRate, the ErrorStatus answer (so no write is ever half-applied).
func (s *Sim) injectFault(r *http.Request) (response, bool) {
	s.mu.Lock()
	f := s.faults
	hit := f.ErrorRate > 0 && s.rng.Float64() < f.ErrorRate
	s.mu.Unlock()
	if f.LatencyMs > 0 {
		t := time.NewTimer(time.Duration(f.LatencyMs) * time.Millisecond)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if !hit {
		return response{}, false
	}
	status := f.ErrorStatus
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	return fail(statusError(status)), true
}

// recoverPanics turns a handler panic into a logged error and Cattle's 500 error answer (when nothing was
// written yet; otherwise the connection is aborted), so one bad request never takes the emulator down.
func (s *Sim) recoverPanics(next http.Handler) http.Handler {
	return httpserve.Recover(s.log, "cattlesim", func(w http.ResponseWriter, _ *http.Request, code int, _ string) {
		s.mu.Lock()
		b, status := s.encodeLocked(fail(statusError(code)))
		s.mu.Unlock()
		writeBody(w, status, b)
	})(next)
}
