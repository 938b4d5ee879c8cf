package scale

import "fmt"

// Error is a request the driver refuses, with the message webhook-service gave for it (or one in its style for
// checks the original lacked). The API layer answers such errors with 400 and the message, as the original did.
type Error struct {
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

func errorf(format string, args ...any) error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}
