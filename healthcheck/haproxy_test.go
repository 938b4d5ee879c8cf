package healthcheck

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rancher/scale-subscriber/internal/simtest"
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
	haproxy := simtest.HAProxyPath(t)
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
	stats := simtest.StartHAProxy(t, haproxy, simtest.HAProxyOptions{HTTPCheck: requestLine,
		Server: strings.TrimPrefix(base, "http://"), Check: "inter 100 rise 1 fall 1", Timeout: testTimeout})

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
		err := simtest.Until(testTimeout, simtest.PollInterval, func() bool {
			stats.CheckRunning(t)
			last = stats.Server()
			return last["status"] == step.want && last["check_code"] == step.code
		})
		if err != nil {
			t.Fatalf("step %s: %v: haproxy server stat %v, want status %s code %s\nhaproxy stderr:\n%s",
				step.name, err, last, step.want, step.code, stats.Stderr.String())
		}
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
