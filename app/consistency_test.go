package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/handlers"
	"github.com/rancher/scale-subscriber/internal/simtest"
)

// The consistency tests run the whole subscriber against cattlesim and compare its cache with a full REST
// listing of cattlesim (the truth). Periodic resync is off, so the cache can only be right through the event
// stream and the relist each (re)connect makes.

const consistentWithin = 60 * time.Second

// TestCacheFollowsCreatesUpdatesRemoves: with one connection for the whole test (no relist after the first),
// every create, update and removal of services, hosts, containers and receivers reaches the cache as events.
func TestCacheFollowsCreatesUpdatesRemoves(t *testing.T) {
	env := startSim(t, cattlesim.SeedDemo, fastSim())
	a := startApp(t, testConfig(env), fastBackoff, nil)
	w := newWorld(t, env)
	ctx := context.Background()
	base := waitConsistent(t, env, a, consistentWithin)
	if len(base[cache.KindService]) == 0 || len(base[cache.KindHost]) == 0 || len(base[cache.KindInstance]) == 0 {
		t.Fatalf("demo world not cached: %s", base.counts())
	}

	// Creates.
	svc, err := w.createService(ctx, "web2", "docker:nginx:1.14", 2, map[string]string{"App": "Web2"})
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := w.createReceiver(ctx, "hook")
	if err != nil {
		t.Fatal(err)
	}
	ctr, err := w.createContainer(ctx, "standalone")
	if err != nil {
		t.Fatal(err)
	}
	host, err := w.createHost(ctx, "extra-01")
	if err != nil {
		t.Fatal(err)
	}
	settle(t, env, "creates", serviceSettled(env, svc.ID, 2), hostIn(env, host.ID, "active"))
	waitConsistent(t, env, a, consistentWithin)
	store := a.Store()
	if got := store.ServicesMatching(map[string]string{"app": "web2"}); len(got) != 1 || got[0].ID != svc.ID {
		t.Errorf("label index does not find the new service %s: %v", svc.ID, got)
	}
	if got := store.ServicesWithRepository("nginx"); !containsService(got, svc.ID) {
		t.Errorf("repository index does not find the new service %s", svc.ID)
	}
	if got, ok := store.ReceiverByKey(rcv.Key); !ok || got.ID != rcv.ID {
		t.Errorf("receiver %s not found by its key", rcv.ID)
	}
	if got := store.InstancesOfService(svc.ID); len(got) != 2 {
		t.Errorf("service %s has %d cached instances, want its 2 containers", svc.ID, len(got))
	}

	// Updates: a plain field, a scale change (containers follow), host labels, a container field.
	fresh, err := env.client.GetService(ctx, svc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.update(ctx, &fresh.Resource, map[string]any{"description": "updated", "scale": 3}); err != nil {
		t.Fatal(err)
	}
	freshHost := waitHostState(t, env, host.ID, "active")
	if err := w.update(ctx, &freshHost.Resource, map[string]any{"labels": map[string]string{"pool": "moved"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.update(ctx, &ctr.Resource, map[string]any{"description": "touched"}); err != nil {
		t.Fatal(err)
	}
	settle(t, env, "updates", serviceSettled(env, svc.ID, 3), hostIn(env, host.ID, "active"))
	waitConsistent(t, env, a, consistentWithin)
	if got := store.HostsMatching(map[string]string{"pool": "moved"}); len(got) != 1 || got[0].ID != host.ID {
		t.Errorf("host %s not found under its new label: %v", host.ID, got)
	}
	if got := store.InstancesOfService(svc.ID); len(got) != 3 {
		t.Errorf("service %s has %d cached instances after scale 3", svc.ID, len(got))
	}

	// Removes (an active host must be deactivated first, as in Cattle).
	for _, r := range []*cattle.Resource{&fresh.Resource, &rcv.Resource, &ctr.Resource} {
		if err := w.remove(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	freshHost = waitHostState(t, env, host.ID, "active")
	if err := env.client.Action(ctx, &freshHost.Resource, "deactivate", nil, nil); err != nil {
		t.Fatalf("deactivate host: %v", err)
	}
	freshHost = waitHostState(t, env, host.ID, "inactive")
	if err := w.remove(ctx, &freshHost.Resource); err != nil {
		t.Fatal(err)
	}
	settle(t, env, "removes", removed(env, "service", svc.ID), removed(env, "genericObject", rcv.ID),
		removed(env, "container", ctr.ID), removed(env, "host", host.ID))
	final := waitConsistent(t, env, a, consistentWithin)
	for kind, id := range map[string]string{cache.KindService: svc.ID, cache.KindReceiver: rcv.ID,
		cache.KindInstance: ctr.ID, cache.KindHost: host.ID} {
		if _, still := final[kind][id]; still {
			t.Errorf("%s %s still listed by cattle after removal", kind, id)
		}
	}
	if _, ok := store.ReceiverByKey(rcv.Key); ok {
		t.Error("removed receiver still found by key")
	}

	// All of it came through the event stream: one connection, one relist.
	if n := a.Informer().Relists(); n != 1 {
		t.Errorf("relists = %d, want 1 (the changes must arrive as events, not be repaired by relists)", n)
	}
	if n := simtest.Metric(t, a.Registry(), "scale_subscriber_websocket_reconnects_total", nil); n != 0 {
		t.Errorf("reconnects = %v, want 0", n)
	}
	if n := simtest.Metric(t, a.Registry(), "scale_subscriber_events_received_total",
		map[string]string{"name": handlers.ResourceChangeEventName}); n < 10 {
		t.Errorf("resource.change events received = %v, want the stream of the changes above", n)
	}
	for kind, n := range final {
		if got := simtest.Metric(t, a.Registry(), "scale_subscriber_cache_objects", map[string]string{"type": kind}); got != float64(len(n)) {
			t.Errorf("scale_subscriber_cache_objects{type=%q} = %v, want %d", kind, got, len(n))
		}
	}
}

func containsService(svcs []*cattle.Service, id string) bool {
	for _, s := range svcs {
		if s.ID == id {
			return true
		}
	}
	return false
}

// A check reports whether cattlesim has reached a state, and what it shows if not.
type check func(ctx context.Context) (bool, string)

// settle waits until every check holds: Cattle's processes are asynchronous, so a write's full effect (a
// service's new containers, a host's removal) appears some steps after the write returns.
func settle(t *testing.T, env *simEnv, what string, checks ...check) {
	t.Helper()
	simtest.Eventually(t, 30*time.Second, "cattlesim settled after "+what, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, c := range checks {
			if ok, why := c(ctx); !ok {
				return false, why
			}
		}
		return true, ""
	})
}

// serviceSettled: the service is active with n containers.
func serviceSettled(env *simEnv, id string, n int) check {
	return func(ctx context.Context) (bool, string) {
		svc, err := env.client.GetService(ctx, id)
		if err != nil {
			return false, err.Error()
		}
		return svc.State == "active" && len(svc.InstanceIDs) == n,
			fmt.Sprintf("service %s %s with %d containers", id, svc.State, len(svc.InstanceIDs))
	}
}

func hostIn(env *simEnv, id, state string) check {
	return func(ctx context.Context) (bool, string) {
		h, err := env.client.GetHost(ctx, id)
		if err != nil {
			return false, err.Error()
		}
		return h.State == state, fmt.Sprintf("host %s %s", id, h.State)
	}
}

// removed: GET by id shows the resource removed (or it is gone).
func removed(env *simEnv, schema, id string) check {
	return func(ctx context.Context) (bool, string) {
		var r cattle.Resource
		err := env.client.ByID(ctx, schema, id, &r)
		if errors.Is(err, cattle.ErrNotFound) {
			return true, ""
		}
		if err != nil {
			return false, err.Error()
		}
		return r.IsRemoved(), fmt.Sprintf("%s %s %s", schema, id, r.State)
	}
}

// waitHostState waits until cattlesim shows the host in state and returns it fresh (with that state's actions).
func waitHostState(t *testing.T, env *simEnv, id, state string) *cattle.Host {
	t.Helper()
	var h *cattle.Host
	simtest.Eventually(t, 20*time.Second, "host "+id+" "+state, func() (bool, string) {
		var err error
		h, err = env.client.GetHost(context.Background(), id)
		if err != nil {
			return false, err.Error()
		}
		return h.State == state, "state " + h.State
	})
	return h
}

// churner makes a bounded stream of changes in project 1a5 from several goroutines ("lanes"). Each lane owns
// its objects, so concurrent writers never race each other into 404s or 409s, and picks per change: a field
// update of a service, container or host over REST (most), a receiver or container replaced (created, then the
// oldest removed), a service scaled (containers follow asynchronously), or its host's agent state flipped
// through cattlesim's control API (what a host losing its agent looks like; no HTTP, so it is the cheap change
// that keeps 10,000 changes within the test's time budget under -race).
type churner struct {
	env     *simEnv
	w       *world
	done    atomic.Int64 // successful changes
	refused atomic.Int64 // writes cattlesim refused (an object in the wrong state): not changes
}

type lane struct {
	id         int
	host       *cattle.Host
	services   []*cattle.Service
	containers []*cattle.Instance
	receivers  []*cattle.GenericObject
	rng        *rand.Rand
	n          int
}

func newChurner(env *simEnv, w *world) *churner { return &churner{env: env, w: w} }

func (c *churner) newLane(ctx context.Context, id int) (*lane, error) {
	l := &lane{id: id, rng: rand.New(rand.NewPCG(uint64(id), 42))}
	var err error
	if l.host, err = c.w.createHost(ctx, fmt.Sprintf("churn-host-%d", id)); err != nil {
		return nil, err
	}
	for i := range 3 {
		svc, err := c.w.createService(ctx, fmt.Sprintf("churn-%d-%d", id, i), "docker:busybox:1.36", 1,
			map[string]string{"lane": fmt.Sprint(id)})
		if err != nil {
			return nil, err
		}
		l.services = append(l.services, svc)
	}
	for i := range 3 {
		ctr, err := c.w.createContainer(ctx, fmt.Sprintf("churn-%d-c%d", id, i))
		if err != nil {
			return nil, err
		}
		l.containers = append(l.containers, ctr)
		rcv, err := c.w.createReceiver(ctx, fmt.Sprintf("churn-%d-r%d", id, i))
		if err != nil {
			return nil, err
		}
		l.receivers = append(l.receivers, rcv)
	}
	return l, nil
}

// step makes one or two changes; refused writes are counted apart.
func (c *churner) step(ctx context.Context, l *lane) error {
	l.n++
	p := l.rng.IntN(100)
	desc := map[string]any{"description": fmt.Sprintf("d%d-%d", l.id, l.n)}
	changes := int64(1)
	var err error
	switch {
	case p < 35: // field update on a service
		err = c.w.update(ctx, &l.services[l.rng.IntN(len(l.services))].Resource, desc)
	case p < 55: // field update on a container
		err = c.w.update(ctx, &l.containers[l.rng.IntN(len(l.containers))].Resource, desc)
	case p < 65: // field update on a host
		err = c.w.update(ctx, &l.host.Resource, desc)
	case p < 85: // receiver replaced: one created, the oldest removed
		var rcv *cattle.GenericObject
		if rcv, err = c.w.createReceiver(ctx, fmt.Sprintf("churn-%d-r%d", l.id, l.n)); err == nil {
			old := l.receivers[0]
			l.receivers = append(l.receivers[1:], rcv)
			err, changes = c.w.remove(ctx, &old.Resource), 2
		}
	case p < 89: // container replaced
		var ctr *cattle.Instance
		if ctr, err = c.w.createContainer(ctx, fmt.Sprintf("churn-%d-c%d", l.id, l.n)); err == nil {
			old := l.containers[0]
			l.containers = append(l.containers[1:], ctr)
			err, changes = c.w.remove(ctx, &old.Resource), 2
		}
	case p < 90: // service scaled between 1 and 2
		err = c.w.update(ctx, &l.services[l.rng.IntN(len(l.services))].Resource, map[string]any{"scale": 1 + l.n%2})
	default: // the host's agent flips between disconnected and connected
		state := ""
		if l.n%2 == 0 {
			state = "disconnected"
		}
		err = c.env.sim.SetHostAgentState(l.host.ID, state)
	}
	var apiErr *cattle.APIError
	if errors.As(err, &apiErr) && (apiErr.Status == http.StatusConflict || apiErr.Status == http.StatusUnprocessableEntity) {
		c.refused.Add(1)
		return nil
	}
	if err != nil {
		return err
	}
	c.done.Add(changes)
	return nil
}

// made is how many writes were attempted so far (changes and refusals).
func (c *churner) made() int64 { return c.done.Load() + c.refused.Load() }

// run makes total changes over lanes goroutines, or stops at ctx's end; it returns the first hard error.
func (c *churner) run(ctx context.Context, lanes, total int) error {
	ls := make([]*lane, lanes)
	for i := range ls {
		l, err := c.newLane(ctx, i)
		if err != nil {
			return err
		}
		ls[i] = l
	}
	var wg sync.WaitGroup
	errs := make(chan error, lanes)
	for _, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.made() < int64(total) && ctx.Err() == nil {
				if err := c.step(ctx, l); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if c.made() < int64(total) {
		return fmt.Errorf("only %d of %d changes made: %w", c.made(), total, ctx.Err())
	}
	return nil
}

// TestCacheSurvivesWebsocketDropsDuringChanges: 100 abrupt websocket drops while 10,000 changes are made leave
// the cache equal to cattlesim's truth: every drop loses whatever was in flight, and the relist after each
// reconnect (subscribe first, then list, with the events during the list re-read) must repair all of it.
//
// The full 10,000 changes run without -race (about 5 s); under the race detector every change costs ~10 times
// more CPU across cattlesim, the client and the app, so the run makes 2,500 changes (still 25 per drop) to keep
// the package within its time budget on two cores.
func TestCacheSurvivesWebsocketDropsDuringChanges(t *testing.T) {
	const drops, lanes = 100, 1 // one writer: on two cores, concurrent writers only contend for cattlesim's lock
	changes := 10000
	if raceEnabled() {
		changes = 2500
	}
	env := startSim(t, cattlesim.SeedDemo, fastSim())
	a := startApp(t, testConfig(env), fastBackoff, nil)
	w := newWorld(t, env)
	c := newChurner(env, w)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	churnDone := make(chan error, 1)
	go func() { churnDone <- c.run(ctx, lanes, changes) }()

	// Spread the drops over the changes: drop i waits for its share of changes and for the subscriber to be
	// connected again (a drop with no connection would drop nothing).
	dropped, lastDrop := 0, time.Time{}
	for dropped < drops && ctx.Err() == nil {
		due := int64((dropped + 1) * changes / (drops + 1))
		if c.made() < due || env.sim.Subscribers() == 0 {
			select {
			case err := <-churnDone:
				churnDone <- err // put it back for the final wait
				if err != nil {
					t.Fatalf("changes failed after %d drops: %v", dropped, err)
				}
				if env.sim.Subscribers() == 0 {
					// All changes made: keep dropping as soon as each reconnect is up.
					simtest.Eventually(t, 20*time.Second, "reconnect", func() (bool, string) {
						return env.sim.Subscribers() > 0, "no subscription"
					})
				}
			case <-time.After(time.Millisecond):
				continue
			}
		}
		if n := env.sim.DropWebsockets(); n > 0 {
			dropped += n
			lastDrop = time.Now()
		}
	}
	if err := <-churnDone; err != nil {
		t.Fatalf("changes: %v", err)
	}
	if dropped < drops {
		t.Fatalf("only %d drops before the deadline", dropped)
	}
	t.Logf("%d changes (+%d refused writes), %d drops", c.done.Load(), c.refused.Load(), dropped)
	if got := c.done.Load(); got < int64(changes)*9/10 {
		t.Fatalf("only %d of %d writes were changes; the churn is not exercising the cache", got, changes)
	}

	// Heal: the last drop is followed by a reconnect and a relist that completes after it.
	reg := a.Registry()
	simtest.Eventually(t, 20*time.Second, "reconnected and relisted after the last drop", func() (bool, string) {
		n := simtest.Metric(t, reg, "scale_subscriber_websocket_reconnects_total", nil)
		up := a.Subscriber().Status().Connected
		return n >= drops && up && a.Informer().LastSync().After(lastDrop),
			fmt.Sprintf("reconnects %v, connected %v, last sync %v", n, up, a.Informer().LastSync())
	})
	final := waitConsistent(t, env, a, consistentWithin)
	t.Logf("final world: %s; %d relists (reconnects during a relist share the next one)", final.counts(),
		a.Informer().Relists())
}

// TestMaxConnectionLifetimeReconnectsHeal: cattlesim closes every subscription after a short lifetime, as
// Cattle does after ~12h; the subscriber reconnects by itself, each reconnect relists, and the cache stays
// equal to the truth through changes made across the reconnects.
func TestMaxConnectionLifetimeReconnectsHeal(t *testing.T) {
	const reconnects = 3
	opts := fastSim()
	opts.MaxConnectionLifetime = 300 * time.Millisecond
	env := startSim(t, cattlesim.SeedDemo, opts)
	a := startApp(t, testConfig(env), fastBackoff, nil)
	w := newWorld(t, env)
	c := newChurner(env, w)
	l, err := c.newLane(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reg := a.Registry()
	for steps := 0; simtest.Metric(t, reg, "scale_subscriber_websocket_reconnects_total", nil) < reconnects; steps++ {
		if steps == 20000 || ctx.Err() != nil {
			t.Fatalf("after %d changes only %v reconnects", steps,
				simtest.Metric(t, reg, "scale_subscriber_websocket_reconnects_total", nil))
		}
		if err := c.step(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	waitConsistent(t, env, a, consistentWithin)
	if n := a.Informer().Relists(); n < 2 {
		t.Errorf("relists = %d, want a relist after the reconnects", n)
	}
	// Healed: the subscription is up again and the healthcheck HAProxy polls says so.
	simtest.Eventually(t, 20*time.Second, "healthcheck 200 after the reconnects", func() (bool, string) {
		resp, err := http.Get(a.healthURL + "/healthcheck")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

// TestEventStormOnOneKeyStaysBounded: thousands of updates to one service while the only worker is busy
// coalesce into one waiting key: the queue never holds more than a handful of keys, nothing else piles up,
// and once the worker is free the service's key runs a few times, not once per event.
func TestEventStormOnOneKeyStaysBounded(t *testing.T) {
	const updates, queueBound, blockKind = 2000, 4, "stormblock"
	opts := fastSim()
	opts.FlushInterval = time.Millisecond // as little coalescing in cattlesim as it allows: the storm is ours
	env := startSim(t, cattlesim.SeedDemo, opts)
	stormID := env.info.Objects["1a5/service/web"]
	cfg := testConfig(env)
	cfg.Workers = 1
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	a := startApp(t, cfg, fastBackoff, func(a *App) {
		// A key kind of the test's own occupies the single worker for the whole storm.
		if err := a.Dispatcher().Register(blockKind, func(ctx context.Context, _ string) error {
			entered <- struct{}{}
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}); err != nil {
			t.Fatal(err)
		}
	})
	reg := a.Registry()
	serviceRuns := func() float64 {
		return simtest.Metric(t, reg, "scale_subscriber_handler_duration_seconds", map[string]string{"name": cache.KindService})
	}
	resourceChanges := func() float64 {
		return simtest.Metric(t, reg, "scale_subscriber_events_received_total",
			map[string]string{"name": handlers.ResourceChangeEventName})
	}
	// Let the keys of the first sync drain, then block the worker.
	simtest.Eventually(t, 20*time.Second, "first sync's keys processed", func() (bool, string) {
		return a.Queue().Len() == 0, fmt.Sprintf("queue %d", a.Queue().Len())
	})
	a.Queue().Add(blockKind + ":1")
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking key was never processed")
	}
	runsBefore, eventsBefore := serviceRuns(), resourceChanges()

	svc, err := env.client.GetService(context.Background(), stormID)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	maxQueue, maxPending := 0, 0
	for n := 1; n <= updates; n++ {
		if err := env.client.Update(ctx, &svc.Resource, map[string]any{"description": fmt.Sprintf("storm-%d", n)}, nil); err != nil {
			t.Fatalf("storm update %d: %v", n, err)
		}
		maxQueue, maxPending = max(maxQueue, a.Queue().Len()), max(maxPending, a.Pending().Len())
	}
	// The whole storm reaches the app: the cache ends on the last version.
	want := fmt.Sprintf("storm-%d", updates)
	simtest.Eventually(t, 20*time.Second, "storm delivered", func() (bool, string) {
		maxQueue, maxPending = max(maxQueue, a.Queue().Len()), max(maxPending, a.Pending().Len())
		cached, ok := a.Store().Service(stormID)
		if !ok {
			return false, "service not cached"
		}
		return cached.Description == want, fmt.Sprintf("cache has %q, want %q", cached.Description, want)
	})
	events := resourceChanges() - eventsBefore
	t.Logf("%d updates → %v resource.change events; max queue %d, max pending %d", updates, events, maxQueue, maxPending)
	// cattlesim coalesces the updates of each 1ms flush, so events are fewer than updates; a hundred events on
	// one key while it waits is already a storm the queue must absorb.
	if events < 100 {
		t.Fatalf("only %v events for %d updates: the storm did not reach the app", events, updates)
	}
	if maxQueue > queueBound {
		t.Errorf("queue reached %d keys during a storm on one key, want ≤ %d", maxQueue, queueBound)
	}
	if maxPending != 0 {
		t.Errorf("pending replies reached %d; resource.change expects none", maxPending)
	}
	if got := simtest.Metric(t, reg, "scale_subscriber_queue_depth", nil); got > queueBound {
		t.Errorf("scale_subscriber_queue_depth = %v during the storm", got)
	}
	if runs := serviceRuns() - runsBefore; runs != 0 {
		t.Fatalf("service keys ran %v times while the only worker was blocked", runs)
	}

	close(release)
	simtest.Eventually(t, 20*time.Second, "storm key processed", func() (bool, string) {
		return serviceRuns() > runsBefore && a.Queue().Len() == 0,
			fmt.Sprintf("service runs %v, queue %d", serviceRuns()-runsBefore, a.Queue().Len())
	})
	if runs := serviceRuns() - runsBefore; runs > 3 {
		t.Errorf("service keys ran %v times after %v events on one service, want the storm coalesced (≤ 3)", runs, events)
	}
}
