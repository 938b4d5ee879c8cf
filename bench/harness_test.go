package bench

import (
	"context"
	"testing"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
)

// The tests below run the benchmarks' machinery on tiny worlds so that `go test ./...` notices when it stops
// measuring what it claims (a consumer that never catches up, a replay that applies nothing, a relist that
// misses objects). They take a second or two; the benchmarks themselves only run with -bench.

// TestHarnessRoundsReachEveryConsumer runs two rounds of flips through each live consumer and checks each
// round is complete and exact (check: no extra event, no reconnect).
func TestHarnessRoundsReachEveryConsumer(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, throughputFlush, cattlesim.PopulateOptions{Containers: 40})
	tog := newToggler(w.sim, w.info.Containers)
	if err := w.flushBarrier(ctx, tog); err != nil {
		t.Fatal(err)
	}
	if err := waitUnsubscribed(w); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{consumerRaw, consumerSubscriber, consumerCache} {
		c, err := startConsumer(ctx, kind, w)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		// 70 events: a full round of 40 and a partial one of 30, as b.N rarely divides evenly.
		if err := runRounds(tog, c, 70); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
		if err := c.stop(); err != nil {
			t.Errorf("%s: stop: %v", kind, err)
		}
		if err := waitUnsubscribed(w); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
	}
	// The cache consumer's caughtUp reads the store; make sure it can say no.
	c, err := startConsumer(ctx, consumerCache, w)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.stop(); err != nil {
			t.Error(err)
		}
	}()
	c.expect(tog.ids[:1], []string{"no-such-health-state"})
	if c.caughtUp() {
		t.Error("cache consumer caught up with a state no container has")
	}
}

// TestHarnessReplayAppliesRecordedFrames records frames of service containers, replays them into an idle app
// and checks the cache shows what they say, and that a second pass changes every container again.
func TestHarnessReplayAppliesRecordedFrames(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, throughputFlush, cattlesim.PopulateOptions{Hosts: 2, Services: 5, Scale: 2})
	frames, err := recordFrames(ctx, w, newToggler(w.sim, w.info.Instances), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 2*len(w.info.Instances) {
		t.Fatalf("recorded %d frames, want %d", len(frames), 2*len(w.info.Instances))
	}
	a, err := newIdleApp(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{len(frames) / 2, len(frames) + 3} {
		if err := replay(ctx, a, frames, n); err != nil {
			t.Fatal(err)
		}
		if err := checkReplayed(a, frames, n); err != nil {
			t.Fatalf("after replaying %d frames: %v", n, err)
		}
	}
	if got := a.Store().Len(cache.KindInstance); got != len(w.info.Instances) {
		t.Errorf("cache holds %d instances, want %d", got, len(w.info.Instances))
	}
	// Replayed service containers enqueue their services' keys, as in production.
	if got := a.Queue().Len(); got != len(w.info.Services) {
		t.Errorf("queue holds %d keys, want one per service (%d)", got, len(w.info.Services))
	}
}

// TestHarnessRelistAgainstChildProcess starts the child cattlesim with a small world and relists it cold,
// warm and through a starting service, checking the cache holds all of it and the measurements read.
func TestHarnessRelistAgainstChildProcess(t *testing.T) {
	world := cattlesim.PopulateOptions{Hosts: 3, Services: 10, Scale: 2, Containers: 4}
	proc, err := startSimProcess(world)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := proc.stop(); err != nil {
			t.Error(err)
		}
	}()
	if proc.Hosts != 3 || proc.Services != 10 || proc.Instances != 24 {
		t.Fatalf("child announced %+v, want 3 hosts, 10 services, 24 instances", proc.simReady)
	}
	want := map[string]int{cache.KindService: 10, cache.KindHost: 3, cache.KindInstance: 24, cache.KindReceiver: 0}
	ctx := context.Background()
	client, err := cattle.New(ctx, cattle.Options{URL: proc.URL, AccessKey: proc.AccessKey, SecretKey: proc.SecretKey})
	if err != nil {
		t.Fatal(err)
	}

	inf, err := startInformer(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := inf.waitRelists(1); err != nil {
		t.Fatal(err)
	}
	if err := checkCounts(inf.store, want); err != nil {
		t.Error(err)
	}
	// A cold relist enqueues one key per service (its containers map to it too) and per host.
	if got := inf.queue.Len(); got != 13 {
		t.Errorf("cold relist queued %d keys, want 13", got)
	}
	inf.informer.Resync()
	if err := inf.waitRelists(2); err != nil {
		t.Fatal(err)
	}
	if err := inf.stop(); err != nil {
		t.Error(err)
	}
	if err := checkCounts(inf.store, want); err != nil {
		t.Error(err)
	}

	svc, err := startApp(ctx, proc.URL, proc.AccessKey, proc.SecretKey, relistPoll, relistTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkCounts(svc.app.Store(), want); err != nil {
		t.Error(err)
	}
	if err := svc.stop(); err != nil {
		t.Error(err)
	}

	if err := settleMemory(); err != nil {
		t.Fatal(err)
	}
	m, err := measureMemory()
	if err != nil {
		t.Fatal(err)
	}
	if m.heapInuse == 0 || m.rss == 0 || m.peakRSS < m.rss {
		t.Errorf("memory = %+v: heap and RSS must be positive and the peak at least the current RSS", m)
	}
	if cpu, err := processCPUTime(proc.cmd.Process.Pid); err != nil || cpu <= 0 {
		t.Errorf("child cattlesim CPU time = %v, %v; want a positive duration (it populated and served)", cpu, err)
	}
}
