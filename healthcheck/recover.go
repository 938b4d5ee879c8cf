package healthcheck

import (
	"fmt"
	"net/http"

	"github.com/rancher/scale-subscriber/httpserve"
)

// recoverPanics turns a panic in any route into a logged error and a JSON
// 500 in this package's error shape, keeping the health port alive. If the
// response had already started the connection is aborted instead, since its
// status cannot change (httpserve.Recover).
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return httpserve.Recover(s.log, "healthcheck", func(w http.ResponseWriter, _ *http.Request, code int, message string) {
		writeError(w, code, message)
	})(next)
}

// fmtln formats like fmt.Println without the trailing newline.
func fmtln(v ...any) string {
	s := fmt.Sprintln(v...)
	return s[:len(s)-1]
}
