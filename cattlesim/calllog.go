package cattlesim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// The call log records every REST request (API, subscribe upgrades, publishes, service proxy calls; not the
// control surface) so tests can assert what a client did. It keeps the last maxCalls entries; indexes are
// stable across eviction and clearing (index = position since the emulator started). Secrets never enter
// it: Basic credentials are not recorded, and values of secret-looking keys (key, token, password, secret*,
// accessKey, apiKey, ...) are replaced by "REDACTED" in query strings and JSON bodies. Bodies are truncated
// to maxLoggedBody bytes.

const (
	maxLoggedBody = 4 << 10
	redacted      = "REDACTED"
)

// secretKey reports whether a parameter or JSON key carries a secret (a webhook trigger key, a driver
// credential, a token).
func secretKey(k string) bool {
	k = strings.ToLower(k)
	switch k {
	case "key", "accesskey", "apikey", "authkey", "sshkey", "accesstoken", "sessiontoken", "token", "password",
		"clientsecret", "privatekey", "secretvalues":
		return true
	}
	return strings.Contains(k, "secret") || strings.Contains(k, "password")
}

// redactQuery re-encodes a raw query with secret values replaced; unparsable queries are dropped whole.
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return redacted
	}
	for k, vs := range q {
		if secretKey(k) {
			for i := range vs {
				vs[i] = redacted
			}
		}
	}
	return q.Encode()
}

// redactBody returns a loggable form of a request body: JSON with secret values replaced, truncated. A body
// that is not JSON is logged only when it contains nothing that looks like a secret key name.
func redactBody(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	var v any
	var out string
	if err := json.Unmarshal(body, &v); err == nil {
		b, err := marshalPlain(redactJSON(v))
		if err != nil {
			return redacted
		}
		out = string(b)
	} else {
		out = string(body)
		lower := strings.ToLower(out)
		for _, s := range []string{"key", "secret", "token", "password"} {
			if strings.Contains(lower, s) {
				return redacted
			}
		}
	}
	return truncateUTF8(out, maxLoggedBody)
}

// redactJSON replaces the values of secret keys anywhere in a decoded JSON value.
func redactJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if secretKey(k) && val != nil {
				x[k] = redacted
				continue
			}
			x[k] = redactJSON(val)
		}
		return x
	case []any:
		for i, val := range x {
			x[i] = redactJSON(val)
		}
		return x
	}
	return v
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// redactHeaders copies request headers for the log, without credentials.
func redactHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, vs := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Cookie", "Proxy-Authorization":
			continue
		}
		if secretKey(k) {
			out[k] = redacted
			continue
		}
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

// recordCallLocked appends one call to the bounded log.
func (s *Sim) recordCallLocked(r *http.Request, method string, status int, projectID string, body []byte) {
	s.appendCallLocked(Call{
		Time:      s.now().UTC(),
		Method:    method,
		Path:      r.URL.Path,
		Query:     redactQuery(r.URL.RawQuery),
		Status:    status,
		ProjectID: projectID,
		Body:      redactBody(body),
	})
}

func (s *Sim) appendCallLocked(c Call) {
	if len(s.calls) >= maxCalls {
		// Evict a tenth at once so a full log costs one copy per maxCalls/10 requests, not one per request.
		drop := len(s.calls) - maxCalls + max(maxCalls/10, 1)
		s.calls = append(s.calls[:0:0], s.calls[drop:]...)
		s.callsDropped += drop
	}
	s.calls = append(s.calls, c)
}

// Calls returns every logged REST call, oldest first.
func (s *Sim) Calls() []Call {
	calls, _ := s.CallsSince(0)
	return calls
}

// CallsSince returns the calls with index >= since (indexes count every call since New, cleared or evicted
// ones included) and the index the next call will get, for incremental polling.
func (s *Sim) CallsSince(since int) ([]Call, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.callsDropped + len(s.calls)
	start := max(since-s.callsDropped, 0)
	if start >= len(s.calls) {
		return []Call{}, next
	}
	out := make([]Call, len(s.calls)-start)
	copy(out, s.calls[start:])
	return out, next
}

// ClearCalls empties the call log (indexes keep counting).
func (s *Sim) ClearCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callsDropped += len(s.calls)
	s.calls = nil
}
