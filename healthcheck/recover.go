package healthcheck

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/sirupsen/logrus"
)

// statusRecorder remembers whether the response has started, so a recovered
// panic knows whether a JSON 500 can still be written.
type statusRecorder struct {
	http.ResponseWriter
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	r.wroteHeader = true
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter {
	return r.ResponseWriter
}

// recoverPanics turns a panic in any route into a logged error and a JSON
// 500, keeping the health port alive. If the response had already started
// the connection is aborted instead, since its status cannot change.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
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
			s.log.WithFields(logrus.Fields{
				"url": r.URL.Path,
				"err": fmt.Errorf("panic: %v\n%s", p, debug.Stack()),
			}).Error("healthcheck handler panicked")
			if rec.wroteHeader {
				panic(http.ErrAbortHandler)
			}
			writeError(rec, http.StatusInternalServerError, "internal error")
		}()
		next.ServeHTTP(rec, r)
	})
}

// fmtln formats like fmt.Println without the trailing newline.
func fmtln(v ...any) string {
	s := fmt.Sprintln(v...)
	return s[:len(s)-1]
}
