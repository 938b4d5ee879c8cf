package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/handlers"
	"github.com/rancher/scale-subscriber/internal/simtest"
)

// world is an in-process cattlesim serving a populated project 1a5 on a loopback httptest server.
type world struct {
	sim  *cattlesim.Sim
	srv  *httptest.Server
	key  cattlesim.Credential // environment key of 1a5
	info *cattlesim.PopulateInfo
}

// newWorld starts cattlesim with flush as its resource.change tick, seeds the empty projects and populates
// 1a5. Everything stops when tb's cleanups run.
func newWorld(tb testing.TB, flush time.Duration, opts cattlesim.PopulateOptions) *world {
	tb.Helper()
	sim := cattlesim.New(cattlesim.Options{FlushInterval: flush, RandSeed: 1})
	seed, err := sim.Seed(cattlesim.SeedEmpty, cattlesim.SeedOptions{})
	if err != nil {
		sim.Close()
		tb.Fatalf("seed cattlesim: %v", err)
	}
	info, err := sim.Populate(cattlesim.DefaultProjectID, opts)
	if err != nil {
		sim.Close()
		tb.Fatalf("populate cattlesim: %v", err)
	}
	srv := httptest.NewServer(sim.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("cattlesim run: %v", err)
		}
		srv.Close()
		sim.Close()
	})
	return &world{sim: sim, srv: srv, key: seed.Credentials[0], info: info}
}

// toggler flips the healthState of containers between "healthy" and "updating-healthy". Both count as healthy
// for Cattle, so a flip changes the container and nothing else: no service or host is touched and no
// reconcile starts, and each flipped container yields exactly one resource.change per flush.
type toggler struct {
	sim   *cattlesim.Sim
	ids   []string
	state []string // current healthState of ids[i]
}

func newToggler(sim *cattlesim.Sim, ids []string) *toggler {
	t := &toggler{sim: sim, ids: ids, state: make([]string, len(ids))}
	for i := range t.state {
		t.state[i] = "healthy" // what Populate's containers settle to
	}
	return t
}

// flip changes the first n containers and returns what each now shows.
func (t *toggler) flip(n int) ([]string, error) {
	for i, id := range t.ids[:n] {
		next := "updating-healthy"
		if t.state[i] == next {
			next = "healthy"
		}
		if err := t.sim.SetContainerHealth(id, next); err != nil {
			return nil, err
		}
		t.state[i] = next
	}
	return t.state[:n], nil
}

// pollInterval is how often waits re-check their condition: short next to a round (tens of milliseconds), and
// the same for every consumer, so it biases none of them.
const pollInterval = 200 * time.Microsecond

// waitUntil polls cond every pollInterval until it holds or timeout passes.
func waitUntil(timeout time.Duration, cond func() bool) error {
	return simtest.Until(timeout, pollInterval, cond)
}

// flushBarrier returns once every change made before it (Populate's creations) has been flushed by cattlesim's
// event hub, so no consumer connected afterwards receives any of them. It subscribes, flips one container and
// reads until that flip arrives: the flush that carried it took every change pending before it, and it took
// its list of subscribers when it started, before any later consumer existed.
func (w *world) flushBarrier(ctx context.Context, tog *toggler) error {
	return flushBarrier(ctx, w.sim, w.srv.URL, w.key, tog)
}

// flushBarrier is world.flushBarrier for a cattlesim served at baseURL.
func flushBarrier(ctx context.Context, sim *cattlesim.Sim, baseURL string, key cattlesim.Credential, tog *toggler) error {
	client, err := cattle.New(ctx, cattle.Options{URL: baseURL, AccessKey: key.AccessKey, SecretKey: key.SecretKey})
	if err != nil {
		return fmt.Errorf("flush barrier: connect cattle client: %w", err)
	}
	url, err := client.SubscribeURL(handlers.ResourceChangeEventName)
	if err != nil {
		return fmt.Errorf("flush barrier: %w", err)
	}
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, url, http.Header{"Authorization": {client.BasicAuthHeader()}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return fmt.Errorf("flush barrier: dial: %w", err)
	}
	defer func() { _ = conn.Close() }()
	if err := conn.SetReadDeadline(time.Now().Add(startupTimeout)); err != nil {
		return fmt.Errorf("flush barrier: %w", err)
	}
	// The hub may accept the upgrade before it registers the connection; wait until it is registered so the
	// flip cannot be flushed before this subscriber is known.
	if err := waitUntil(startupTimeout, func() bool { return sim.Subscribers() == 1 }); err != nil {
		return fmt.Errorf("flush barrier: subscription not registered: %w", err)
	}
	states, err := tog.flip(1)
	if err != nil {
		return fmt.Errorf("flush barrier: flip: %w", err)
	}
	for {
		_, frame, err := conn.ReadMessage()
		if err != nil {
			return fmt.Errorf("flush barrier: read: %w", err)
		}
		var ev struct {
			Name       string `json:"name"`
			ResourceID string `json:"resourceId"`
			Data       struct {
				Resource struct {
					HealthState string `json:"healthState"`
				} `json:"resource"`
			} `json:"data"`
		}
		if err := json.Unmarshal(frame, &ev); err != nil {
			return fmt.Errorf("flush barrier: decode: %w", err)
		}
		if ev.Name == handlers.ResourceChangeEventName && ev.ResourceID == tog.ids[0] &&
			ev.Data.Resource.HealthState == states[0] {
			return nil
		}
	}
}
