package cache

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/cattle"
)

// DefaultRequestRetries is InformerOptions.RequestRetries when it is zero.
const DefaultRequestRetries = 5

// DefaultRequestRetryInitial is InformerOptions.RequestRetryInitial when it is zero.
const DefaultRequestRetryInitial = 100 * time.Millisecond

// retryRequest runs one request of a relist (a page of a list, or a re-read by id), retrying it in place while
// it fails with a retryable error (cattle.IsRetryable: 5xx, 409, 429, transport failures and timeouts), at most
// RequestRetries times, waiting RequestRetryInitial doubled per retry (capped at RetryMax) with jitter. Its
// last error is returned, and the relist is then given up to relistWithRetry's backoff.
//
// Why here and not only in the Cattle client: the client already retries every GET a few times within about a
// second (cattle.Options.GetRetries), which rides out a flaky answer for every caller. But when a request still
// fails, the relist used to start over, and a relist of N pages needs N successes in one attempt: under a
// sustained error rate that is exponentially unlikely and each attempt waits a longer backoff. Only the informer
// knows that the pages it has read stay valid (pages are by id, and whatever changes after a row was read
// raises an event that the refresh re-reads, however long the relist takes), so only it can resume at the
// failed page. Errors that are not retryable (a rejected key, a bad filter, a decode failure) would fail the
// same way again and go straight to the relist backoff.
func (i *Informer) retryRequest(ctx context.Context, what string, call func() error) error {
	policy := cattle.RetryPolicy{Retries: i.opts.RequestRetries, Initial: i.opts.RequestRetryInitial,
		Max: i.opts.RetryMax}
	return policy.Do(ctx, call, func(retry int, wait time.Duration, err error) {
		i.retries.Add(1)
		i.log.WithError(err).WithFields(logrus.Fields{"request": what, "retry": retry, "wait": wait.String()}).
			Debug("relist request failed, retrying it")
	})
}
