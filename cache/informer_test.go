package cache

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

const waitFor = 10 * time.Second

// apply delivers a resource.change for raw as the subscriber's handler would.
func apply(t *testing.T, inf *Informer, resourceType, id string, raw json.RawMessage) {
	t.Helper()
	if err := inf.ApplyEvent(resourceType, id, eventData(t, raw)); err != nil {
		t.Fatalf("apply %s %s: %v", resourceType, id, err)
	}
}

func waitRelists(t *testing.T, inf *Informer, n int64) {
	t.Helper()
	eventually(t, waitFor, func() bool { return inf.Relists() >= n }, "relist count")
}

func TestNewInformerValidates(t *testing.T) {
	s, _ := newTestStore(t)
	if _, err := NewInformer(InformerOptions{Source: newFakeSource()}); err == nil {
		t.Error("no store: want an error")
	}
	if _, err := NewInformer(InformerOptions{Store: s}); err == nil {
		t.Error("no source: want an error")
	}
}

func TestInformerFirstSync(t *testing.T) {
	src := newFakeSource()
	src.set("service", "1s1", serviceJSON(t, "1s1", "v1", lc("docker:nginx", map[string]string{"app": "web"})))
	src.set("service", "1s2", serviceJSON(t, "1s2", "v1", lc("docker:redis", nil)))
	src.set("host", "1h1", hostJSON(t, "1h1", "v1", map[string]string{"pool": "workers"}))
	src.set("instance", "1i1", instanceJSON(t, "1i1", "v1", "1s1"))
	src.set("genericObject", "1go1", receiverJSON(t, "1go1", "v1", "k1"))
	inf, s, log := newTestInformer(t, src, nil)
	if inf.Synced() || !inf.LastSync().IsZero() {
		t.Fatal("synced before Run")
	}
	runInformer(t, inf)
	eventually(t, waitFor, inf.Synced, "first sync")

	want := map[string]int{KindService: 2, KindHost: 1, KindInstance: 1, KindReceiver: 1}
	for k, n := range want {
		if s.Len(k) != n {
			t.Errorf("%s: %d cached, want %d", k, s.Len(k), n)
		}
	}
	if inf.LastSync().IsZero() || inf.Relists() != 1 {
		t.Errorf("after first sync LastSync=%v Relists=%d", inf.LastSync(), inf.Relists())
	}
	if got := len(log.all()); got != 5 {
		t.Errorf("OnChange called %d times, want once per object (5): %v", got, log.all())
	}
	// Receivers are genericObjects of one kind: the list asks for that kind only.
	src.mu.Lock()
	opts := src.listOpts["genericObject"]
	src.mu.Unlock()
	if len(opts) == 0 || opts[0].Filters.Get("kind") != ReceiverKind {
		t.Errorf("genericObject list options = %+v, want filter kind=%s", opts, ReceiverKind)
	}
	if opts[0].Limit <= 0 {
		t.Errorf("relist page limit %d, want the configured (positive) page size", opts[0].Limit)
	}
}

func TestInformerAppliesEventsLive(t *testing.T) {
	src := newFakeSource()
	src.set("service", "1s1", serviceJSON(t, "1s1", "v1", lc("docker:nginx", nil)))
	inf, s, log := newTestInformer(t, src, nil)
	runInformer(t, inf)
	eventually(t, waitFor, inf.Synced, "first sync")
	before := len(log.all())

	apply(t, inf, "service", "1s1", serviceJSON(t, "1s1", "v2", lc("docker:nginx", nil)))
	if got := serviceVersion(s, "1s1"); got != "v2" {
		t.Fatalf("live event not applied: %q", got)
	}
	// A subtype's resourceType maps to its base kind.
	lb := mustJSON(t, map[string]any{"id": "1s2", "type": "loadBalancerService", "baseType": "service", "state": "active"})
	apply(t, inf, "loadBalancerService", "1s2", lb)
	if _, ok := s.Service("1s2"); !ok {
		t.Fatal("loadBalancerService event not cached as a service")
	}
	// Without resourceType the rendering's baseType decides.
	apply(t, inf, "", "", hostJSON(t, "1h1", "v1", nil))
	if _, ok := s.Host("1h1"); !ok {
		t.Fatal("event without resourceType not cached by its baseType")
	}
	// Types the cache does not keep are ignored without error.
	stack := mustJSON(t, map[string]any{"id": "1st1", "type": "stack", "baseType": "stack", "state": "active"})
	apply(t, inf, "stack", "1st1", stack)
	// Repeating an identical event is no change.
	apply(t, inf, "service", "1s1", serviceJSON(t, "1s1", "v2", lc("docker:nginx", nil)))
	apply(t, inf, "service", "1s1", removedJSON(t, "1s1", "service"))
	if _, ok := s.Service("1s1"); ok {
		t.Fatal("removed service still cached")
	}
	got := log.all()[before:]
	want := []Change{
		{Kind: KindService, ID: "1s1"},
		{Kind: KindService, ID: "1s2"},
		{Kind: KindHost, ID: "1h1"},
		{Kind: KindService, ID: "1s1", Deleted: true},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("changes = %+v, want %+v", got, want)
	}
}

// TestInformerEventDuringListWins: a list row rendered before an event must not overwrite that event.
func TestInformerEventDuringListWins(t *testing.T) {
	src := newFakeSource()
	src.set("service", "1s1", serviceJSON(t, "1s1", "v1", lc("docker:nginx", nil)))
	g := newGate()
	src.hooks(func(ctx context.Context, schema string) error {
		if schema == "service" {
			return g.wait(ctx, "list service")
		}
		return nil
	}, nil)
	inf, s, _ := newTestInformer(t, src, nil)
	runInformer(t, inf)
	simtest.Recv(t, g.entered, waitFor, "service list in flight")

	// The list answer (v1) is rendered; now the object changes and its event arrives before the answer.
	v2 := serviceJSON(t, "1s1", "v2", lc("docker:nginx", nil))
	src.set("service", "1s1", v2)
	apply(t, inf, "service", "1s1", v2)
	if _, ok := s.Service("1s1"); ok {
		t.Fatal("an event during the relist was applied before the relist")
	}
	g.open(t)
	eventually(t, waitFor, inf.Synced, "first sync")
	if got := serviceVersion(s, "1s1"); got != "v2" {
		t.Fatalf("after relist 1s1 = %q, want v2 (the stale list row won)", got)
	}
	if !slices.Contains(src.byIDCalls(), "service/1s1") {
		t.Fatal("the object named by an event during the relist was not re-read")
	}
}

// TestInformerResyncDuringRelistKeepsEvents is the regression test for a second (re)connect arriving while a
// relist runs: the first relist used to clear the "recording" flag when it went live, so events during the
// second relist's list were applied and then overwritten by its older rows.
func TestInformerResyncDuringRelistKeepsEvents(t *testing.T) {
	src := newFakeSource()
	src.set("service", "1s1", serviceJSON(t, "1s1", "v1", lc("docker:nginx", nil)))
	inf, s, _ := newTestInformer(t, src, nil)
	runInformer(t, inf)
	waitRelists(t, inf, 1)

	g := newGate()
	src.hooks(func(ctx context.Context, schema string) error {
		if schema == "service" {
			return g.wait(ctx, "list service")
		}
		return nil
	}, nil)
	inf.Resync() // connection 2: relist A
	simtest.Recv(t, g.entered, waitFor, "relist A in flight")
	inf.Resync() // connection 3 while A runs: relist B must follow
	g.open(t)
	simtest.Recv(t, g.entered, waitFor, "relist B in flight") // A is done and live; B's list (v1) is rendered

	v2 := serviceJSON(t, "1s1", "v2", lc("docker:nginx", nil))
	src.set("service", "1s1", v2)
	apply(t, inf, "service", "1s1", v2)
	g.open(t)
	waitRelists(t, inf, 3)
	if got := serviceVersion(s, "1s1"); got != "v2" {
		t.Fatalf("1s1 = %q after relist B, want v2: an older list row overwrote a newer event", got)
	}
}

// TestInformerLiveEventWinsOverInFlightRefresh covers the last refresh round, which runs live: an event applied
// while a re-read of the same object is in flight must not be overwritten by that (older) read.
func TestInformerLiveEventWinsOverInFlightRefresh(t *testing.T) {
	src := newFakeSource()
	src.set("service", "1s1", serviceJSON(t, "1s1", "v1", lc("docker:a", nil)))
	src.set("service", "1s2", serviceJSON(t, "1s2", "v1", lc("docker:b", nil)))
	inf, s, _ := newTestInformer(t, src, func(o *InformerOptions) { o.MaxRefreshRounds = 1 })
	runInformer(t, inf)
	waitRelists(t, inf, 1)

	listGate, readGate := newGate(), newGate()
	src.hooks(func(ctx context.Context, schema string) error {
		if schema == "service" {
			return listGate.wait(ctx, schema)
		}
		return nil
	}, func(ctx context.Context, _, id string) error {
		return readGate.wait(ctx, id)
	})
	inf.Resync()
	simtest.Recv(t, listGate.entered, waitFor, "list in flight")
	set := func(id, version string) {
		raw := serviceJSON(t, id, version, lc("docker:x", nil))
		src.set("service", id, raw)
		apply(t, inf, "service", id, raw)
	}
	set("1s1", "v2") // recorded: round 1 re-reads 1s1
	listGate.open(t)

	if id := simtest.Recv(t, readGate.entered, waitFor, "round 1 read"); id != "1s1" {
		t.Fatalf("round 1 read %s, want 1s1", id)
	}
	set("1s2", "v2") // still recording: round 2 (the last, live) re-reads 1s2
	readGate.open(t)

	if id := simtest.Recv(t, readGate.entered, waitFor, "round 2 read"); id != "1s2" {
		t.Fatalf("round 2 read %s, want 1s2", id)
	}
	// The read of 1s2 rendered v2; the informer is live, so v3 applies at once, before the read returns.
	set("1s2", "v3")
	if got := serviceVersion(s, "1s2"); got != "v3" {
		t.Fatalf("live event during the last round not applied: %q", got)
	}
	readGate.open(t)
	waitRelists(t, inf, 2)
	if got := serviceVersion(s, "1s2"); got != "v3" {
		t.Fatalf("1s2 = %q, want v3: the in-flight read moved it back", got)
	}
	if got := serviceVersion(s, "1s1"); got != "v2" {
		t.Fatalf("1s1 = %q, want v2", got)
	}
	src.hooks(nil, nil)
	// Live again: events apply directly.
	set("1s1", "v4")
	if got := serviceVersion(s, "1s1"); got != "v4" {
		t.Fatalf("after the relist 1s1 = %q, want v4", got)
	}
}

func TestInformerRelistDeletesWhatIsGone(t *testing.T) {
	src := newFakeSource()
	src.set("service", "1s1", serviceJSON(t, "1s1", "v1", lc("docker:a", nil)))
	src.set("service", "1s2", serviceJSON(t, "1s2", "v1", lc("docker:a", nil)))
	src.set("host", "1h1", hostJSON(t, "1h1", "v1", nil))
	inf, s, log := newTestInformer(t, src, nil)
	runInformer(t, inf)
	waitRelists(t, inf, 1)
	before := len(log.all())

	g := newGate()
	src.hooks(func(ctx context.Context, schema string) error {
		if schema == "host" {
			return g.wait(ctx, schema)
		}
		return nil
	}, nil)
	// 1s2 disappears without an event (missed while disconnected); 1h1 is removed during the relist.
	src.set("service", "1s2", nil)
	inf.Resync()
	simtest.Recv(t, g.entered, waitFor, "host list in flight")
	src.set("host", "1h1", nil)
	apply(t, inf, "host", "1h1", removedJSON(t, "1h1", "host"))
	g.open(t)
	waitRelists(t, inf, 2)
	if _, ok := s.Service("1s2"); ok {
		t.Error("a service gone from Cattle survived the relist")
	}
	if _, ok := s.Host("1h1"); ok {
		t.Error("a host removed during the relist survived it (404 on re-read must delete)")
	}
	got := log.all()[before:]
	for _, want := range []Change{{Kind: KindService, ID: "1s2", Deleted: true}, {Kind: KindHost, ID: "1h1", Deleted: true}} {
		if !slices.Contains(got, want) {
			t.Errorf("changes %+v lack %+v", got, want)
		}
	}
}

func TestInformerMalformedEventIsAnErrorAndRepaired(t *testing.T) {
	src := newFakeSource()
	src.set("service", "1s1", serviceJSON(t, "1s1", "v1", lc("docker:a", nil)))
	inf, s, _ := newTestInformer(t, src, nil)
	runInformer(t, inf)
	waitRelists(t, inf, 1)

	// Each case goes through ApplyEvent with data (unless nil) and through ApplyResource with resource, what
	// decoding the frame finds in data (unless dataOnly: no frame with such data decodes).
	cases := []struct {
		name     string
		data     json.RawMessage
		resource json.RawMessage
		dataOnly bool
		want     string
	}{
		{"data not json", json.RawMessage(`{"resource":`), nil, true, "decode resource.change data"},
		{"no resource", json.RawMessage(`{"other":1}`), nil, false, "carries no resource"},
		{"null resource", json.RawMessage(`{"resource":null}`), json.RawMessage(`null`), false, "carries no resource"},
		{"resource not an object", json.RawMessage(`{"resource":"1s1"}`), json.RawMessage(`"1s1"`), false,
			"decode resource.change resource: service 1s1 is rendered as a JSON string, not an object"},
		{"resource does not decode", json.RawMessage(`{"resource":{"id":"1s1","type":"service","scale":"x"}}`),
			json.RawMessage(`{"id":"1s1","type":"service","scale":"x"}`), false, "decode service"},
		// Only a direct caller of ApplyResource can pass these: a frame's decode rejects them.
		{"resource not json", nil, json.RawMessage(`nope`), false,
			"decode resource.change resource: service 1s1 is rendered as invalid JSON"},
		{"resource object not json", nil, json.RawMessage(`{"id":"1s1",`), false, "decode service"},
	}
	type entry struct {
		name  string
		apply func() error
		want  string
	}
	var entries []entry
	for _, tc := range cases {
		if tc.data != nil {
			entries = append(entries, entry{"ApplyEvent/" + tc.name,
				func() error { return inf.ApplyEvent("service", "1s1", tc.data) }, tc.want})
		}
		if !tc.dataOnly {
			entries = append(entries, entry{"ApplyResource/" + tc.name,
				func() error { return inf.ApplyResource("service", "1s1", tc.resource) }, tc.want})
		}
	}
	for n, tc := range entries {
		t.Run(tc.name, func(t *testing.T) {
			relists := inf.Relists()
			// Cattle has moved on; the event that should have said so is garbage.
			version := "v" + strconv.Itoa(2+n)
			src.set("service", "1s1", serviceJSON(t, "1s1", version, lc("docker:a", nil)))
			err := tc.apply()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			// Nothing lost: the cached copy is intact, and the object is re-read rather than left stale.
			if got := serviceVersion(s, "1s1"); got == "" {
				t.Fatal("the malformed event deleted the cached object")
			}
			waitRelists(t, inf, relists+1)
			eventually(t, waitFor, func() bool { return serviceVersion(s, "1s1") == version },
				"object named by a malformed event re-read")
		})
	}
	// Garbage for a type the cache does not keep is still an error, and triggers nothing.
	relists := inf.Relists()
	if err := inf.ApplyEvent("stack", "1st1", json.RawMessage(`nope`)); err == nil {
		t.Fatal("undecodable event for an uncached type: want an error")
	}
	if inf.Relists() != relists {
		t.Fatal("garbage for an uncached type started a relist")
	}
}

// TestInformerUndecodableObjectDoesNotWedge: an object Cattle serves in a shape the cache cannot decode used to
// fail every refresh, so the informer retried the relist forever and never went live again.
func TestInformerUndecodableObjectDoesNotWedge(t *testing.T) {
	bad := json.RawMessage(`{"id":"1s1","type":"service","baseType":"service","scale":"lots"}`)
	src := newFakeSource()
	src.set("service", "1s1", bad)
	inf, s, _ := newTestInformer(t, src, nil)
	runInformer(t, inf)
	waitRelists(t, inf, 1)

	if err := inf.ApplyEvent("service", "1s1", eventData(t, bad)); err == nil {
		t.Fatal("undecodable event: want an error")
	}
	waitRelists(t, inf, 2) // the repair relist re-read 1s1, failed to decode it, and still finished
	if !slices.Contains(src.byIDCalls(), "service/1s1") {
		t.Fatal("the undecodable object was not re-read")
	}
	apply(t, inf, "service", "1s2", serviceJSON(t, "1s2", "v1", lc("docker:a", nil)))
	if _, ok := s.Service("1s2"); !ok {
		t.Fatal("informer is not live after meeting an undecodable object")
	}
}

func TestInformerRetriesFailedRelist(t *testing.T) {
	src := newFakeSource()
	src.set("host", "1h1", hostJSON(t, "1h1", "v1", nil))
	var failures atomic.Int32
	src.hooks(func(_ context.Context, schema string) error {
		if schema == "host" && failures.Add(1) <= 3 {
			return errors.New("503 service unavailable")
		}
		return nil
	}, nil)
	inf, s, _ := newTestInformer(t, src, nil)
	runInformer(t, inf)
	// An event while the relist keeps failing is kept for the refresh, not lost.
	apply(t, inf, "service", "1s9", serviceJSON(t, "1s9", "v1", lc("docker:a", nil)))
	src.set("service", "1s9", serviceJSON(t, "1s9", "v1", lc("docker:a", nil)))
	eventually(t, waitFor, inf.Synced, "sync after failed relists")
	if n := failures.Load(); n < 4 {
		t.Fatalf("host list called %d times, want 3 failures then success", n)
	}
	if _, ok := s.Host("1h1"); !ok {
		t.Fatal("host missing after the relist succeeded")
	}
	if _, ok := s.Service("1s9"); !ok {
		t.Fatal("service named by an event during the failing relists missing")
	}
}

func TestInformerPeriodicResyncRepairsMissedEvents(t *testing.T) {
	src := newFakeSource()
	src.set("service", "1s1", serviceJSON(t, "1s1", "v1", lc("docker:a", nil)))
	inf, s, _ := newTestInformer(t, src, func(o *InformerOptions) { o.ResyncInterval = 20 * time.Millisecond })
	runInformer(t, inf)
	waitRelists(t, inf, 1)
	// A change whose event never arrived.
	src.set("service", "1s1", serviceJSON(t, "1s1", "v2", lc("docker:a", nil)))
	eventually(t, waitFor, func() bool { return serviceVersion(s, "1s1") == "v2" }, "resync picks up a missed change")
	waitRelists(t, inf, 3)
}

func TestInformerOnConnectRelists(t *testing.T) {
	src := newFakeSource()
	src.set("host", "1h1", hostJSON(t, "1h1", "v1", nil))
	inf, s, _ := newTestInformer(t, src, nil)
	runInformer(t, inf)
	waitRelists(t, inf, 1)
	src.set("host", "1h2", hostJSON(t, "1h2", "v1", nil)) // created while disconnected
	if err := inf.OnConnect(context.Background(), 2); err != nil {
		t.Fatalf("on connect: %v", err)
	}
	waitRelists(t, inf, 2)
	if _, ok := s.Host("1h2"); !ok {
		t.Fatal("reconnect relist did not pick up a host created while disconnected")
	}
}

func TestInformerRunStopsDuringBlockedRelist(t *testing.T) {
	src := newFakeSource()
	g := newGate()
	src.hooks(func(ctx context.Context, _ string) error { return g.wait(ctx, "list") }, nil)
	inf, _, _ := newTestInformer(t, src, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inf.Run(ctx) }()
	simtest.Recv(t, g.entered, waitFor, "list in flight")
	cancel()
	if err := simtest.Recv(t, done, waitFor, "Run to return"); err != nil {
		t.Fatalf("Run = %v, want nil on cancel", err)
	}
	if inf.Synced() {
		t.Fatal("synced without a completed relist")
	}
}

// TestInformerWaitForConnect: with a subscriber, the first list must come after the subscription is up, so
// Run waits for OnConnect instead of listing at once (and listing twice at every start).
func TestInformerWaitForConnect(t *testing.T) {
	src := newFakeSource()
	src.set("host", "1h1", hostJSON(t, "1h1", "v1", nil))
	inf, s, _ := newTestInformer(t, src, func(o *InformerOptions) { o.WaitForConnect = true })
	runInformer(t, inf)
	// Live before the first connect: events apply (there is nothing to protect yet).
	apply(t, inf, "service", "1s1", serviceJSON(t, "1s1", "v1", lc("docker:a", nil)))
	if inf.Synced() || inf.Relists() != 0 {
		t.Fatalf("relisted before any connect: synced=%v relists=%d", inf.Synced(), inf.Relists())
	}
	src.mu.Lock()
	listed := len(src.listOpts)
	src.mu.Unlock()
	if listed != 0 {
		t.Fatalf("listed %d kinds before any connect", listed)
	}
	if err := inf.OnConnect(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	waitRelists(t, inf, 1)
	if _, ok := s.Host("1h1"); !ok {
		t.Fatal("first relist after connect did not fill the cache")
	}
	if _, ok := s.Service("1s1"); ok {
		t.Fatal("a service Cattle does not list survived the first relist")
	}
}

// TestInformerListsByIDPages: relists walk each kind in pages of PageSize, each page asking for the ids after
// the last one seen, so a row removed from an earlier page cannot shift a later one out of the listing.
func TestInformerListsByIDPages(t *testing.T) {
	src := newFakeSource()
	for n := 1; n <= 10; n++ {
		id := "1h" + strconv.Itoa(n)
		src.set("host", id, hostJSON(t, id, "v1", nil))
	}
	inf, s, _ := newTestInformer(t, src, func(o *InformerOptions) { o.PageSize = 4 })
	runInformer(t, inf)
	waitRelists(t, inf, 1)
	if got := s.Len(KindHost); got != 10 {
		t.Fatalf("%d hosts cached, want 10", got)
	}
	src.mu.Lock()
	var afters []string
	for _, o := range src.listOpts["host"] {
		afters = append(afters, o.Filters.Get("id_gt"))
		if o.Limit != 4 {
			t.Errorf("page limit %d, want 4", o.Limit)
		}
	}
	src.mu.Unlock()
	// 10 rows in pages of 4: after nothing, after 1h4, after 1h8 (2 rows: the last page).
	if want := []string{"", "1h4", "1h8"}; !slices.Equal(afters, want) {
		t.Fatalf("pages asked for ids after %q, want %q", afters, want)
	}
}

// TestInformerFallsBackToOffsetPaging: a server that ignores id_gt would hand out the first page forever; the
// informer notices and lists by offset instead.
func TestInformerFallsBackToOffsetPaging(t *testing.T) {
	src := newFakeSource()
	src.ignoreIDFilter = true
	for n := 1; n <= 10; n++ {
		id := "1h" + strconv.Itoa(n)
		src.set("host", id, hostJSON(t, id, "v1", nil))
	}
	inf, s, _ := newTestInformer(t, src, func(o *InformerOptions) { o.PageSize = 4 })
	runInformer(t, inf)
	waitRelists(t, inf, 1)
	if got := s.Len(KindHost); got != 10 {
		t.Fatalf("%d hosts cached from the offset listing, want 10", got)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	opts := src.listOpts["host"]
	if n := len(opts); n != 3 {
		t.Fatalf("%d host list calls, want 3 (two keyset pages, then the offset listing)", n)
	}
	if last := opts[2]; last.Limit != 0 || last.Filters.Get("id_gt") != "" || last.PageSize != 4 {
		t.Fatalf("fallback list options %+v, want an offset listing with page size 4", last)
	}
}

// TestInformerEventNamesItsObject: the event's resourceType and resourceId say which object it carries, so the
// rendering is not probed for them; a rendering of another object than the one named is malformed, applied
// under neither id, and the named object is re-read.
func TestInformerEventNamesItsObject(t *testing.T) {
	src := newFakeSource()
	src.set("service", "1s1", serviceJSON(t, "1s1", "v1", lc("docker:a", nil)))
	inf, s, log := newTestInformer(t, src, nil)
	runInformer(t, inf)
	waitRelists(t, inf, 1)
	before := len(log.all())

	// A rendering without type or baseType: the event's resourceType alone decides the kind.
	bare := mustJSON(t, map[string]any{"id": "1s2", "state": "active", "description": "v1"})
	apply(t, inf, "service", "1s2", bare)
	if got := serviceVersion(s, "1s2"); got != "v1" {
		t.Fatalf("event named service 1s2 not cached: %q", got)
	}

	relists := inf.Relists()
	src.set("service", "1s1", serviceJSON(t, "1s1", "v2", lc("docker:a", nil)))
	err := inf.ApplyEvent("service", "1s1", eventData(t, serviceJSON(t, "1s3", "v1", lc("docker:a", nil))))
	if err == nil || !strings.Contains(err.Error(), "the rendering is of 1s3") {
		t.Fatalf("event for 1s1 carrying 1s3: error = %v, want the mismatch reported", err)
	}
	if _, ok := s.Service("1s3"); ok {
		t.Fatal("a rendering carried under another object's name was cached")
	}
	waitRelists(t, inf, relists+1)
	eventually(t, waitFor, func() bool { return serviceVersion(s, "1s1") == "v2" }, "named object re-read")
	if got := log.all()[before]; got != (Change{Kind: KindService, ID: "1s2"}) {
		t.Fatalf("first change = %+v, want service 1s2", got)
	}
}
