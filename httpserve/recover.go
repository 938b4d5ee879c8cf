package httpserve

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/sirupsen/logrus"
)

// ErrorWriter writes one error answer in an API's own shape (its JSON error body and headers).
type ErrorWriter func(w http.ResponseWriter, r *http.Request, code int, message string)

// Recover returns middleware that turns a panic in next into a logged error ("<name> handler panicked", at
// error level, with the request path and the stack) and a 500 "internal error" written by writeError,
// keeping the server up. If the answer had already started (a header or body written, or flushed) its status
// cannot change, so the connection is aborted instead (panic(http.ErrAbortHandler)). A panic with
// http.ErrAbortHandler is net/http's silent abort and passes through unlogged. A nil log discards; a nil
// writeError is a programming error and panics here.
func Recover(log logrus.FieldLogger, name string, writeError ErrorWriter) func(http.Handler) http.Handler {
	if writeError == nil {
		panic("httpserve: Recover needs an ErrorWriter")
	}
	if log == nil {
		log = discardLogger()
	}
	message := name + " handler panicked"
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &statusRecorder{ResponseWriter: w}
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}
				log.WithFields(logrus.Fields{
					"path": r.URL.Path, // never the query: it can hold secrets (trigger keys)
					"err":  fmt.Errorf("panic: %v\n%s", p, debug.Stack()),
				}).Error(message)
				if rec.started {
					panic(http.ErrAbortHandler)
				}
				writeError(rec, r, http.StatusInternalServerError, "internal error")
			}()
			next.ServeHTTP(rec, r)
		})
	}
}
