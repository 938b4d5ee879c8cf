// Package apptest starts the real service (app.New + Run, as main wires it) against a simtest.Sim, on loopback
// listeners the kernel picks, for the tests of app, e2e, peers and bench. It is apart from simtest because it
// imports app, which the in-package tests of app and of the packages app imports cannot.
package apptest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/app"
	"github.com/rancher/scale-subscriber/config"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/internal/simtest"
)

// Options configures Start. The zero value runs the service as the e2e tests do: the sim's 1a5 environment key,
// 2 workers, 100 ms pings, JSON logs at info level into a new LogBuffer.
type Options struct {
	// CattleURL is the Cattle URL the service uses (the sim's when empty): a proxy in front of the sim.
	CattleURL string
	// ProductionDefaults leaves config.Defaults() as they are apart from the wiring (Cattle URL, key,
	// listeners, public URL): benchmarks measure the service as it ships.
	ProductionDefaults bool
	// Configure changes the configuration last.
	Configure func(*config.Config)

	// Logs is the buffer the JSON log lines go to (a new one when nil); several services may share one. Level
	// is the log level (info when zero). Logger, when set, replaces both (benchmarks pass a discarding one).
	Logs   *simtest.LogBuffer
	Level  logrus.Level
	Logger logrus.FieldLogger

	// CattleTimeout and SubscriberBackoff are passed to app.Options.
	CattleTimeout     time.Duration
	SubscriberBackoff events.BackoffOptions
	// Prepare runs between app.New and Run: it registers extra handlers or reconcilers.
	Prepare func(*app.App)
	// Timeout bounds app.New, the stop and WaitHealthy (simtest.DefaultTimeout when zero).
	Timeout time.Duration
}

// Service is a running service.
type Service struct {
	*app.App
	// APIURL is the receivers listener's root, also the service's public URL; HealthURL the root of
	// /healthcheck, /healthz and /metrics.
	APIURL, HealthURL string
	// Logs holds what the service logged (nil with Options.Logger).
	Logs *simtest.LogBuffer

	client  *http.Client
	timeout time.Duration
	stop    func() error
}

// Start starts the service against sim until the test ends. It does not wait for it to be healthy: see
// WaitHealthy. When the test fails, the end of the service's log is printed after the service stopped.
func Start(tb testing.TB, sim *simtest.Sim, o Options) *Service {
	tb.Helper()
	if o.Timeout <= 0 {
		o.Timeout = simtest.DefaultTimeout
	}
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen for the receivers api: %v", err)
	}
	healthLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = apiLn.Close()
		tb.Fatalf("listen for the healthcheck: %v", err)
	}
	s := &Service{
		APIURL:    "http://" + apiLn.Addr().String(),
		HealthURL: "http://" + healthLn.Addr().String(),
		client:    simtest.NewClient(tb, o.Timeout, 2),
		timeout:   o.Timeout,
	}
	cfg := s.config(sim, o, apiLn.Addr(), healthLn.Addr())

	log := o.Logger
	if log == nil {
		s.Logs = o.Logs
		if s.Logs == nil {
			s.Logs = &simtest.LogBuffer{}
		}
		l := logrus.New()
		l.SetOutput(s.Logs)
		l.SetFormatter(&logrus.JSONFormatter{})
		l.SetLevel(logrus.InfoLevel)
		if o.Level != 0 {
			l.SetLevel(o.Level)
		}
		log = l
		// Registered before the service's stop, so it runs after the service stopped writing.
		tb.Cleanup(func() {
			if tb.Failed() {
				tb.Logf("service logs (last %d KiB):\n%s", simtest.ShowLogs>>10, s.Logs.Tail(simtest.ShowLogs))
			}
		})
	}

	newCtx, cancelNew := context.WithTimeout(context.Background(), o.Timeout)
	defer cancelNew()
	a, err := app.New(newCtx, app.Options{Config: cfg, Logger: log, HealthListener: healthLn, Listener: apiLn,
		CattleTimeout: o.CattleTimeout, SubscriberBackoff: o.SubscriberBackoff})
	if err != nil {
		_ = apiLn.Close()
		_ = healthLn.Close()
		tb.Fatalf("app.New: %v", err)
	}
	s.App = a
	if o.Prepare != nil {
		o.Prepare(a)
	}
	s.stop = simtest.Go(tb, "app.Run", o.Timeout, a.Run)
	return s
}

// config is the service's configuration: the wiring, the test timings unless ProductionDefaults, Configure.
func (s *Service) config(sim *simtest.Sim, o Options, api, health net.Addr) config.Config {
	cfg := config.Defaults()
	cfg.CattleURL = sim.CattleURL()
	if o.CattleURL != "" {
		cfg.CattleURL = o.CattleURL
	}
	cred := sim.Cred()
	cfg.AccessKey, cfg.SecretKey = cred.AccessKey, cred.SecretKey
	cfg.ListenAddress = api.String()
	cfg.HealthListenAddress = health.String()
	cfg.PublicURL = s.APIURL
	if !o.ProductionDefaults {
		cfg.Workers = 2
		// Cattle pings every 5 s; the sim's test pings come every 100 ms, so staleness shows in a second.
		cfg.PingInterval = 100 * time.Millisecond
		cfg.PongWait = time.Second
		cfg.MaxPingAge = 2 * time.Second
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	return cfg
}

// Stop cancels the service's context (what SIGTERM does in main) and waits for Run to return; it returns Run's
// result, or an error if Run did not return within the timeout. Later calls return the same result; the test's
// cleanup calls it too and fails the test on an error.
func (s *Service) Stop() error { return s.stop() }

// CheckHealth fetches /healthcheck.
func (s *Service) CheckHealth(ctx context.Context) (simtest.Answer, error) {
	return simtest.Send(ctx, s.client, http.MethodGet, s.HealthURL+"/healthcheck", nil, nil)
}

// WaitHealthy waits until /healthcheck answers 200: subscribed, pinged and synced.
func (s *Service) WaitHealthy(tb testing.TB) {
	tb.Helper()
	simtest.Eventually(tb, s.timeout, "service healthy", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		a, err := s.CheckHealth(ctx)
		if err != nil {
			return false, err.Error()
		}
		return a.Status == http.StatusOK, fmt.Sprintf("/healthcheck %s", a)
	})
}

// Metric sums the samples of the service's metric family name whose labels include want (see simtest.Metric).
func (s *Service) Metric(tb testing.TB, name string, want map[string]string) float64 {
	tb.Helper()
	return simtest.Metric(tb, s.Registry(), name, want)
}
