package cattle

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
)

// IsRetryable reports whether err is worth retrying later. It says yes for
// retryable API statuses (see APIError.Retryable) and for transport failures:
// connection refused/reset/aborted, unreachable networks, timeouts including
// the client's own per-request deadline, and connections cut mid-response.
// It says no for nil, for a cancelled context (the caller gave up), for the
// client-side refusals (*ActionNotAvailableError, *MethodNotAllowedError,
// ErrUnknownSchema) and for anything it does not recognise.
//
// It works on any error chain, so callers may also classify errors from other
// transports (e.g. the websocket dial) with it.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Retryable()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		// A name that does not resolve is configuration, not weather.
		return dnsErr.IsTimeout || dnsErr.IsTemporary
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	for _, transient := range []error{
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
		syscall.EPIPE, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ETIMEDOUT,
		io.ErrUnexpectedEOF, io.EOF,
	} {
		if errors.Is(err, transient) {
			return true
		}
	}
	var opErr *net.OpError
	return errors.As(err, &opErr)
}
