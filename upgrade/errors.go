package upgrade

import "fmt"

// Error is a configuration or payload the driver refuses, with webhook-service's message where it had one. The
// API layer answers it with 400 and the message. Err, when set, is the underlying cause (a JSON syntax error).
type Error struct {
	Message string
	Err     error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func errorf(format string, args ...any) error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}
