package events

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrUnauthorized matches (errors.Is) a subscription refused with HTTP 401
// or 403: the credentials are wrong or lack access to the project.
var ErrUnauthorized = errors.New("subscription unauthorized")

// ErrPongTimeout is the cause of a connection closed because the server did
// not answer websocket pings within PongWait.
var ErrPongTimeout = errors.New("no websocket pong within pong wait")

// ErrDeferred is returned by a Handler that has taken over replying to a
// request event (typically by handing it to a Pending and queueing its key).
// The Router then publishes no reply and logs nothing.
var ErrDeferred = errors.New("reply deferred")

// ErrQueueShutDown is returned when work is offered to a queue that is
// shutting down.
var ErrQueueShutDown = errors.New("work queue is shutting down")

// ErrPendingFull is returned by Pending.Add when too many request events
// already wait for a reply.
var ErrPendingFull = errors.New("too many request events waiting for a reply")

// HandshakeError is returned when the websocket upgrade is answered with an
// HTTP status instead of 101.
type HandshakeError struct {
	StatusCode int
	// Body is the start of the response body, for diagnosis.
	Body string
}

// Error implements error.
func (e *HandshakeError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("websocket handshake refused: %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	return fmt.Sprintf("websocket handshake refused: %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Body)
}

// Is makes errors.Is(err, ErrUnauthorized) true for 401 and 403.
func (e *HandshakeError) Is(target error) bool {
	return target == ErrUnauthorized &&
		(e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden)
}

// PanicError is a panic recovered from a handler or processor.
type PanicError struct {
	Value any
	Stack []byte
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// permanentError marks an error that retrying will not fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as not retryable for the default Retryable
// classification of Workers. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err (or an error it wraps) was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
