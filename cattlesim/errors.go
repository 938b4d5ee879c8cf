package cattlesim

import (
	"fmt"
	"net/http"
)

// apiError is a Cattle error response (cattle-protocol.md §2.6). Handlers return it and the single error writer
// renders it as {"type":"error","status":...,"code":...,"message":...,"fieldName":...}.
type apiError struct {
	Status    int
	Code      string
	Message   string
	Detail    string
	FieldName string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("cattle %d %s: %s %s", e.Status, e.Code, e.FieldName, e.Message)
}

// statusError builds a plain status error whose code and message are the reason phrase, as Cattle's
// messages.properties does (404 "Not Found", 409 "Conflict", ...).
func statusError(status int) *apiError {
	phrase := http.StatusText(status)
	if status == http.StatusMethodNotAllowed {
		phrase = "Method not allowed"
	}
	return &apiError{Status: status, Code: phrase, Message: phrase}
}

// validationError is a 422 with a validation code and the field it concerns.
func validationError(code, field string) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: code, FieldName: field}
}

func errNotFound() *apiError { return statusError(http.StatusNotFound) }

func errConflict() *apiError { return statusError(http.StatusConflict) }

func errActionNotAvailable() *apiError { return validationError("ActionNotAvailable", "action") }

func errInvalidAction() *apiError { return validationError("InvalidAction", "action") }
