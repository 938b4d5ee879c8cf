package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Retry defaults: four attempts, waits of about 1s, 2s and 4s between them. A notification is a report, not
// the work itself, so a few quick retries are worth it and a long siege of a dead endpoint is not.
const (
	DefaultMaxAttempts  = 4
	DefaultRetryInitial = time.Second
	DefaultRetryMax     = 30 * time.Second
)

// permanentError marks a failure that another attempt cannot fix (4xx, refused credentials, untrusted
// certificate, bad template).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// permanent marks err as not worth retrying.
func permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// isPermanent reports whether err must not be retried: marked so, or a TLS certificate problem (it will not
// fix itself in the seconds our retries span).
func isPermanent(err error) bool {
	var pe *permanentError
	if errors.As(err, &pe) {
		return true
	}
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var cie x509.CertificateInvalidError
	return errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &hne) || errors.As(err, &cie)
}

// retryAfterError carries a server's Retry-After hint with a retryable failure.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// retryAfter parses a Retry-After header given in seconds (the HTTP-date form is rare on 429/503 and is
// ignored: the backoff applies).
func retryAfter(h http.Header) time.Duration {
	s, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || s <= 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

// retryableStatus reports whether an HTTP status is worth another attempt: throttling, timeouts and server
// errors are; every other non-2xx (a 404, a 401) says the request itself is wrong.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return code >= 500
}

// backoff computes the wait before retry n (1-based): initial·2^(n-1) stretched by up to half again of
// jitter, capped at max; a server's Retry-After hint wins when it is longer (still capped).
func backoff(initial, maxWait time.Duration, n int, err error, random func() float64) time.Duration {
	d := initial
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	d += time.Duration(random() * 0.5 * float64(d))
	var ra *retryAfterError
	if errors.As(err, &ra) && ra.after > d {
		d = ra.after
	}
	return min(d, maxWait)
}

// sleep waits d or until ctx ends; it reports whether the full wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// defaultRandom is the jitter source.
func defaultRandom() float64 { return rand.Float64() }
