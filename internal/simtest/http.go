package simtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Answer is an HTTP answer read to the end.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

func (a Answer) String() string { return fmt.Sprintf("%d %s", a.Status, bytes.TrimSpace(a.Body)) }

// NewClient returns an HTTP client with a whole-request timeout and idle connections for idlePerHost concurrent
// senders (so no request pays a new connection), closed when the test ends.
func NewClient(tb testing.TB, timeout time.Duration, idlePerHost int) *http.Client {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{
		MaxIdleConns:        2 * idlePerHost,
		MaxIdleConnsPerHost: idlePerHost,
	}}
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

// Send makes one request with c and reads the whole answer, so the connection is reused. It never fails a
// test, so load goroutines can use it; trigger keys in url are redacted from its errors.
func Send(ctx context.Context, c *http.Client, method, url string, header http.Header, body []byte) (Answer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return Answer{}, fmt.Errorf("build %s %s request: %w", method, RedactURL(url), redactErr(err))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		return Answer{}, fmt.Errorf("%s %s: %w", method, RedactURL(url), redactErr(err))
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return Answer{}, fmt.Errorf("read answer to %s %s: %w", method, RedactURL(url), redactErr(err))
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: raw}, nil
}

// redactErr hides a trigger key in the URL a *url.Error quotes.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = RedactURL(ue.URL)
	}
	return err
}

// RedactURL hides the trigger key of a URL (key=...) for failure messages and logs.
func RedactURL(u string) string {
	i := strings.Index(u, "key=")
	if i < 0 {
		return u
	}
	j := strings.IndexByte(u[i:], '&')
	if j < 0 {
		return u[:i] + "key=REDACTED"
	}
	return u[:i] + "key=REDACTED" + u[i+j:]
}

// StatusError is an answer with a status the caller did not accept.
type StatusError struct {
	Method, URL string
	Answer      Answer
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Method, RedactURL(e.URL), e.Answer)
}

// IsStatus reports whether err is a *StatusError with status code.
func IsStatus(err error, code int) bool {
	var s *StatusError
	return errors.As(err, &s) && s.Answer.Status == code
}
