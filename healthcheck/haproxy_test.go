package healthcheck

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// composeFiles are the stack files whose health_check this test proves;
// they must agree on the request line.
var composeFiles = []string{
	"../deploy/rancher/rancher-compose.yml",
	"../templates/scale-subscriber/0/rancher-compose.yml",
}

// TestHAProxyHealthCheck runs the real HAProxy health checker, the one
// Rancher 1.x uses, with the request_line from deploy/rancher, against the
// server, and watches it mark the backend UP, DOWN on a 503, and UP again.
// HAProxy is required in CI (.ci/run installs it); elsewhere the test skips
// when the binary is missing.
func TestHAProxyHealthCheck(t *testing.T) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("haproxy not installed but CI is set: %v", err)
		}
		t.Skip("haproxy not installed")
	}
	requestLine := composeRequestLine(t, composeFiles[0])
	for _, other := range composeFiles[1:] {
		if got := composeRequestLine(t, other); got != requestLine {
			t.Fatalf("%s request_line %q differs from %s %q", other, got, composeFiles[0], requestLine)
		}
	}

	var healthy atomic.Bool
	healthy.Store(true)
	check := func(context.Context) error {
		if !healthy.Load() {
			return errors.New("websocket not subscribed")
		}
		return nil
	}
	_, base := startServer(t, Options{Checks: []Check{{Name: "subscribed", Func: check}}})

	dir := t.TempDir()
	sock := filepath.Join(dir, "stats.sock")
	cfg := filepath.Join(dir, "haproxy.cfg")
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
  server s1 %s check inter 100 rise 1 fall 1
`, sock, requestLine, strings.TrimPrefix(base, "http://"))
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatalf("write haproxy config: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	stderr := &lockedBuffer{}
	cmd := exec.CommandContext(ctx, haproxy, "-f", cfg, "-db")
	cmd.Stdout = io.Discard
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start haproxy: %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-waited:
		case <-time.After(testTimeout):
			t.Errorf("haproxy did not exit")
		}
	})

	steps := []struct {
		name    string
		healthy bool
		want    string
		code    string
	}{
		{name: "healthy", healthy: true, want: "UP", code: "200"},
		{name: "unhealthy", healthy: false, want: "DOWN", code: "503"},
		{name: "recovered", healthy: true, want: "UP", code: "200"},
	}
	for _, step := range steps {
		healthy.Store(step.healthy)
		var last map[string]string
		eventually(t, testTimeout, func() bool {
			select {
			case err := <-waited:
				waited <- err
				t.Fatalf("haproxy exited: %v\n%s", err, stderr.String())
			default:
			}
			last = serverStat(sock, "scale_subscriber", "s1")
			return last["status"] == step.want && last["check_code"] == step.code
		}, func() string {
			return fmt.Sprintf("step %s: haproxy server stat %v, want status %s code %s\nhaproxy stderr:\n%s",
				step.name, last, step.want, step.code, stderr.String())
		})
	}
}

// composeRequestLine reads health_check.request_line from the stack file
// without a YAML dependency: it is a single scalar line.
func composeRequestLine(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, found := strings.CutPrefix(line, "request_line:"); found {
			return strings.Trim(strings.TrimSpace(v), `'"`)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	t.Fatalf("%s has no request_line", path)
	return ""
}

// serverStat asks HAProxy's stats socket for one server's row, keyed by the
// CSV header. It returns nil while the socket is not up yet.
func serverStat(sock, proxy, server string) map[string]string {
	conn, err := net.DialTimeout("unix", sock, time.Second)
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
