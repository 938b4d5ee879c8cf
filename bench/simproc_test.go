package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/rancher/scale-subscriber/cattlesim"
)

// The relist benchmark needs the memory figures of the subscriber alone, so cattlesim runs in a child process:
// this test binary re-executed with simChildEnv set. TestMain sees the variable and serves cattlesim instead of
// running tests. The child prints one JSON line (simReady) once it listens, and exits when its stdin closes —
// which also happens if the parent dies, so no child outlives a benchmark.

// simChildEnv carries the child's PopulateOptions as JSON.
const simChildEnv = "SCALE_SUBSCRIBER_BENCH_SIM"

// simStartTimeout bounds populating and starting the child (tens of thousands of objects take seconds).
const simStartTimeout = 3 * time.Minute

// simReady is the child's announcement.
type simReady struct {
	URL       string `json:"url"`
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
	Hosts     int    `json:"hosts"`
	Services  int    `json:"services"`
	Instances int    `json:"instances"`
}

// runSimChild is the child's main: populate, serve on loopback, announce, serve until stdin closes.
func runSimChild(spec string) error {
	var opts cattlesim.PopulateOptions
	if err := json.Unmarshal([]byte(spec), &opts); err != nil {
		return fmt.Errorf("decode %s: %w", simChildEnv, err)
	}
	sim := cattlesim.New(cattlesim.Options{RandSeed: 1})
	defer sim.Close()
	seed, err := sim.Seed(cattlesim.SeedEmpty, cattlesim.SeedOptions{})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	info, err := sim.Populate(cattlesim.DefaultProjectID, opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- sim.Run(ctx) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()

	key := seed.Credentials[0]
	// Populate's creations are still waiting for the hub's first flush; a subscriber connecting now would get
	// tens of thousands of events in the middle of its relist. Let them go out to nobody first.
	ids := append(append([]string(nil), info.Instances...), info.Containers...)
	if len(ids) > 0 {
		err = flushBarrier(ctx, sim, "http://"+ln.Addr().String(), key, newToggler(sim, ids[:1]))
	}
	if err == nil {
		err = waitUntil(startupTimeout, func() bool { return sim.Subscribers() == 0 })
	}
	if err != nil {
		cancel()
		<-runDone
		_ = srv.Close()
		<-serveDone
		return fmt.Errorf("flush populate events: %w", err)
	}
	ready := simReady{URL: "http://" + ln.Addr().String(), AccessKey: key.AccessKey, SecretKey: key.SecretKey,
		Hosts: len(info.Hosts), Services: len(info.Services), Instances: len(info.Instances) + len(info.Containers)}
	line, err := json.Marshal(ready)
	if err == nil {
		_, err = fmt.Fprintf(os.Stdout, "%s\n", line)
	}
	if err == nil {
		// The parent closes our stdin to stop us (or dies, which closes it too).
		_, err = io.Copy(io.Discard, os.Stdin)
	}

	cancel() // closes the event subscriptions
	runErr := <-runDone
	shutdownCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	shutErr := srv.Shutdown(shutdownCtx)
	if serveErr := <-serveDone; !errors.Is(serveErr, http.ErrServerClosed) {
		shutErr = errors.Join(shutErr, serveErr)
	}
	return errors.Join(err, runErr, shutErr)
}

// simProcess is a running child cattlesim.
type simProcess struct {
	simReady
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan error // cmd.Wait's result
}

// startSimProcess starts a child cattlesim populated with opts and waits for its announcement.
func startSimProcess(opts cattlesim.PopulateOptions) (*simProcess, error) {
	spec, err := json.Marshal(opts)
	if err != nil {
		return nil, fmt.Errorf("encode populate options: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find test binary: %w", err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), simChildEnv+"="+string(spec))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("child stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("child stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start child cattlesim: %w", err)
	}
	p := &simProcess{cmd: cmd, stdin: stdin, done: make(chan error, 1)}

	announced := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if !sc.Scan() {
			announced <- fmt.Errorf("child cattlesim exited before announcing itself: %w", sc.Err())
		} else {
			announced <- json.Unmarshal(sc.Bytes(), &p.simReady)
		}
		// Drain anything else so the child never blocks on a full pipe; ends when the child exits.
		_, _ = io.Copy(io.Discard, stdout)
		p.done <- cmd.Wait()
	}()
	timer := time.NewTimer(simStartTimeout)
	defer timer.Stop()
	select {
	case err = <-announced:
	case <-timer.C:
		err = fmt.Errorf("child cattlesim did not start within %s", simStartTimeout)
	}
	if err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

// stop closes the child's stdin and waits for it to exit; a child that does not exit in time is killed.
func (p *simProcess) stop() error {
	_ = p.stdin.Close()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case err := <-p.done:
		if err != nil {
			return fmt.Errorf("child cattlesim: %w", err)
		}
		return nil
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return errors.New("child cattlesim did not stop in time and was killed")
	}
}
