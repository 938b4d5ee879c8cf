package receivers

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/sirupsen/logrus"
)

// limitBody caps every request body at Options.MaxBodyBytes; readBody turns the overflow into a 413.
func (a *API) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, a.maxBody)
		next.ServeHTTP(w, r)
	})
}

// readBody reads the whole (capped) body before anything is done with it, so an oversize request changes
// nothing.
func (a *API) readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fail(http.StatusRequestEntityTooLarge, "Request body too large: the limit is %d bytes", tooBig.Limit)
		}
		return nil, fail(http.StatusBadRequest, "Error reading request body: %v", err)
	}
	return body, nil
}

// requireJSON checks the Content-Type of a management write. The original compared the header with
// "application/json" exactly; we accept the same media type with parameters too ("application/json;
// charset=utf-8"), which an old client never sent differently, and keep the original's message otherwise.
func requireJSON(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(mt, "application/json") {
		return fail(http.StatusBadRequest, "Content-Type must be supplied as header. Only application/json is supported")
	}
	return nil
}

// statusRecorder remembers whether the answer has started, so a recovered panic knows whether a JSON 500 can
// still be written.
type statusRecorder struct {
	http.ResponseWriter
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	s.wroteHeader = true
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	s.wroteHeader = true
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// recoverPanics turns a panic in a route (or in the Executor) into a logged error and a JSON 500, keeping the
// server up. If the answer had already started, the connection is aborted instead.
func (a *API) recoverPanics(next http.Handler) http.Handler {
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
			a.log.WithFields(logrus.Fields{
				"path": r.URL.Path, // never the query: it holds trigger keys
				"err":  fmt.Errorf("panic: %v\n%s", p, debug.Stack()),
			}).Error("receivers handler panicked")
			if rec.wroteHeader {
				panic(http.ErrAbortHandler)
			}
			writeError(rec, r, a.log, fail(http.StatusInternalServerError, "internal error"))
		}()
		next.ServeHTTP(rec, r)
	})
}
