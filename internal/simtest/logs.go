package simtest

import (
	"strings"
	"sync"
)

// ShowLogs is how much of a log a failing test prints: its end, which says what went wrong.
const ShowLogs = 64 << 10

// LogBuffer collects what a logger or a child process writes while the test reads it. It is safe for concurrent
// use. It keeps everything when Keep is zero (tests that search the whole log for a secret need that), else at
// least the last Keep bytes, so a chatty program stays bounded; the zero value is ready to use.
type LogBuffer struct {
	// Keep bounds what is kept (0: everything).
	Keep int

	mu  sync.Mutex
	buf []byte
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	// Trimming only past twice the bound copies each byte a bounded number of times.
	if b.Keep > 0 && len(b.buf) > 2*b.Keep {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.Keep:]...)
	}
	return len(p), nil
}

// String returns what is kept (the last Keep bytes when Keep is set).
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Keep > 0 && len(b.buf) > b.Keep {
		return string(b.buf[len(b.buf)-b.Keep:])
	}
	return string(b.buf)
}

// Tail returns about the last n bytes, from the start of a line.
func (b *LogBuffer) Tail(n int) string {
	s := b.String()
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
