package bench

// The receivers benchmarks' world (issue 4): cattlesim with a populated project 1a5 and the real service (app.New,
// as main wires it) on loopback listeners the kernel picks, with HTTP clients for both. Every goroutine started
// here is stopped and waited for in tb's cleanups, the service before the emulator.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/app"
	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/config"
	"github.com/rancher/scale-subscriber/internal/simtest"
	"github.com/rancher/scale-subscriber/internal/simtest/apptest"
)

const (
	// rcvStep is cattlesim's state-machine step (Cattle's own processes take seconds): a scale change takes
	// about three steps (update, container start, health check), an upgrade of one container a few more.
	rcvStep = 10 * time.Millisecond
	// rcvFlush is cattlesim's resource.change tick (Cattle's is 1 s); the service waits for these events to
	// learn that a busy service became free, so the tick is part of what a trigger waits for.
	rcvFlush = 10 * time.Millisecond
	// rcvTimeout bounds every wait on a condition and every request of the benchmarks.
	rcvTimeout = 2 * time.Minute
	// rcvPoll is how often the benchmarks re-check a condition (the direct baseline's wait included).
	rcvPoll = time.Millisecond
)

// rcvEnv is one cattlesim and one running scale-subscriber acting on its project 1a5.
type rcvEnv struct {
	emulator *simtest.Sim
	sim      *cattlesim.Sim
	simURL   string
	pop      *cattlesim.PopulateInfo
	app      *app.App
	// apiURL is the service's receivers listener, also its public URL.
	apiURL string
	client *http.Client
}

// rcvStart starts cattlesim with world populated in 1a5 and the service, and returns once the service is healthy
// and its cache holds every populated service. Everything stops when tb's cleanups run.
func rcvStart(tb testing.TB, world cattlesim.PopulateOptions) *rcvEnv {
	tb.Helper()
	// Enough idle connections for every concurrent sender, so no request pays a new connection.
	client := simtest.NewClient(tb, rcvTimeout, 256)
	sim := simtest.StartSim(tb, simtest.SimOptions{
		Options: cattlesim.Options{Timings: cattlesim.Timings{Step: rcvStep}, FlushInterval: rcvFlush,
			PingInterval: time.Second},
		Seed:     cattlesim.SeedEmpty,
		Populate: &world,
		Timeout:  rcvTimeout,
	})
	sim.Client = client
	// The service as main wires it, with the production defaults except the listeners and no periodic relist
	// (none may land in the middle of a measurement), and no logging.
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	svc := apptest.Start(tb, sim, apptest.Options{
		ProductionDefaults: true,
		Configure: func(cfg *config.Config) {
			cfg.ResyncInterval = 0
			cfg.TriggerRatePerMinute = 0 // the benchmarks measure the executor, not the rate limit
		},
		Logger:  quiet,
		Timeout: rcvTimeout,
	})
	svc.WaitHealthy(tb)
	e := &rcvEnv{emulator: sim, sim: sim.Sim, simURL: sim.URL, pop: sim.Populated, app: svc.App, apiURL: svc.APIURL,
		client: client}
	if err := e.waitCached(len(e.pop.Services)); err != nil {
		tb.Fatal(err)
	}
	return e
}

// waitCached waits until the service's cache holds n services.
func (e *rcvEnv) waitCached(n int) error {
	if err := rcvWaitUntil(func() bool { return e.app.Store().Len(cache.KindService) == n }); err != nil {
		return fmt.Errorf("cache holds %d services, want %d: %w", e.app.Store().Len(cache.KindService), n, err)
	}
	return nil
}

// rcvWaitUntil polls cond every rcvPoll until it holds or rcvTimeout passes.
func rcvWaitUntil(cond func() bool) error { return simtest.Until(rcvTimeout, rcvPoll, cond) }

// do makes one request and reads the whole answer (so the connection is reused).
func (e *rcvEnv) do(ctx context.Context, method, url string, header http.Header, body []byte) (simtest.Answer, error) {
	return simtest.Send(ctx, e.client, method, url, header, body)
}

// rcvSimPath is the v2-beta path of a 1a5 collection or resource ("services/1s5").
func rcvSimPath(rest string) string {
	return "/v2-beta/projects/" + cattlesim.DefaultProjectID + "/" + rest
}

// simDo sends a JSON request to cattlesim with 1a5's key and decodes a 2xx answer into out (when not nil). Any
// other status is returned as a *simtest.StatusError.
func (e *rcvEnv) simDo(ctx context.Context, method, path string, body, out any) error {
	return e.emulator.Do(ctx, method, path, body, out)
}

// rcvIsStatus reports whether err is a non-2xx answer with status code.
func rcvIsStatus(err error, code int) bool { return simtest.IsStatus(err, code) }

// rcvService is the part of a Cattle service the benchmarks look at.
type rcvService struct {
	ID            string `json:"id"`
	State         string `json:"state"`
	Transitioning string `json:"transitioning"`
	Scale         int    `json:"scale"`
	LaunchConfig  struct {
		ImageUUID string `json:"imageUuid"`
	} `json:"launchConfig"`
}

func (s rcvService) settled() bool { return s.State == "active" && s.Transitioning == "no" }

func (e *rcvEnv) service(ctx context.Context, id string) (rcvService, error) {
	var s rcvService
	err := e.simDo(ctx, http.MethodGet, rcvSimPath("services/"+id), nil, &s)
	return s, err
}

// waitService waits until cond holds for the service and returns it.
func (e *rcvEnv) waitService(ctx context.Context, id, what string, cond func(rcvService) bool) (rcvService, error) {
	var s rcvService
	var last error
	err := rcvWaitUntil(func() bool {
		s, last = e.service(ctx, id)
		return last == nil && cond(s)
	})
	if err != nil {
		return s, fmt.Errorf("service %s %s: %w (last seen %+v, %v)", id, what, err, s, last)
	}
	return s, nil
}

// createReceiver creates a receiver as Rancher's UI does (through the proxy, which sets X-API-Project-Id) and
// returns its id and trigger URL.
func (e *rcvEnv) createReceiver(ctx context.Context, body string) (id, url string, err error) {
	h := http.Header{"Content-Type": {"application/json"}, "X-Api-Project-Id": {cattlesim.DefaultProjectID}}
	a, err := e.do(ctx, http.MethodPost, e.apiURL+"/v1-webhooks/receivers", h, []byte(body))
	if err != nil {
		return "", "", err
	}
	var r struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	if a.Status != http.StatusOK {
		return "", "", fmt.Errorf("create receiver: %s", a)
	}
	if err := json.Unmarshal(a.Body, &r); err != nil {
		return "", "", fmt.Errorf("decode created receiver: %w: %s", err, a.Body)
	}
	if r.ID == "" || !strings.HasPrefix(r.URL, e.apiURL+"/v1-webhooks/endpoint?key=") {
		return "", "", fmt.Errorf("created receiver has no id or a trigger URL off the public URL: %s", a.Body)
	}
	return r.ID, r.URL, nil
}

// rcvCallCount counts the REST calls cattlesim logged in a window, by method.
type rcvCallCount struct {
	total, get, put, post, other int
	// matched counts the calls for which the window's filter held.
	matched int
}

// callMark is the index the next logged call will get.
func (e *rcvEnv) callMark() int {
	_, next := e.sim.CallsSince(1 << 62)
	return next
}

// callsBetween returns the calls logged with index in [from, to); an error if the bounded log already dropped
// some of them (the count would be short).
func (e *rcvEnv) callsBetween(from, to int) ([]cattlesim.Call, error) {
	calls, next := e.sim.CallsSince(from)
	if got := next - from; len(calls) != got {
		return nil, fmt.Errorf("cattlesim's call log dropped %d of the %d calls since %d", got-len(calls), got, from)
	}
	return calls[:to-from], nil
}

// countCalls counts the calls in [from, to) by method; matched counts those for which keep holds (nil: none).
func (e *rcvEnv) countCalls(from, to int, keep func(cattlesim.Call) bool) (rcvCallCount, error) {
	calls, err := e.callsBetween(from, to)
	if err != nil {
		return rcvCallCount{}, err
	}
	var c rcvCallCount
	for _, call := range calls {
		c.total++
		switch call.Method {
		case http.MethodGet:
			c.get++
		case http.MethodPut:
			c.put++
		case http.MethodPost:
			c.post++
		default:
			c.other++
		}
		if keep != nil && keep(call) {
			c.matched++
		}
	}
	return c, nil
}
