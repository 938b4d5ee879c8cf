package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattlesim"
)

// TestHAProxyFollowsCattle runs the health checker Rancher 1.x puts in front of a service, a real HAProxy with
// `option httpchk GET /healthcheck`, against the whole service subscribed to cattlesim. The backend must be UP
// once the service is subscribed and synced, DOWN when cattlesim stops (listener closed, websockets dropped) and
// UP again, without any help, when cattlesim comes back on the same address.
//
// HAProxy is required in CI (.ci/run installs Debian's haproxy); elsewhere the test skips when it is missing.
func TestHAProxyFollowsCattle(t *testing.T) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("haproxy is not installed but CI=true: %v", err)
		}
		t.Skip("haproxy is not installed (Debian package haproxy); CI installs it")
	}

	sim := startE2ESim(t, cattlesim.Options{})
	svc := startE2EApp(t, sim, nil)

	stats := startHAProxy(t, haproxy, strings.TrimPrefix(svc.HealthURL, "http://"))

	steps := []struct {
		name   string
		before func()
		status string
		code   string
	}{
		{name: "subscribed and synced", status: "UP", code: "200"},
		{name: "cattlesim stopped", before: sim.Stop, status: "DOWN", code: "503"},
		{name: "cattlesim back", before: sim.Start, status: "UP", code: "200"},
	}
	for _, step := range steps {
		if step.before != nil {
			step.before()
		}
		var row map[string]string
		e2eEventually(t, e2eTimeout, func() bool {
			stats.checkRunning(t)
			row = stats.server("scale_subscriber", "s1")
			return row["status"] == step.status && row["check_code"] == step.code
		}, func() string {
			code, body := svc.Health()
			return fmt.Sprintf("step %q: haproxy server row status=%q check_code=%q check_status=%q, want %s/%s; "+
				"/healthcheck now %d %s\nhaproxy stderr:\n%s", step.name, row["status"], row["check_code"],
				row["check_status"], step.status, step.code, code, body, stats.stderr.String())
		})
		// HAProxy's view must agree with what the service says about itself, and the service must say why: a
		// lost subscription, not merely a ping grown old.
		code, body := svc.Health()
		var report struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		if err := json.Unmarshal([]byte(body), &report); err != nil {
			t.Fatalf("step %q: /healthcheck body %q: %v", step.name, body, err)
		}
		switch step.status {
		case "UP":
			if code != http.StatusOK || report.Checks["subscription"] != "ok" || report.Checks["sync"] != "ok" {
				t.Fatalf("step %q: /healthcheck %d %s, want 200 with subscription and sync ok", step.name, code, body)
			}
		case "DOWN":
			if code != http.StatusServiceUnavailable || !strings.HasPrefix(report.Checks["subscription"], "disconnected") {
				t.Fatalf("step %q: /healthcheck %d %s, want 503 with the subscription disconnected", step.name, code, body)
			}
		}
	}
	// Coming back went through a new subscription: the reconnect is visible in the metrics.
	if n := svc.Metric(t, "scale_subscriber_websocket_reconnects_total", nil); n < 1 {
		t.Fatalf("scale_subscriber_websocket_reconnects_total = %v after cattlesim came back, want >= 1", n)
	}
}

// haproxyStats is a running HAProxy and its admin stats socket.
type haproxyStats struct {
	sock   string
	stderr *e2eBuffer
	exited chan error
}

// startHAProxy runs HAProxy in the foreground with one backend server, the service's health listener, checked
// every 100 ms (fall 2 / rise 2, so one lost probe does not flap it). It is stopped at the end of the test.
func startHAProxy(t *testing.T, haproxy, healthAddr string) *haproxyStats {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "stats.sock")
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	conf := fmt.Sprintf(`global
  stats socket %s level admin
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  timeout check 3s
backend scale_subscriber
  option httpchk GET /healthcheck
  http-check expect status 200
  server s1 %s check inter 100 fastinter 100 downinter 100 rise 2 fall 2
`, sock, healthAddr)
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatalf("write haproxy config: %v", err)
	}
	check := exec.Command(haproxy, "-c", "-f", cfgPath)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("haproxy rejects its config: %v\n%s", err, out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	h := &haproxyStats{sock: sock, stderr: &e2eBuffer{}, exited: make(chan error, 1)}
	cmd := exec.CommandContext(ctx, haproxy, "-f", cfgPath, "-db")
	cmd.Stdout = io.Discard
	cmd.Stderr = h.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start haproxy: %v", err)
	}
	go func() { h.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.exited:
		case <-time.After(e2eTimeout):
			t.Errorf("haproxy did not exit within %s", e2eTimeout)
		}
	})
	return h
}

// checkRunning fails the test if HAProxy exited.
func (h *haproxyStats) checkRunning(t *testing.T) {
	t.Helper()
	select {
	case err := <-h.exited:
		h.exited <- err
		t.Fatalf("haproxy exited: %v\n%s", err, h.stderr.String())
	default:
	}
}

// server returns one server's row of `show stat`, keyed by the CSV header; nil while the socket is not up.
func (h *haproxyStats) server(proxy, server string) map[string]string {
	conn, err := net.DialTimeout("unix", h.sock, time.Second)
	if err != nil {
		return nil
	}
	defer conn.Close()
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
		if len(fields) < 2 || fields[0] != proxy || fields[1] != server {
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
