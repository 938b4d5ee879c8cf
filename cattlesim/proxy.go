package cattlesim

import (
	"net/http"
	"strings"
)

// Service proxy (cattle-protocol.md §6.5 forwardPost): Cattle forwards /r/projects/<p>/<service>:<port><path>
// to a container of that service. The emulator has no containers to reach, so it echoes: it authenticates
// like the API, checks that a live service of that name exists in the project (404 otherwise; a
// "<stack>/<service>" designation also checks the stack), records the forwarded request in the call log
// (method, path, query, body and headers, credentials removed) and answers 200 with the same facts as JSON.

// serveProxy serves /r/.
func (s *Sim) serveProxy(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/r/"), "/")
	body, rerr := readBody(w, r)
	if rerr != nil {
		s.finish(w, r, r.Method, "", nil, fail(rerr))
		return
	}
	if fr, faulted := s.injectFault(r); faulted {
		s.finish(w, r, r.Method, "", body, fr)
		return
	}
	var ap apiPath
	if len(segs) >= 3 && segs[0] == "projects" {
		ap = apiPath{versioned: true, scoped: true, project: segs[1]}
	}

	req := &apiRequest{r: r, method: r.Method, path: ap, u: ap.urls(r), query: r.URL.Query(), body: body}
	out, status := func() ([]byte, int) {
		s.mu.Lock()
		defer s.mu.Unlock()
		resp := s.authorizeLocked(w, req)
		if resp.err == nil {
			resp = s.proxyLocked(req, segs)
		}
		out, status := s.encodeLocked(resp)
		s.appendCallLocked(Call{
			Time:      s.now().UTC(),
			Method:    r.Method,
			Path:      r.URL.Path,
			Query:     redactQuery(r.URL.RawQuery),
			Status:    status,
			ProjectID: req.accountID(),
			Body:      redactBody(body),
			Headers:   redactHeaders(r.Header),
		})
		return out, status
	}()
	writeBody(w, status, out)
}

// proxyLocked resolves the target service and builds the echo.
func (s *Sim) proxyLocked(req *apiRequest, segs []string) response {
	if !req.path.scoped {
		return fail(errNotFound())
	}
	rest := segs[2:]
	target := -1
	for i, seg := range rest {
		if strings.Contains(seg, ":") {
			target = i
			break
		}
	}
	if target < 0 || target > 1 {
		return fail(errNotFound())
	}
	designation, _, _ := strings.Cut(rest[target], ":")
	stackName := ""
	if target == 1 {
		stackName = rest[0]
	}
	if !s.serviceNamedLocked(req.account, stackName, designation) {
		return fail(errNotFound())
	}
	forwarded := "/" + strings.Join(rest[target+1:], "/")
	return answer(http.StatusOK, map[string]any{
		"method":  req.r.Method,
		"service": designation,
		"path":    forwarded,
		"query":   req.r.URL.RawQuery,
		"headers": redactHeaders(req.r.Header),
		"body":    string(req.body),
	})
}

// serviceNamedLocked reports whether a live service with that name (in that stack, when given) exists.
func (s *Sim) serviceNamedLocked(account int64, stackName, name string) bool {
	for _, o := range s.listLocked("service") {
		if o.Removed != nil || !visibleTo(o, account) || o.Str("name") != name {
			continue
		}
		if stackName == "" {
			return true
		}
		id, ok := ParseID(o.Str("stackId"))
		if st := s.getLocked("stack", id); ok && st != nil && st.Str("name") == stackName {
			return true
		}
	}
	return false
}
