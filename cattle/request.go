package cattle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxResponseBytes bounds a response body held in memory. A 3000-row page of
// services is a few MB; anything beyond this is not a Cattle answer.
const maxResponseBytes = 64 << 20

// errRequestTimeout is the cause attached to the per-request deadline, so a
// timeout of ours can be told apart from the caller's context ending.
var errRequestTimeout = errors.New("cattle request timeout")

// response is what do hands back to callers that need more than the body.
type response struct {
	status int
	header http.Header
	url    *url.URL
}

// do performs one authenticated request and decodes a 2xx JSON body into out
// (when out is non-nil and the body is not empty). in, when non-nil, is sent
// as JSON with Content-Type application/json. Non-2xx answers become
// *APIError. The body is always read to the end (bounded) and closed.
//
// Errors carry the method and the redacted URL only for transport failures;
// callers wrap every error with the name of their operation.
func (c *Client) do(ctx context.Context, method, target string, in, out any) (response, error) {
	reqCtx, cancel := context.WithTimeoutCause(ctx, c.timeout, errRequestTimeout)
	defer cancel()

	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return response{}, fmt.Errorf("encode request body: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(reqCtx, method, target, body)
	if err != nil {
		return response{}, fmt.Errorf("build %s request for %s: %w", method, redactRawURL(target), err)
	}
	req.SetBasicAuth(c.accessKey, c.secretKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, c.transportError(ctx, reqCtx, method, req.URL, err)
	}
	defer func() {
		// Drain what the bounded read left so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
		_ = resp.Body.Close()
	}()
	meta := response{status: resp.StatusCode, header: resp.Header, url: resp.Request.URL}

	payload, err := readBody(resp)
	if err != nil {
		return meta, c.transportError(ctx, reqCtx, method, req.URL, fmt.Errorf("read response body: %w", err))
	}
	if len(payload) > maxResponseBytes {
		return meta, fmt.Errorf("%s %s: response body exceeds %d bytes", method, redactURL(req.URL), maxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return meta, newAPIError(resp.StatusCode, payload)
	}
	if out != nil && len(bytes.TrimSpace(payload)) > 0 {
		if err := json.Unmarshal(payload, out); err != nil {
			return meta, fmt.Errorf("decode response of %s %s: %w", method, redactURL(req.URL), err)
		}
	}
	return meta, nil
}

// readBody reads a response body, at most maxResponseBytes+1 bytes of it. A body whose length the server
// announced is read into one buffer of that size: list pages are megabytes, and growing a buffer for them
// copies each page several times (a relist of 30,000 containers allocated twice the listing's size that way).
func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= maxResponseBytes {
		payload := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, payload); err != nil {
			return nil, err
		}
		return payload, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
}

// transportError classifies a failure that produced no usable response. If
// the caller's context ended, its error is what counts (context.Canceled is
// never retryable) and no *TransportError is made. If our per-request
// deadline fired, the error says so and wraps context.DeadlineExceeded.
// *url.Error is unwrapped because it would repeat the unredacted URL.
func (c *Client) transportError(parent, reqCtx context.Context, method string, u *url.URL, err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	if parentErr := parent.Err(); parentErr != nil {
		return fmt.Errorf("%s %s: %w", method, redactURL(u), parentErr)
	}
	if errors.Is(context.Cause(reqCtx), errRequestTimeout) {
		err = fmt.Errorf("no response within %s: %w", c.timeout, context.DeadlineExceeded)
	}
	return &TransportError{Method: method, URL: redactURL(u), Err: err}
}

// isSensitiveParam reports whether a query parameter's value must never
// appear in errors: genericObject lookups filter on the receiver's trigger
// key (key=..., key_ne=...), and tokens or secrets may show up in links.
func isSensitiveParam(name string) bool {
	lower := strings.ToLower(name)
	for _, s := range []string{"key", "token", "secret", "password"} {
		if strings.Contains(lower, s) {
			return true
		}
	}
	return false
}

// redactURL renders u without userinfo and with sensitive query values
// replaced, for use in error messages and logs.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	r := *u
	r.User = nil
	if r.RawQuery != "" {
		q := r.Query()
		for name, values := range q {
			if isSensitiveParam(name) {
				for i := range values {
					values[i] = "REDACTED"
				}
			}
		}
		r.RawQuery = q.Encode()
	}
	return r.String()
}

// redactRawURL is redactURL for a string that may not parse.
func redactRawURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable url>"
	}
	return redactURL(u)
}
