package receivers

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// serveFor runs the API's own server (Serve, with its timeouts) on a loopback port until the test ends and
// returns its address.
func serveFor(t *testing.T, e *env, opts ServeOptions) string {
	t.Helper()
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.api.Serve(ctx, ln, opts) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("serve did not stop")
		}
	})
	return ln.Addr().String()
}

// closedWithin reads from conn until the server closes it and fails unless that happens within limit. It
// writes one byte of trickle every tick meanwhile (a slowloris keeps sending, slowly), until a write fails.
func closedWithin(t *testing.T, conn net.Conn, limit time.Duration, trickle []byte) time.Duration {
	t.Helper()
	start := time.Now()
	if err := conn.SetReadDeadline(start.Add(limit)); err != nil {
		t.Fatalf("set deadline: %v", err)
	}
	read := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, conn)
		read <- err
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-read:
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the server kept the connection open for %s", limit)
			}
			return time.Since(start)
		case <-tick.C:
			if len(trickle) > 0 {
				if _, err := conn.Write(trickle[:1]); err == nil {
					trickle = trickle[1:]
				}
			}
		}
	}
}

// TestSlowClientsAreCutOff: a client that never finishes its headers (slowloris, trickling a byte every 50 ms)
// is disconnected after ReadHeaderTimeout, and one that sends the headers of a trigger but not its body is
// disconnected after ReadTimeout without the trigger running. A normal trigger on the same server works.
func TestSlowClientsAreCutOff(t *testing.T) {
	e := newEnv(t)
	rec := e.create(e.scaleWebBody("slow"))
	u, err := url.Parse(str(rec, "url"))
	if err != nil {
		t.Fatalf("parse trigger url: %v", err)
	}
	addr := serveFor(t, e, ServeOptions{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond})

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST "+u.RequestURI()+" HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	took := closedWithin(t, conn, 5*time.Second, []byte("X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
	if took < 250*time.Millisecond {
		t.Errorf("closed after %s, before the header timeout", took)
	}

	body, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer body.Close()
	if _, err := io.WriteString(body, "POST "+u.RequestURI()+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"Content-Length: 1000\r\n\r\n{\"status\":"); err != nil {
		t.Fatalf("write: %v", err)
	}
	closedWithin(t, body, 5*time.Second, []byte(`"firing","alerts":[]`))
	if n := len(e.exec.all()); n != 0 {
		t.Fatalf("the executor ran %d times for requests cut off", n)
	}

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST "+u.RequestURI()+" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatalf("set deadline: %v", err)
	}
	answer, err := io.ReadAll(c)
	if err != nil || len(answer) < 12 || string(answer[:12]) != "HTTP/1.1 200" {
		t.Fatalf("normal trigger: %q %v", answer, err)
	}
	if n := len(e.exec.all()); n != 1 {
		t.Fatalf("executor ran %d times, want 1", n)
	}
}
