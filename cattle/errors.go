package cattle

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrNotFound is matched (via errors.Is) by any *APIError with status 404.
var ErrNotFound = errors.New("not found")

// ErrUnauthorized is matched (via errors.Is) by any *APIError with status 401,
// i.e. Cattle rejected the access key / secret key pair.
var ErrUnauthorized = errors.New("unauthorized")

// ErrUnknownSchema reports that the discovered API has no schema with the
// requested id (e.g. an environment key asking for "publish").
var ErrUnknownSchema = errors.New("unknown schema")

// ErrTooManyPages reports that a list followed pagination.next more times than
// Options.MaxPages allows, or that the server sent a pagination loop.
var ErrTooManyPages = errors.New("too many pages")

// maxErrorBodySnippet bounds how much of a non-JSON error body ends up in an
// error message: enough to recognise a proxy page, not enough to flood logs.
const maxErrorBodySnippet = 200

// APIError is a non-2xx answer from Cattle. Status is always the HTTP status;
// the other fields come from Cattle's error JSON
// ({"type":"error","status":422,"code":"ActionNotAvailable","fieldName":"action"})
// and are best effort: a non-JSON body yields Code = the HTTP reason phrase
// and Message = the start of the body.
type APIError struct {
	Status    int
	Code      string
	Message   string
	Detail    string
	FieldName string
}

// Error renders status, code, message, detail and field without repeating a
// message that merely echoes the code (Cattle does that for plain statuses).
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("cattle api status ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" && e.Message != e.Code {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Detail != "" && e.Detail != e.Message {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.FieldName != "" {
		b.WriteString(" (field ")
		b.WriteString(e.FieldName)
		b.WriteString(")")
	}
	return b.String()
}

// Is lets errors.Is match ErrNotFound (404) and ErrUnauthorized (401).
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	}
	return false
}

// Retryable says whether repeating the same request later may succeed:
// conflicts (409, Cattle's answer to racing state transitions), throttling
// (429) and server errors (5xx) are; every other status is permanent.
func (e *APIError) Retryable() bool {
	return e.Status == http.StatusConflict ||
		e.Status == http.StatusTooManyRequests ||
		e.Status >= 500
}

// newAPIError builds an *APIError from a response status and body. Cattle's
// error members are usually strings or null, but the decoder accepts any JSON
// value there (stringified) so a surprising body never hides the status.
func newAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err == nil && fields != nil {
		e.Code = rawToString(fields["code"])
		e.Message = rawToString(fields["message"])
		e.Detail = rawToString(fields["detail"])
		e.FieldName = rawToString(fields["fieldName"])
	} else {
		e.Message = bodySnippet(body)
	}
	if e.Code == "" {
		e.Code = http.StatusText(status)
	}
	return e
}

// bodySnippet returns the trimmed start of a non-JSON body, cut on a rune
// boundary and with control characters folded to spaces.
func bodySnippet(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > maxErrorBodySnippet {
		s = s[:maxErrorBodySnippet]
		for !utf8.ValidString(s) && len(s) > 0 {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// ActionNotAvailableError is returned, without contacting Cattle, when an
// action is absent from the resource's current "actions" map; Cattle offers
// an action only in the states where it may start (e.g. no "upgrade" while a
// service is "upgraded").
type ActionNotAvailableError struct {
	Action       string
	ResourceType string
	ResourceID   string
	State        string
}

// Error names the action, the resource and the state that excludes it.
func (e *ActionNotAvailableError) Error() string {
	return fmt.Sprintf("action %q is not available on %s %s in state %q",
		e.Action, e.ResourceType, e.ResourceID, e.State)
}

// MethodNotAllowedError is returned, without contacting Cattle, when the
// schema does not list the HTTP method among its collectionMethods (Target
// "collection") or resourceMethods (Target "resource").
type MethodNotAllowedError struct {
	SchemaID string
	Method   string
	Target   string
}

// Error names the schema, the method and whether it was the collection or a
// resource.
func (e *MethodNotAllowedError) Error() string {
	return fmt.Sprintf("schema %s does not allow %s on the %s", e.SchemaID, e.Method, e.Target)
}

// TransportError is a request that got no usable HTTP response: the
// connection failed or broke, or the per-request timeout fired. URL is
// redacted. Use IsRetryable to classify it.
type TransportError struct {
	Method string
	URL    string
	Err    error
}

// Error is "<method> <redacted url>: <cause>".
func (e *TransportError) Error() string { return e.Method + " " + e.URL + ": " + e.Err.Error() }

// Unwrap exposes the cause (syscall errors, net.Error, context.DeadlineExceeded).
func (e *TransportError) Unwrap() error { return e.Err }
