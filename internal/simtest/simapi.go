package simtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/rancher/scale-subscriber/cattlesim"
)

// BasicAuth is the Authorization header value of a Cattle API key.
func BasicAuth(c cattlesim.Credential) string {
	r := http.Request{Header: http.Header{}}
	r.SetBasicAuth(c.AccessKey, c.SecretKey)
	return r.Header.Get("Authorization")
}

// Do sends a JSON request to cattlesim's path ("/v2-beta/projects/1a5/services", "/_sim/faults") with 1a5's
// environment key, and decodes a 2xx answer into out (when not nil). body is JSON-encoded when not nil. Any
// other status is a *StatusError.
func (s *Sim) Do(ctx context.Context, method, path string, body, out any) error {
	return s.DoAs(ctx, s.Cred(), method, path, body, out)
}

// DoAs is Do with the key cred.
func (s *Sim) DoAs(ctx context.Context, cred cattlesim.Credential, method, path string, body, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return fmt.Errorf("encode body of cattlesim %s %s: %w", method, path, err)
		}
	}
	h := http.Header{"Content-Type": {"application/json"}, "Authorization": {BasicAuth(cred)}}
	a, err := Send(ctx, s.Client, method, s.URL+path, h, raw)
	if err != nil {
		return err
	}
	if a.Status < 200 || a.Status > 299 {
		return &StatusError{Method: method, URL: s.URL + path, Answer: a}
	}
	if out != nil {
		if err := json.Unmarshal(a.Body, out); err != nil {
			return fmt.Errorf("decode cattlesim %s %s: %w: %s", method, path, err, a.Body)
		}
	}
	return nil
}
