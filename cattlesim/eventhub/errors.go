package eventhub

import (
	"errors"
	"fmt"
	"time"
)

// ErrHubStopped is returned by Request once Run has returned.
var ErrHubStopped = errors.New("eventhub: hub stopped")

// ErrAlreadyRunning is returned by a second call to Run.
var ErrAlreadyRunning = errors.New("eventhub: run called more than once")

// Cattle error codes used by this package (protocol §2.6).
const (
	CodeMissingRequired    = "MissingRequired"
	CodeInvalidBodyContent = "InvalidBodyContent"
	CodeInvalidFormat      = "InvalidFormat"
	CodeInvalidCharacters  = "InvalidCharacters"
	CodeForbidden          = "Forbidden"
	CodeInternalError      = "Internal Server Error"
	CodeServiceUnavailable = "Service Unavailable"
)

// PublishError is a rejected POST /publish body. Status and Code are what
// Cattle answers (403 Forbidden, 422 MissingRequired/InvalidBodyContent/
// InvalidFormat); FieldName names the offending field when there is one.
type PublishError struct {
	Status    int
	Code      string
	Message   string
	FieldName string
}

// Error implements error.
func (e *PublishError) Error() string {
	return fmt.Sprintf("publish rejected: %d %s %s: %s", e.Status, e.Code, e.FieldName, e.Message)
}

// SubscribeError is a subscription refused before the websocket upgrade
// (invalid eventNames, a subscription without an account or Render function,
// or a stopped hub). ServeSubscription writes it as a Cattle error body.
type SubscribeError struct {
	Status    int
	Code      string
	Message   string
	FieldName string
}

// Error implements error.
func (e *SubscribeError) Error() string {
	return fmt.Sprintf("subscribe rejected: %d %s %s: %s", e.Status, e.Code, e.FieldName, e.Message)
}

// ReplyError is returned by Request when the handler answered with
// transitioning "error"; Reply is that answer.
type ReplyError struct {
	EventID   string
	EventName string
	Reply     Reply
}

// Error implements error.
func (e *ReplyError) Error() string {
	return fmt.Sprintf("event %s %s failed: %s", e.EventName, e.EventID, e.Reply.TransitioningMessage)
}

// TimeoutError is returned by Request when no final reply arrived within the
// timeout of the original send and of the one re-send.
type TimeoutError struct {
	EventID   string
	EventName string
	Attempts  int
	Timeout   time.Duration
}

// Error implements error.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("event %s %s: no reply after %d attempts of %s", e.EventName, e.EventID, e.Attempts, e.Timeout)
}
