package peers

// The peer programs as child processes: finding them (skip or fail, see doc.go), starting them on loopback
// ports picked for them, waiting until they answer, and stopping and waiting for them when the test ends.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

const (
	// startTimeout bounds a program's start until it answers its readiness URL.
	startTimeout = 60 * time.Second
	// stopTimeout bounds the wait for a program to exit after SIGTERM, and again after SIGKILL.
	stopTimeout = 15 * time.Second
	// startAttempts is how often a program is started with fresh ports when one of its ports was taken
	// between our pick and its bind.
	startAttempts = 3
	// logKeep is how much of a program's output is kept: its last bytes, which say what went wrong.
	logKeep = 1 << 20
	// logShow is how much of it a failing test prints.
	logShow = 16 << 10
)

// required reports whether a missing program fails the test instead of skipping it.
func required() bool {
	v := os.Getenv("PEERS_E2E")
	return v != "" && v != "0"
}

// programs returns the paths of the named programs, skipping the test when one is missing (failing it when
// PEERS_E2E is set). Call it first, before starting anything.
func programs(t *testing.T, names ...string) map[string]string {
	t.Helper()
	paths := make(map[string]string, len(names))
	var missing []string
	for _, name := range names {
		p, err := exec.LookPath(name)
		if err != nil {
			missing = append(missing, name)
			continue
		}
		paths[name] = p
	}
	if len(missing) == 0 {
		return paths
	}
	msg := fmt.Sprintf("%s not found in PATH (scripts/e2e installs the peer programs)", strings.Join(missing, ", "))
	if required() {
		t.Fatalf("%s (PEERS_E2E is set, so the real programs are required)", msg)
	}
	t.Skipf("%s (set PEERS_E2E=1 to make this a failure)", msg)
	return nil
}

// freePorts returns n distinct loopback ports that were free a moment ago. A program may still lose one to
// another process before it binds it; launch then starts it again with new ports.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for len(ports) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("pick a free loopback port: %v", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// spec says how to start a program.
type spec struct {
	name, path string
	// ports is how many loopback ports the program listens on.
	ports int
	// args writes the program's configuration for ports into dir and returns its arguments.
	args func(dir string, ports []int) ([]string, error)
	// ready returns the URL that answers 2xx once the program serves.
	ready func(ports []int) string
}

// process is one running child program.
type process struct {
	name  string
	cmd   *exec.Cmd
	ports []int
	logs  *simtest.LogBuffer
	// done is closed once Wait returned; err is Wait's error then.
	done chan struct{}
	err  error
	stop sync.Once
}

// launch starts the program of s with fresh ports until it answers its readiness URL, retrying when it exited
// because a port was taken, and registers its stop for the end of the test (before whatever was registered
// earlier is cleaned up). It fails the test when the program cannot be started.
func launch(t *testing.T, s spec) *process {
	t.Helper()
	for attempt := 1; ; attempt++ {
		dir := t.TempDir()
		ports := freePorts(t, s.ports)
		args, err := s.args(dir, ports)
		if err != nil {
			t.Fatalf("configure %s: %v", s.name, err)
		}
		p := start(t, s.name, s.path, dir, ports, args)
		err = p.waitReady(s.ready(ports))
		if err == nil {
			t.Logf("%s running (pid %d) on 127.0.0.1 ports %v", s.name, p.cmd.Process.Pid, ports)
			return p
		}
		p.terminate(t)
		if attempt < startAttempts && strings.Contains(p.logs.String(), "address already in use") {
			t.Logf("%s lost a port to another process, starting it again: %v", s.name, err)
			continue
		}
		// The cleanup start registered prints the program's output.
		t.Fatalf("start %s: %v", s.name, err)
	}
}

// start runs path with args in dir, its output kept in a tail buffer, and registers its stop.
func start(t *testing.T, name, path, dir string, ports []int, args []string) *process {
	t.Helper()
	p := &process{name: name, ports: ports, logs: &simtest.LogBuffer{Keep: logKeep}, done: make(chan struct{})}
	p.cmd = exec.Command(path, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	// Its own process group, so a stuck program is killed with whatever it started; killed by the kernel if the
	// test binary dies without cleaning up (a -timeout panic), so no program outlives the test run.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.terminate(t)
		if t.Failed() {
			t.Logf("%s output (last %d KiB):\n%s", name, logShow>>10, p.logs.Tail(logShow))
		}
	})
	return p
}

// waitReady polls url until it answers 2xx, the program exits or startTimeout passes.
func (p *process) waitReady(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("build readiness request: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-p.done:
			if p.err == nil {
				return fmt.Errorf("%s exited with status 0 before it was ready", p.name)
			}
			return fmt.Errorf("%s exited before it was ready: %w", p.name, p.err)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready within %s: %s", url, startTimeout, last)
		case <-tick.C:
		}
	}
}

// terminate stops the program (SIGTERM, then SIGKILL of its process group) and waits for it; only the first
// call acts.
func (p *process) terminate(t *testing.T) {
	p.stop.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Logf("SIGTERM %s: %v", p.name, err)
		}
		select {
		case <-p.done:
			return
		case <-time.After(stopTimeout):
		}
		t.Logf("%s did not exit within %s of SIGTERM; killing it", p.name, stopTimeout)
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			t.Errorf("%s (pid %d) did not exit within %s of SIGKILL", p.name, p.cmd.Process.Pid, stopTimeout)
		}
	})
}

// addr is the host:port of the program's i-th port.
func (p *process) addr(i int) string { return fmt.Sprintf("127.0.0.1:%d", p.ports[i]) }

// writeJSONFile writes v as JSON, which YAML parsers read as YAML, so no value needs YAML quoting.
func writeJSONFile(dir, name string, v any) (string, error) {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	return path, nil
}
