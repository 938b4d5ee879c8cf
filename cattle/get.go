package cattle

import (
	"context"
	"net/http"
	"time"
)

// DefaultGetRetries is how often a retryable GET failure is retried when Options.GetRetries is zero.
const DefaultGetRetries = 3

// DefaultRetryBackoff is the first wait between GET retries when Options.RetryBackoff is zero.
const DefaultRetryBackoff = 100 * time.Millisecond

// get performs a GET, retrying retryable failures with jittered exponential backoff. Reads are idempotent, so
// retrying them here keeps a relist of hundreds of pages from failing on one flaky answer; writes go through do
// directly and their retries are the work queue's decision.
func (c *Client) get(ctx context.Context, target string, out any) (response, error) {
	var meta response
	err := RetryPolicy{Retries: c.getRetries, Initial: c.retryBackoff}.Do(ctx, func() error {
		var err error
		meta, err = c.do(ctx, http.MethodGet, target, nil, out)
		return err
	}, nil)
	return meta, err
}
