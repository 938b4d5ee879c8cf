package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

// execMainEnv makes the test binary run main() instead of the tests, so the process tests below exercise the
// real entry point (signal handling, exit codes, stderr) without a separate `go build`.
const execMainEnv = "SCALE_SUBSCRIBER_TEST_EXEC_MAIN"

// processTimeout bounds every wait on a child process.
const processTimeout = 30 * time.Second

func TestMain(m *testing.M) {
	if os.Getenv(execMainEnv) == "1" {
		main() // exits 1 itself on error
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child is `scale-subscriber <args...>` running as a separate process.
type child struct {
	cmd    *exec.Cmd
	stderr *simtest.LogBuffer
	exited chan struct{}
	err    error // cmd.Wait's result, valid once exited is closed
}

// startChild runs the test binary as scale-subscriber with args and a clean CATTLE_*/listen environment, and
// kills it at the end of the test if it is still running.
func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("find test binary: %v", err)
	}
	cmd := exec.Command(exe, args...)
	// Only the arguments configure the child: drop every variable a run flag reads.
	flagEnv := map[string]bool{execMainEnv: true}
	for _, f := range runFlags() {
		if d, ok := f.(cli.DocGenerationFlag); ok {
			for _, name := range d.GetEnvVars() {
				flagEnv[name] = true
			}
		}
	}
	env := []string{execMainEnv + "=1"}
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !flagEnv[name] {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	c := &child{cmd: cmd, stderr: &simtest.LogBuffer{}, exited: make(chan struct{})}
	cmd.Stdout = io.Discard
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start scale-subscriber: %v", err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("scale-subscriber %s stderr:\n%s", strings.Join(args, " "), c.stderr.String())
		}
	})
	return c
}

// wait returns the exit code, failing the test if the process is still running after processTimeout.
func (c *child) wait(t *testing.T) int {
	t.Helper()
	simtest.Recv(t, c.exited, processTimeout, "exit of scale-subscriber")
	var exitErr *exec.ExitError
	switch {
	case c.err == nil:
		return 0
	case errors.As(c.err, &exitErr):
		return exitErr.ExitCode()
	default:
		t.Fatalf("wait for scale-subscriber: %v", c.err)
		return -1
	}
}

// startTestSim serves the demo seed of cattlesim on loopback until the test ends, pinging every 100 ms.
func startTestSim(t *testing.T) *simtest.Sim {
	t.Helper()
	return simtest.StartSim(t, simtest.SimOptions{Timeout: processTimeout})
}

// TestRunFailsFastWithClearMessage starts `scale-subscriber run` with configurations that cannot work and expects
// each to exit 1 at startup, within the timeout, with one clear line on stderr rather than a silent retry loop.
func TestRunFailsFastWithClearMessage(t *testing.T) {
	sim := startTestSim(t)
	key := sim.Cred()

	// A port with nothing listening: bind one, note it, release it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String() + "/v1"
	_ = ln.Close()

	// Something that answers HTTP but is not Cattle.
	notCattle := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notCattle.Close)

	// A health port already taken: the service starts, then its health listener fails, which must stop it all.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() })

	const wrongSecret = "not-the-secret-0f1e2d"
	common := []string{"--listen", "127.0.0.1:0", "--log-level", "error"}
	cases := []struct {
		name string
		args []string
		// want are substrings of the error line.
		want []string
	}{
		{
			name: "nothing configured",
			args: []string{"run"},
			want: []string{"cattle url is required", "cattle access key is required", "cattle secret key is required"},
		},
		{
			name: "url not http",
			args: []string{"run", "--cattle-url", "rancher:8080", "--cattle-access-key", "a", "--cattle-secret-key", "b"},
			want: []string{`cattle url "rancher:8080" must be an http(s) URL`},
		},
		{
			name: "nobody listening",
			args: []string{"run", "--cattle-url", deadURL, "--cattle-access-key", key.AccessKey, "--cattle-secret-key", key.SecretKey},
			want: []string{"connect to cattle", "connection refused"},
		},
		{
			name: "not a cattle api",
			args: []string{"run", "--cattle-url", notCattle.URL + "/v1", "--cattle-access-key", key.AccessKey, "--cattle-secret-key", key.SecretKey},
			want: []string{"connect to cattle", "404"},
		},
		{
			name: "wrong keys",
			args: []string{"run", "--cattle-url", sim.CattleURL(), "--cattle-access-key", key.AccessKey,
				"--cattle-secret-key", wrongSecret},
			want: []string{"connect to cattle", "401"},
		},
		{
			name: "health port taken",
			args: []string{"run", "--cattle-url", sim.CattleURL(), "--cattle-access-key", key.AccessKey,
				"--cattle-secret-key", key.SecretKey, "--health-listen", busy.Addr().String()},
			want: []string{"healthcheck server", "address already in use"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := startChild(t, append(tc.args, common...)...)
			if code := c.wait(t); code != 1 {
				t.Fatalf("exit code %d, want 1", code)
			}
			stderr := c.stderr.String()
			// main prints the error last, once; a configuration error lists every problem, one per line.
			i := strings.LastIndex(stderr, "scale-subscriber: ")
			if i < 0 || (i > 0 && stderr[i-1] != '\n') {
				t.Fatalf("no \"scale-subscriber: <error>\" line on stderr:\n%s", stderr)
			}
			errText := stderr[i:]
			for _, w := range tc.want {
				if !strings.Contains(errText, w) {
					t.Errorf("error %q does not contain %q", errText, w)
				}
			}
			t.Logf("%s", strings.TrimSpace(errText))
			if strings.Contains(stderr, key.SecretKey) || strings.Contains(stderr, wrongSecret) {
				t.Errorf("stderr leaks the secret key:\n%s", stderr)
			}
		})
	}
}

// TestRunStopsCleanlyOnSignal runs the service against cattlesim until it is healthy (subscribed, synced), then
// sends SIGTERM (what `docker stop` and Rancher send) or SIGINT: the process must close its subscription, stop
// its health listener and exit 0.
func TestRunStopsCleanlyOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			sim := startTestSim(t)
			key := sim.Cred()
			c := startChild(t, "run",
				"--cattle-url", sim.CattleURL(), "--cattle-access-key", key.AccessKey, "--cattle-secret-key", key.SecretKey,
				"--listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:0",
				"--ping-interval", "200ms", "--pong-wait", "2s", "--max-ping-age", "5s",
				"--log-format", "json", "--log-level", "info")

			// The health listener's port is in the "healthcheck listening" log entry.
			var healthURL string
			simtest.Eventually(t, processTimeout, "scale-subscriber healthy", func() (bool, string) {
				select {
				case <-c.exited:
					t.Fatalf("scale-subscriber exited before becoming healthy: %v", c.err)
				default:
				}
				healthURL = logField(c.stderr.String(), "healthcheck listening", "url")
				status, subscribers := healthStatus(healthURL), sim.Sim.Subscribers()
				return healthURL != "" && status == http.StatusOK && subscribers == 1,
					fmt.Sprintf("health url %q status %d, %d subscribers", healthURL, status, subscribers)
			})

			if err := c.cmd.Process.Signal(sig); err != nil {
				t.Fatalf("send %s: %v", sig, err)
			}
			if code := c.wait(t); code != 0 {
				t.Fatalf("exit code %d after %s, want 0", code, sig)
			}
			stderr := c.stderr.String()
			if strings.Contains(stderr, "scale-subscriber: ") {
				t.Fatalf("clean stop printed an error:\n%s", stderr)
			}
			if logField(stderr, "healthcheck stopped", "level") == "" {
				t.Fatalf("health listener was not shut down gracefully:\n%s", stderr)
			}
			simtest.Eventually(t, processTimeout, "subscription closed", func() (bool, string) {
				n := sim.Sim.Subscribers()
				return n == 0, fmt.Sprintf("%d subscriptions still open after exit", n)
			})
			if code := healthStatus(healthURL); code != 0 {
				t.Fatalf("health listener still answers (%d) after exit", code)
			}
		})
	}
}

// logField returns field of the last JSON log entry whose msg is msg, or "".
func logField(logs, msg, field string) string {
	var out string
	for _, line := range strings.Split(logs, "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		if m, ok := entry["msg"].(string); !ok || m != msg {
			continue
		}
		if v, ok := entry[field].(string); ok {
			out = v
		}
	}
	return out
}

// healthStatus is the status of GET <base>/healthcheck, 0 when the request fails.
func healthStatus(base string) int {
	if base == "" {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	a, err := simtest.Send(ctx, http.DefaultClient, http.MethodGet, base+"/healthcheck", nil, nil)
	if err != nil {
		return 0
	}
	return a.Status
}
