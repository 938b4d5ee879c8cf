package cattle

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// DefaultTimeout bounds each request when Options.Timeout is zero (the same
// default as go-rancher's RANCHER_CLIENT_TIMEOUT).
const DefaultTimeout = 10 * time.Second

// DefaultMaxPages bounds how many pages one List follows when
// Options.MaxPages is zero: 1000 pages of Cattle's default 100 rows.
const DefaultMaxPages = 1000

// Options configures New. URL, AccessKey and SecretKey are required.
type Options struct {
	// URL is CATTLE_URL: the server root, optionally followed by /v1 or
	// /v2-beta and /projects/<id>; see New.
	URL string
	// AccessKey and SecretKey are the Basic-auth pair sent on every request.
	AccessKey string
	SecretKey string
	// ProjectID selects the environment. Empty means: take it from URL, else
	// discover it from the keys.
	ProjectID string
	// Timeout bounds each request, body read included. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxPages caps pagination.next hops per List. Zero means DefaultMaxPages.
	MaxPages int
	// HTTPClient performs the requests; nil means a new client on the default
	// transport. Its own Timeout should be zero; Options.Timeout applies.
	HTTPClient *http.Client
	// UserAgent is sent on every request; empty means "scale-subscriber".
	UserAgent string
	// GetRetries is how many times a GET (idempotent) that failed with a retryable error (5xx, 409, 429,
	// transport errors, timeouts) is retried before its error is returned; zero means DefaultGetRetries,
	// negative means none. Writes are never retried here: that policy belongs to the caller's work queue.
	GetRetries int
	// RetryBackoff is the wait before the first GET retry, doubled each time; zero means DefaultRetryBackoff.
	RetryBackoff time.Duration
}

// Client talks to one Cattle project through the v2-beta API. It is built by
// New after discovery and is immutable afterwards, so it is safe for
// concurrent use.
type Client struct {
	http      *http.Client
	accessKey string
	secretKey string
	userAgent string
	timeout   time.Duration
	maxPages  int

	getRetries   int
	retryBackoff time.Duration

	endpoint  endpoint
	projectID string
	schemas   map[string]Schema
}

// New validates opts, discovers the project and the schemas, and returns a
// ready client. Every call goes to <root>/v2-beta/projects/<id>/...
//
// The URL may end in nothing, /v1, /v2-beta (with or without a trailing
// slash) or carry a project (.../v1/projects/1a5, .../v2-beta/projects/1a5/schemas);
// it is normalised to the server root plus /v2-beta. Without a project id in
// opts or the URL, the project is taken from the X-API-Account-Id header when
// X-API-Account-Kind is "project" (environment and environment-agent keys),
// else from GET /v2-beta/projects when it lists exactly one project.
//
// Errors say plainly when the keys were rejected (errors.Is ErrUnauthorized)
// or Cattle could not be reached; they never contain the secret key.
func New(ctx context.Context, opts Options) (*Client, error) {
	if opts.AccessKey == "" || opts.SecretKey == "" {
		return nil, errors.New("new cattle client: access key and secret key are required")
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("new cattle client: negative timeout %s", opts.Timeout)
	}
	if opts.MaxPages < 0 {
		return nil, fmt.Errorf("new cattle client: negative max pages %d", opts.MaxPages)
	}
	ep, err := parseEndpoint(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("new cattle client: %w", err)
	}
	projectID := opts.ProjectID
	if ep.projectID != "" {
		if projectID != "" && projectID != ep.projectID {
			return nil, fmt.Errorf("new cattle client: project id %q conflicts with project %q in the cattle url", projectID, ep.projectID)
		}
		projectID = ep.projectID
	}

	c := &Client{
		http:      opts.HTTPClient,
		accessKey: opts.AccessKey,
		secretKey: opts.SecretKey,
		userAgent: opts.UserAgent,
		timeout:   opts.Timeout,
		maxPages:  opts.MaxPages,
		endpoint:  ep,

		getRetries:   opts.GetRetries,
		retryBackoff: opts.RetryBackoff,
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.userAgent == "" {
		c.userAgent = "scale-subscriber"
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxPages == 0 {
		c.maxPages = DefaultMaxPages
	}
	switch {
	case c.getRetries == 0:
		c.getRetries = DefaultGetRetries
	case c.getRetries < 0:
		c.getRetries = 0
	}
	if c.retryBackoff <= 0 {
		c.retryBackoff = DefaultRetryBackoff
	}
	if err := c.discover(ctx, projectID); err != nil {
		return nil, err
	}
	return c, nil
}

// ProjectID is the id of the project (environment) every call is scoped to.
func (c *Client) ProjectID() string { return c.projectID }

// ProjectURL is <root>/v2-beta/projects/<id>; it holds no credentials and is
// safe to log.
func (c *Client) ProjectURL() string { return c.endpoint.projectURL(c.projectID) }

// Timeout is the bound of each request (Options.Timeout, or DefaultTimeout): callers that must know how long
// a request they gave up on may still be worked on by Cattle (a host create that got no answer) read it here
// rather than keep a copy.
func (c *Client) Timeout() time.Duration { return c.timeout }

// BasicAuthHeader is the Authorization header value for the websocket dial.
// It contains the secret key: never log it.
func (c *Client) BasicAuthHeader() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.accessKey+":"+c.secretKey))
}
