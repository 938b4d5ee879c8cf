package simtest

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattlesim"
)

// SimOptions configures StartSim.
type SimOptions struct {
	// Options are cattlesim's. Zero Timings.Step, FlushInterval, PingInterval and RandSeed take test values
	// (10 ms, 10 ms, 100 ms and 1): states and events move in milliseconds, the service's health check sees
	// recent pings, and fault injection repeats from run to run.
	Options cattlesim.Options
	// Seed is the seed loaded (cattlesim.SeedDemo when empty), with SeedOptions (fixed keys for the first
	// project, for readable failure messages).
	Seed        string
	SeedOptions cattlesim.SeedOptions
	// Populate, when set, fills PopulateProject (cattlesim.DefaultProjectID when empty) after the seed.
	Populate        *cattlesim.PopulateOptions
	PopulateProject string
	// Timeout bounds the harness's waits (DefaultTimeout when zero): the event hub's stop, Stop's drop of the
	// subscriptions, Start's listen.
	Timeout time.Duration
}

// Sim is a seeded cattlesim served on a loopback address for the test's life, with its event hub running.
type Sim struct {
	// Sim is the emulator itself, for the checks and controls a test makes in-process (CallsSince, SetFaults,
	// DropWebsockets, ...).
	Sim *cattlesim.Sim
	// Info is what the seed created; Populated what Populate created (nil without Populate).
	Info      *cattlesim.SeedInfo
	Populated *cattlesim.PopulateInfo
	// URL is the emulator's root (http://127.0.0.1:port); it stays the same across Stop and Start.
	URL string
	// Client is the client Do uses; its idle connections are closed when the test ends.
	Client *http.Client

	tb      testing.TB
	timeout time.Duration
	addr    string

	mu  sync.Mutex
	srv *httptest.Server // nil while stopped
}

// StartSim seeds a cattlesim, runs its event hub and serves it on 127.0.0.1 (a port the kernel picks) until the
// test ends. The cleanup stops the hub and waits for it (bounded), then closes the server and the emulator;
// services started after StartSim are stopped before it.
func StartSim(tb testing.TB, o SimOptions) *Sim {
	tb.Helper()
	opts := o.Options
	if opts.Timings.Step == 0 {
		opts.Timings.Step = 10 * time.Millisecond
	}
	if opts.FlushInterval == 0 {
		opts.FlushInterval = 10 * time.Millisecond
	}
	if opts.PingInterval == 0 {
		opts.PingInterval = 100 * time.Millisecond
	}
	if opts.RandSeed == 0 {
		opts.RandSeed = 1
	}
	if o.Seed == "" {
		o.Seed = cattlesim.SeedDemo
	}
	if o.PopulateProject == "" {
		o.PopulateProject = cattlesim.DefaultProjectID
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}

	sim := cattlesim.New(opts)
	s := &Sim{Sim: sim, tb: tb, timeout: o.Timeout, Client: NewClient(tb, o.Timeout, 16)}
	// Registered first, so it runs after the hub stopped (cleanups run last-registered first).
	tb.Cleanup(func() {
		s.mu.Lock()
		srv := s.srv
		s.srv = nil
		s.mu.Unlock()
		if srv != nil {
			srv.Close()
		}
		sim.Close()
	})
	info, err := sim.Seed(o.Seed, o.SeedOptions)
	if err != nil {
		tb.Fatalf("seed cattlesim with %s: %v", o.Seed, err)
	}
	s.Info = info
	if o.Populate != nil {
		if s.Populated, err = sim.Populate(o.PopulateProject, *o.Populate); err != nil {
			tb.Fatalf("populate cattlesim project %s: %v", o.PopulateProject, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen for cattlesim: %v", err)
	}
	s.addr = ln.Addr().String()
	s.URL = "http://" + s.addr
	s.serve(ln)
	Go(tb, "cattlesim event hub", o.Timeout, sim.Run)
	return s
}

func (s *Sim) serve(ln net.Listener) {
	srv := httptest.NewUnstartedServer(s.Sim.Handler())
	_ = srv.Listener.Close() // replaced by ln, which holds the address clients know
	srv.Listener = ln
	srv.Start()
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
}

// CattleURL is the Cattle URL as Rancher injects it into a container (the root plus /v1).
func (s *Sim) CattleURL() string { return s.URL + "/v1" }

// Cred is the environment key of the demo project 1a5 (the first credential of every seed).
func (s *Sim) Cred() cattlesim.Credential { return s.Info.Credentials[0] }

// ID returns the API id of a seeded object of 1a5 ("service/web", "host/worker-01", "stack/demo") and fails the
// test if the seed has none.
func (s *Sim) ID(tb testing.TB, object string) string {
	tb.Helper()
	id, ok := s.Info.Objects[cattlesim.DefaultProjectID+"/"+object]
	if !ok {
		tb.Fatalf("the %s seed has no %s in %s", s.Info.Name, object, cattlesim.DefaultProjectID)
	}
	return id
}

// Stop makes cattlesim unreachable like a stopped Cattle: the listener is closed (new connections are refused)
// and every open subscription is dropped without a close frame. Its state is kept for Start.
func (s *Sim) Stop() {
	s.tb.Helper()
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		s.tb.Fatal("cattlesim stopped twice")
	}
	srv.Close()
	// An upgrade accepted just before the listener closed may register after a first drop: drop until none is
	// left.
	Eventually(s.tb, s.timeout, "cattlesim's subscriptions dropped", func() (bool, string) {
		s.Sim.DropWebsockets()
		n := s.Sim.Subscribers()
		return n == 0, fmt.Sprintf("%d subscriptions still open after stop", n)
	})
}

// Start serves cattlesim again on the address it had, with its state intact.
func (s *Sim) Start() {
	s.tb.Helper()
	var ln net.Listener
	var lastErr error
	Eventually(s.tb, s.timeout, "cattlesim listening again on "+s.addr, func() (bool, string) {
		ln, lastErr = net.Listen("tcp", s.addr)
		return lastErr == nil, fmt.Sprint(lastErr)
	})
	s.serve(ln)
}
