package httpserve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sirupsen/logrus"
)

// apiError is the error shape of the test API's writer, unlike any net/http default.
type apiError struct {
	Shape   string `json:"shape"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// panicServer serves panicky behind Recover, with /ok answering 200, and counts the error writer's calls.
func panicServer(t *testing.T, panicky http.HandlerFunc) (*server, *atomic.Int32, func() []*logrus.Entry) {
	t.Helper()
	o, hook := testOptions(t)
	var writes atomic.Int32
	writeError := func(w http.ResponseWriter, r *http.Request, code int, message string) {
		writes.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Error-Writer", r.URL.Path)
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(apiError{Shape: "test", Code: code, Message: message})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.Handle("/panic", panicky)
	s := start(t, Recover(o.Logger, "test", writeError)(mux), o)
	return s, &writes, func() []*logrus.Entry { return entries(hook, "test handler panicked") }
}

// stillServes fails the test unless /ok answers 200.
func stillServes(t *testing.T, s *server) {
	t.Helper()
	if r := recv(t, getAsync(s.url("/ok")), "/ok"); r.err != nil || r.status != http.StatusOK {
		t.Errorf("after the panic /ok answered %d (%v), want 200", r.status, r.err)
	}
}

// afterAbort checks what follows an aborted answer: the error writer never ran, the panic was logged
// wantLogged times, and the server still answers.
func afterAbort(t *testing.T, s *server, writes *atomic.Int32, panicked func() []*logrus.Entry, wantLogged int) {
	t.Helper()
	if n := writes.Load(); n != 0 {
		t.Errorf("error writer called %d times for an aborted answer", n)
	}
	if n := len(panicked()); n != wantLogged {
		t.Errorf("%d \"test handler panicked\" entries, want %d", n, wantLogged)
	}
	stillServes(t, s)
}

// TestRecoverWritesOneErrorInTheAPIsShape: a panic before anything was written becomes one 500 written by
// the API's own error writer, and is logged at error level with the path (never the query) and the stack.
func TestRecoverWritesOneErrorInTheAPIsShape(t *testing.T) {
	s, writes, panicked := panicServer(t, func(http.ResponseWriter, *http.Request) { panic("boom") })
	r := recv(t, getAsync(s.url("/panic?key=sekrit")), "the answer")
	if r.err != nil || r.status != http.StatusInternalServerError {
		t.Fatalf("status %d err %v, want 500", r.status, r.err)
	}
	var body apiError
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatalf("body %q is not the writer's JSON: %v", r.body, err)
	}
	if body != (apiError{Shape: "test", Code: http.StatusInternalServerError, Message: "internal error"}) {
		t.Errorf("body = %+v", body)
	}
	if n := writes.Load(); n != 1 {
		t.Errorf("error writer called %d times, want 1", n)
	}
	logged := panicked()
	if len(logged) != 1 {
		t.Fatalf("%d \"test handler panicked\" entries, want 1", len(logged))
	}
	e := logged[0]
	err, _ := e.Data["err"].(error)
	if e.Level != logrus.ErrorLevel || e.Data["path"] != "/panic" || err == nil ||
		!strings.Contains(err.Error(), "panic: boom") || !strings.Contains(err.Error(), "recover_test.go") {
		t.Errorf("panic entry = %s %v, want error level, path /panic and the panic with its stack", e.Level, e.Data)
	}
	if line, _ := e.String(); strings.Contains(line, "sekrit") {
		t.Errorf("the query was logged: %s", line)
	}
	stillServes(t, s)
}

// TestRecoverAbortsAnAnswerAlreadyStarted: once the answer has started (a header or body written, or a
// flush by either path) its status cannot change: the connection is aborted, so the client sees a truncated
// answer (when the header was sent) or none at all, never an error appended to a success; the panic is still
// logged and no error is written.
func TestRecoverAbortsAnAnswerAlreadyStarted(t *testing.T) {
	flush := func(w http.ResponseWriter) {
		if err := http.NewResponseController(w).Flush(); err != nil {
			panic(fmt.Sprintf("flush: %v", err))
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		// sent is the body the client receives before the cut, when the header reached it.
		sent *string
	}{
		{"write then http.Flusher", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic("late boom")
		}, ptr("partial")},
		{"write then ResponseController", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "partial")
			flush(w)
			panic("late boom")
		}, ptr("partial")},
		{"flush alone", func(w http.ResponseWriter, _ *http.Request) {
			flush(w)
			panic("late boom")
		}, ptr("")},
		{"header not yet sent", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			panic("late boom")
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, writes, panicked := panicServer(t, tc.handler)
			r := recv(t, getAsync(s.url("/panic")), "the answer")
			switch {
			case tc.sent != nil && (r.status != http.StatusOK || r.body != *tc.sent || !errors.Is(r.err, io.ErrUnexpectedEOF)):
				t.Fatalf("status %d body %q err %v, want 200 %q cut off (unexpected EOF)", r.status, r.body, r.err, *tc.sent)
			case tc.sent == nil && r.err == nil:
				t.Fatalf("answered %d %q, want the connection aborted", r.status, r.body)
			}
			afterAbort(t, s, writes, panicked, 1)
		})
	}
}

func ptr(s string) *string { return &s }

// TestRecoverLeavesAHijackedConnectionAlone: once a handler took the connection over (a websocket upgrade, as
// cattlesim's subscribe does through Recover), a panic writes nothing on it: the handler's own bytes are all
// the client gets.
func TestRecoverLeavesAHijackedConnectionAlone(t *testing.T) {
	s, writes, panicked := panicServer(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(fmt.Sprintf("hijack: %v", err))
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		_ = rw.Flush()
		panic("boom after the takeover")
	})
	r := recv(t, getAsync(s.url("/panic")), "the answer")
	if r.err != nil || r.status != http.StatusOK || r.body != "hijacked" {
		t.Fatalf("status %d body %q err %v, want the handler's own 200 \"hijacked\"", r.status, r.body, r.err)
	}
	// The client can have its answer before the handler panics.
	waitFor(t, "the panic logged", func() bool { return len(panicked()) > 0 })
	afterAbort(t, s, writes, panicked, 1)
}

// TestRecoverPassesErrAbortHandlerThrough: http.ErrAbortHandler (bare or wrapped) is net/http's deliberate
// abort: it reaches net/http, which drops the connection; Recover neither logs it as a panic nor writes an
// error.
func TestRecoverPassesErrAbortHandlerThrough(t *testing.T) {
	for name, p := range map[string]error{
		"bare":    http.ErrAbortHandler,
		"wrapped": fmt.Errorf("give up: %w", http.ErrAbortHandler),
	} {
		t.Run(name, func(t *testing.T) {
			s, writes, panicked := panicServer(t, func(http.ResponseWriter, *http.Request) { panic(p) })
			if r := recv(t, getAsync(s.url("/panic")), "the answer"); r.err == nil {
				t.Fatalf("answered %d %q, want the connection dropped", r.status, r.body)
			}
			afterAbort(t, s, writes, panicked, 0)
		})
	}
}

// TestRecoverNeedsAWriter: a nil error writer is refused when the middleware is built, not at the first
// panic.
func TestRecoverNeedsAWriter(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("Recover with a nil ErrorWriter did not panic")
		}
	}()
	Recover(nil, "test", nil)
}
