package httpserve

import (
	"bufio"
	"net"
	"net/http"
)

// statusRecorder remembers whether the answer has started, so a recovered panic knows whether an error
// answer can still be written. Flushing counts: it sends the header (200 if none was set).
type statusRecorder struct {
	http.ResponseWriter
	started bool
}

func (r *statusRecorder) WriteHeader(code int) {
	r.started = true
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	r.started = true
	return r.ResponseWriter.Write(p)
}

// FlushError is what http.ResponseController.Flush calls; it must be seen here rather than reached through
// Unwrap, or a flushed answer would look unstarted.
func (r *statusRecorder) FlushError() error {
	r.started = true
	return http.NewResponseController(r.ResponseWriter).Flush()
}

// Flush keeps the recorder an http.Flusher for handlers that assert it directly.
func (r *statusRecorder) Flush() {
	_ = r.FlushError()
}

// Hijack passes a connection takeover (a websocket upgrade) through, and counts it as a started answer: once
// the handler owns the connection no error answer can be written on it.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil {
		r.started = true
	}
	return conn, rw, err
}

// Unwrap lets http.ResponseController reach the underlying writer (deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter {
	return r.ResponseWriter
}
