package receivers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sirupsen/logrus"
)

// apiError is an answer other than success: the HTTP status and the message the client reads. cause, when set,
// is logged (never sent) and must not contain keys.
type apiError struct {
	status int
	msg    string
	cause  error
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return strconv.Itoa(e.status) + " " + e.msg + ": " + e.cause.Error()
	}
	return strconv.Itoa(e.status) + " " + e.msg
}

func (e *apiError) Unwrap() error { return e.cause }

// fail builds an apiError with a formatted message.
func fail(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// failCause builds an apiError whose message ends with the cause, as the original's messages did
// ("Failed to create webhook: ..."). Errors of the cattle client carry no credentials or keys.
func failCause(status int, cause error, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...) + ": " + cause.Error(), cause: cause}
}

// errorBody is webhook-service's error resource (model.ServerAPIError): the code is in statusCode and status
// is always the literal "Server Error".
type errorBody struct {
	Type       string            `json:"type"`
	Links      map[string]string `json:"links"`
	Actions    map[string]string `json:"actions"`
	StatusCode int               `json:"statusCode"`
	Status     string            `json:"status"`
	Message    string            `json:"message"`
}

// writeError answers err: an *apiError as itself, anything else as a 500 whose details go to the log only.
func writeError(w http.ResponseWriter, r *http.Request, log logrus.FieldLogger, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		log.WithError(err).WithField("path", r.URL.Path).Error("receivers request failed")
		ae = fail(http.StatusInternalServerError, "internal error")
	} else if ae.status >= 500 {
		log.WithError(err).WithField("path", r.URL.Path).Warn("receivers request failed")
	}
	writeJSON(w, r, ae.status, errorBody{
		Type:       "error",
		Links:      map[string]string{"self": requestURL(r)},
		Actions:    map[string]string{},
		StatusCode: ae.status,
		Status:     "Server Error",
		Message:    ae.msg,
	})
}

// writeJSON writes v with the headers every answer of the original carried. '&', '<' and '>' are written
// literally (the trigger URL's "&projectId=" must read as in the original, not as \u0026).
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only reachable through a programming error in this package's types.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"type":"error","links":{},"actions":{},"statusCode":500,"status":"Server Error","message":"encode response"}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-API-Schemas", responseBase(r)+apiPrefix+"/schemas")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
