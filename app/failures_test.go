package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rancher/scale-subscriber/app"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/internal/simtest"
)

// Metric names the failure tests read.
const (
	metricPanics   = "scale_subscriber_handler_panics_total"
	metricRetries  = "scale_subscriber_queue_retries_total"
	metricFailures = "scale_subscriber_queue_failures_total"
)

// TestPanickingReconcilerDoesNotLoseKey registers a service reconciler that panics the first two times it sees
// the demo "web" service. The key comes from the service's first sync with cattlesim; it must be retried until
// the reconciler succeeds, with the panics counted and logged with their stack, and nothing given up.
func TestPanickingReconcilerDoesNotLoseKey(t *testing.T) {
	sim := simtest.StartSim(t, simtest.SimOptions{})
	web := sim.Info.Objects["1a5/service/web"]
	var attempts atomic.Int32
	succeeded := make(chan int32, 1)
	svc := startE2EApp(t, sim, func(a *app.App) {
		// The "service" kind belongs to the trigger executor; this reconciler gets its own kind and key.
		if err := a.Dispatcher().Register("e2epanic", func(_ context.Context, id string) error {
			if id != web {
				return nil
			}
			n := attempts.Add(1)
			if n <= 2 {
				panic(fmt.Sprintf("reconciler bug on attempt %d", n))
			}
			select {
			case succeeded <- n:
			default:
			}
			return nil
		}); err != nil {
			t.Fatalf("register e2epanic reconciler: %v", err)
		}
	})
	svc.Queue().Add("e2epanic:" + web)

	if n := simtest.Recv(t, succeeded, e2eTimeout, "successful reconcile of "+web); n != 3 {
		t.Fatalf("reconciler succeeded on attempt %d, want 3 (two panics, then success)", n)
	}
	if got := svc.Metric(t, metricPanics, nil); got < 2 {
		t.Fatalf("%s = %v, want >= 2", metricPanics, got)
	}
	if got := svc.Metric(t, metricFailures, nil); got != 0 {
		t.Fatalf("%s = %v, want 0: a panic must be retried, not given up", metricFailures, got)
	}
	var withStack int
	for _, e := range e2eLogEntries(t, svc.Logs, "processor panicked") {
		if e["key"] == "e2epanic:"+web && e["stack"] != nil && e["level"] == "error" {
			withStack++
		}
	}
	if withStack < 2 {
		t.Fatalf("%d error logs of the panics of e2epanic:%s with a stack, want 2", withStack, web)
	}
	svc.WaitHealthy(t)
}

// TestRetryableFailureHealsWhenCattleRecovers makes the host reconciler read its host from cattlesim while every
// REST answer is a 503, and changes the host (its agent disconnects) while Cattle misbehaves. The failed key must
// be retried with backoff, not dropped, and processed once Cattle answers again, reading the new state; the change
// must also reach the cache (held while the informer cannot relist, applied once it can).
func TestRetryableFailureHealsWhenCattleRecovers(t *testing.T) {
	sim := simtest.StartSim(t, simtest.SimOptions{})
	host := sim.Info.Objects["1a5/host/worker-01"]
	if host == "" {
		t.Fatalf("demo seed has no 1a5/host/worker-01: %v", sim.Info.Objects)
	}
	var faulting atomic.Bool
	failed := make(chan error, 1)
	healed := make(chan struct{})
	saw := make(chan string, 1)
	svc := startE2EApp(t, sim, func(a *app.App) {
		client := a.Client()
		if err := a.Dispatcher().Register("host", func(ctx context.Context, id string) error {
			if id != host || !faulting.Load() {
				return nil
			}
			var h cattle.Host
			if err := client.ByID(ctx, "host", id, &h); err != nil {
				// Hold the first failure until the test healed cattlesim. The key stays in flight meanwhile, so
				// every later processing of it (the retry, or a re-add by the change event) meets a healthy
				// Cattle: the test does not race the retries to exhaustion.
				select {
				case failed <- err:
					select {
					case <-healed:
					case <-ctx.Done():
					}
				default:
				}
				return fmt.Errorf("read host %s: %w", id, err)
			}
			select {
			case saw <- h.State:
			default:
			}
			return nil
		}); err != nil {
			t.Fatalf("register host reconciler: %v", err)
		}
	})
	svc.WaitHealthy(t)
	retriesBefore := svc.Metric(t, metricRetries, nil)

	if err := sim.Sim.SetFaults(cattlesim.Faults{ErrorRate: 1, ErrorStatus: http.StatusServiceUnavailable}); err != nil {
		t.Fatalf("set faults: %v", err)
	}
	faulting.Store(true)
	svc.Queue().Add("host:" + host)
	err := simtest.Recv(t, failed, e2eTimeout, "reconcile failing against the faulted cattlesim")
	var apiErr *cattle.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable {
		t.Fatalf("reconciler error %v, want a cattle 503", err)
	}
	// A Go-side change: the websocket is never faulted, so the event reaches the service while REST fails.
	if err := sim.Sim.SetHostAgentState(host, "disconnected"); err != nil {
		t.Fatalf("disconnect host agent: %v", err)
	}
	if err := sim.Sim.SetFaults(cattlesim.Faults{}); err != nil {
		t.Fatalf("clear faults: %v", err)
	}
	close(healed)

	if state := simtest.Recv(t, saw, e2eTimeout, "reconcile after cattlesim healed"); state != "disconnected" {
		t.Fatalf("reconciler read host state %q after the retry, want disconnected", state)
	}
	what := "the agent disconnect made while cattle failed reached the cache"
	simtest.Eventually(t, e2eTimeout, what, func() (bool, string) {
		h, ok := svc.Store().Host(host)
		return ok && h.State == "disconnected", "the cache still has the state from before"
	})
	if got := svc.Metric(t, metricRetries, nil); got <= retriesBefore {
		t.Fatalf("%s = %v, want more than %v", metricRetries, got, retriesBefore)
	}
	if got := svc.Metric(t, metricFailures, nil); got != 0 {
		t.Fatalf("%s = %v, want 0", metricFailures, got)
	}
}

// TestFailuresAreReportedAfterRetries checks how the service gives work up: a key that keeps failing with a
// retryable error is processed MaxRetries+1 times and then reported (failure counter, Error log with the key);
// one failing with an error retrying cannot fix is reported after one attempt. Neither is poisoned: the same key
// added again later is processed again.
func TestFailuresAreReportedAfterRetries(t *testing.T) {
	sim := simtest.StartSim(t, simtest.SimOptions{})
	type outcome struct {
		attempts atomic.Int32
		healed   atomic.Bool
		done     chan struct{}
	}
	flaky := &outcome{done: make(chan struct{}, 1)}
	broken := &outcome{done: make(chan struct{}, 1)}
	reconciler := func(o *outcome, fail error) func(context.Context, string) error {
		return func(context.Context, string) error {
			o.attempts.Add(1)
			if o.healed.Load() {
				select {
				case o.done <- struct{}{}:
				default:
				}
				return nil
			}
			return fail
		}
	}
	svc := startE2EApp(t, sim, func(a *app.App) {
		unavailable := &cattle.APIError{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable"}
		if err := a.Dispatcher().Register("e2eflaky", reconciler(flaky, unavailable)); err != nil {
			t.Fatal(err)
		}
		if err := a.Dispatcher().Register("e2ebroken", reconciler(broken, events.Permanent(errors.New("invalid receiver definition")))); err != nil {
			t.Fatal(err)
		}
	})
	svc.WaitHealthy(t)

	cases := []struct {
		key          string
		o            *outcome
		wantAttempts int32
	}{
		{key: "e2eflaky:1", o: flaky, wantAttempts: events.DefaultMaxRetries + 1},
		{key: "e2ebroken:1", o: broken, wantAttempts: 1},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			failuresBefore := svc.Metric(t, metricFailures, nil)
			retriesBefore := svc.Metric(t, metricRetries, nil)
			svc.Queue().Add(tc.key)
			simtest.Eventually(t, e2eTimeout, tc.key+" given up", func() (bool, string) {
				return svc.Metric(t, metricFailures, nil) == failuresBefore+1,
					fmt.Sprintf("%d attempts so far", tc.o.attempts.Load())
			})
			// The failure is counted after the last attempt, and the key is forgotten, not scheduled again.
			if got := tc.o.attempts.Load(); got != tc.wantAttempts {
				t.Fatalf("%s processed %d times before being given up, want %d", tc.key, got, tc.wantAttempts)
			}
			if got := svc.Metric(t, metricRetries, nil) - retriesBefore; got != float64(tc.wantAttempts-1) {
				t.Fatalf("%s re-queued %v times, want %d", tc.key, got, tc.wantAttempts-1)
			}
			if n := svc.Queue().NumRequeues(tc.key); n != 0 {
				t.Fatalf("%s keeps %d requeues after being given up, want 0 (forgotten)", tc.key, n)
			}
			var reported bool
			for _, e := range e2eLogEntries(t, svc.Logs, "work given up") {
				if e["key"] == tc.key && e["level"] == "error" && e["error"] != nil {
					reported = true
				}
			}
			if !reported {
				t.Fatalf("no error log \"work given up\" for %s", tc.key)
			}

			// Given up is not poisoned: the next time the key is added it runs again.
			tc.o.healed.Store(true)
			svc.Queue().Add(tc.key)
			simtest.Recv(t, tc.o.done, e2eTimeout, "processing of "+tc.key+" added again")
		})
	}
	// The counters are on /metrics, where Prometheus scrapes them.
	resp, err := http.Get(svc.HealthURL + "/metrics")
	if err != nil {
		t.Fatalf("scrape /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "\n"+metricFailures+" 2\n") {
		t.Fatalf("/metrics answered %d without %s 2:\n%s", resp.StatusCode, metricFailures, body)
	}
}
