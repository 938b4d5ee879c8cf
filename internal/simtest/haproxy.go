package simtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// HAProxyPath returns the path of haproxy, the health checker Rancher 1.x puts in front of a service. Without
// it the test is skipped, except in CI (CI set), where a missing haproxy fails it: CI installs Debian's haproxy.
func HAProxyPath(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("haproxy is not installed but CI is set: %v", err)
		}
		tb.Skip("haproxy is not installed (Debian package haproxy); CI installs it")
	}
	return p
}

// HAProxyOptions configures StartHAProxy: one backend, scale_subscriber, with one server, s1.
type HAProxyOptions struct {
	// HTTPCheck is the request line of `option httpchk` ("GET /healthcheck").
	HTTPCheck string
	// ExpectStatus, when not zero, adds `http-check expect status` with it.
	ExpectStatus int
	// Server is the host:port of s1.
	Server string
	// Check are s1's check parameters ("inter 100 rise 2 fall 2").
	Check string
	// Timeout bounds HAProxy's exit at cleanup (DefaultTimeout when zero).
	Timeout time.Duration
}

// HAProxy is a running HAProxy with its admin stats socket.
type HAProxy struct {
	// Stderr is what HAProxy wrote, for failure messages.
	Stderr *LogBuffer
	sock   string
	exited chan error
}

// StartHAProxy checks the configuration o describes with haproxy -c, then runs bin on it in the foreground
// until the test ends.
func StartHAProxy(tb testing.TB, bin string, o HAProxyOptions) *HAProxy {
	tb.Helper()
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	dir := tb.TempDir()
	sock := filepath.Join(dir, "stats.sock")
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	expect := ""
	if o.ExpectStatus != 0 {
		expect = fmt.Sprintf("  http-check expect status %d\n", o.ExpectStatus)
	}
	conf := fmt.Sprintf(`global
  stats socket %s level admin
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  timeout check 3s
backend scale_subscriber
  option httpchk %s
%s  server s1 %s check %s
`, sock, o.HTTPCheck, expect, o.Server, o.Check)
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		tb.Fatalf("write haproxy config: %v", err)
	}
	checkCtx, cancelCheck := context.WithTimeout(context.Background(), o.Timeout)
	out, err := exec.CommandContext(checkCtx, bin, "-c", "-f", cfgPath).CombinedOutput()
	cancelCheck()
	if err != nil {
		tb.Fatalf("haproxy rejects its config: %v\n%s\n%s", err, out, conf)
	}

	ctx, cancel := context.WithCancel(context.Background())
	h := &HAProxy{Stderr: &LogBuffer{}, sock: sock, exited: make(chan error, 1)}
	cmd := exec.CommandContext(ctx, bin, "-f", cfgPath, "-db")
	cmd.Stdout = io.Discard
	cmd.Stderr = h.Stderr
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatalf("start haproxy: %v", err)
	}
	go func() { h.exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cancel()
		timer := time.NewTimer(o.Timeout)
		defer timer.Stop()
		select {
		case <-h.exited:
		case <-timer.C:
			tb.Errorf("haproxy did not exit within %s", o.Timeout)
		}
	})
	return h
}

// CheckRunning fails the test if HAProxy exited.
func (h *HAProxy) CheckRunning(tb testing.TB) {
	tb.Helper()
	select {
	case err := <-h.exited:
		h.exited <- err
		tb.Fatalf("haproxy exited: %v\n%s", err, h.Stderr.String())
	default:
	}
}

// Server returns s1's row of `show stat`, keyed by the CSV header; nil while the socket is not up.
func (h *HAProxy) Server() map[string]string {
	conn, err := net.DialTimeout("unix", h.sock, time.Second)
	if err != nil {
		return nil
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, "show stat\n"); err != nil {
		return nil
	}
	raw, err := io.ReadAll(conn)
	if err != nil {
		return nil
	}
	lines := strings.Split(string(raw), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "# ") {
		return nil
	}
	header := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	for _, line := range lines[1:] {
		fields := strings.Split(line, ",")
		if len(fields) < 2 || fields[0] != "scale_subscriber" || fields[1] != "s1" {
			continue
		}
		row := make(map[string]string, len(header))
		for i, name := range header {
			if i < len(fields) {
				row[name] = fields[i]
			}
		}
		return row
	}
	return nil
}
