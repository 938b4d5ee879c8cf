package execution

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/receivers"
	"github.com/rancher/scale-subscriber/upgrade"
)

// The decisions of a run, driven step by step from a fake cache: what cattlesim cannot show because its own
// upgrade loop already waits for healthy containers (an "upgraded" service whose new containers are not all
// healthy or not all known yet), the grace and the deadline under a fake clock, and which upgrades in flight
// are adopted after a restart.

// world is the fake Cattle, cache and queue of one executor. Services and instances are replaced whole, as the
// informer does.
type world struct {
	mu        sync.Mutex
	services  map[string]*cattle.Service
	instances map[string][]*cattle.Instance
	receivers map[string]*cattle.GenericObject
	actions   []string
	inputs    []any
	afters    []time.Duration
}

func newWorld() *world {
	return &world{services: map[string]*cattle.Service{}, instances: map[string][]*cattle.Instance{},
		receivers: map[string]*cattle.GenericObject{}}
}

func (w *world) GetService(context.Context, string) (*cattle.Service, error) {
	return nil, cattle.ErrNotFound
}
func (w *world) UpdateService(context.Context, *cattle.Service, map[string]any) (*cattle.Service, error) {
	return nil, fmt.Errorf("update not expected")
}

func (w *world) ServiceAction(_ context.Context, svc *cattle.Service, action string, input any) (*cattle.Service, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !svc.HasAction(action) {
		return nil, &cattle.ActionNotAvailableError{Action: action, ResourceID: svc.ID, State: svc.State}
	}
	w.actions = append(w.actions, action+" "+svc.ID)
	w.inputs = append(w.inputs, input)
	return svc, nil
}
func (w *world) ListHosts(context.Context, cattle.ListOptions) ([]cattle.Host, error) {
	return nil, nil
}
func (w *world) GetHost(context.Context, string) (*cattle.Host, error) {
	return nil, cattle.ErrNotFound
}
func (w *world) CreateHost(context.Context, any) (*cattle.Host, error) { return nil, nil }
func (w *world) CreateExternalHostEvent(context.Context, cattle.ExternalHostEvent) (*cattle.ExternalHostEvent, error) {
	return nil, nil
}

func (w *world) Service(id string) (*cattle.Service, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.services[id]
	return s, ok
}

func (w *world) ServicesWithRepository(string) []*cattle.Service { return nil }

func (w *world) InstancesOfService(id string) []*cattle.Instance {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.instances[id])
}

func (w *world) Receiver(id string) (*cattle.GenericObject, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.receivers[id]
	return r, ok
}

func (w *world) Add(string) {}
func (w *world) AddAfter(_ string, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.afters = append(w.afters, d)
}

func (w *world) actionList() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.actions)
}

func (w *world) lastAfter() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.afters) == 0 {
		return -1
	}
	return w.afters[len(w.afters)-1]
}

// serviceSpec describes the cached service 1s1.
type serviceSpec struct {
	state, transitioning string
	image, version       string
	marker               string
	// prevImage, prevVersion, prevMarker: the upgrade's record of the previous primary config (none when
	// prevVersion is "").
	prevImage, prevVersion, prevMarker string
	instanceIDs                        []string
}

// actionsFor are the service actions Cattle offers in a state (cattle-protocol.md §3.2).
func actionsFor(state string) []string {
	switch state {
	case "active":
		return []string{"upgrade", "update", "remove"}
	case "upgrading":
		return []string{"cancelupgrade", "rollback", "remove"}
	case "upgraded":
		return []string{"finishupgrade", "rollback", "remove"}
	}
	return []string{"remove"}
}

func (w *world) setService(t *testing.T, s serviceSpec) {
	t.Helper()
	labels := func(marker string) map[string]any {
		l := map[string]any{"app": "web"}
		if marker != "" {
			l[MarkerLabel] = marker
		}
		return l
	}
	actions := map[string]string{}
	for _, a := range actionsFor(s.state) {
		actions[a] = "http://cattle/v2-beta/projects/1a5/services/1s1/?action=" + a
	}
	if s.transitioning == "" {
		s.transitioning = "no"
	}
	m := map[string]any{"id": "1s1", "type": "service", "kind": "service", "state": s.state,
		"transitioning": s.transitioning, "transitioningMessage": "boom", "actions": actions, "scale": 2,
		"launchConfig": map[string]any{"imageUuid": s.image, "version": s.version, "labels": labels(s.marker)},
		"instanceIds":  s.instanceIDs}
	if s.prevVersion != "" {
		m["upgrade"] = map[string]any{"inServiceStrategy": map[string]any{"previousLaunchConfig": map[string]any{
			"imageUuid": s.prevImage, "version": s.prevVersion, "labels": labels(s.prevMarker)}}}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var svc cattle.Service
	if err := json.Unmarshal(b, &svc); err != nil {
		t.Fatalf("decode service: %v", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.services["1s1"] = &svc
}

// instance is a container of 1s1: id, launch config version, state and healthState.
func (w *world) setInstances(insts ...*cattle.Instance) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.instances["1s1"] = insts
}

func inst(id, version, state, health string) *cattle.Instance {
	return &cattle.Instance{Resource: cattle.Resource{ID: id, State: state}, Version: version, HealthState: health,
		ServiceIDs: []string{"1s1"}}
}

// Timeout is the client's request timeout the executor asks for.
func (w *world) Timeout() time.Duration { return cattle.DefaultTimeout }

// fixture is an executor on a world with a clock the test moves.
type fixture struct {
	w     *world
	x     *Executor
	now   time.Time
	final []Record
	mu    sync.Mutex
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{w: newWorld(), now: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	x, err := New(Options{Cattle: f.w, Cache: f.w, Queue: f.w, Router: events.NewRouter(events.RouterOptions{}),
		Now: func() time.Time {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.now
		},
		OnFinal: func(r Record) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.final = append(f.final, r)
		}})
	if err != nil {
		t.Fatal(err)
	}
	f.x = x
	return f
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fixture) finals() []Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.final)
}

// step reconciles service 1s1 once.
func (f *fixture) step(t *testing.T) {
	t.Helper()
	if err := f.x.stepUpgrade(context.Background(), "service:1s1", "1s1"); err != nil {
		t.Fatalf("step: %v", err)
	}
}

// push files a push of nginx:<tag> to 1s1 under the exact policy and returns its entry.
func (f *fixture) push(t *testing.T, tag string, s safety) *Entry {
	t.Helper()
	e := f.x.history.Start("1go4", "web-push", receivers.DriverServiceUpgrade, f.now)
	in := newIntent("service:1s1", e)
	p := upgrade.Push{Repository: "docker.io/library/nginx", Tag: tag, Image: "nginx:" + tag, Digest: "sha256:" + tag}
	in.upgrade = &upgradeWork{push: p, selector: map[string]string{"app": "web"}, policy: upgrade.ExactPolicy(tag),
		strategy: upgrade.Strategy{BatchSize: 1, IntervalMillis: 2000}, safety: s, receiverID: "1go4",
		dedupe: upgrade.KeyOf("1s1", p)}
	f.x.wantUpgrade("1s1", in)
	return e
}

// start files a push of nginx:1.14 on an active 1s1 and steps until the upgrade action; it returns the entry
// and the marker the upgrade carries.
func (f *fixture) start(t *testing.T, s safety) (*Entry, string) {
	t.Helper()
	f.w.setService(t, serviceSpec{state: "active", image: "docker:nginx:1.13", version: "0", instanceIDs: []string{"1i1"}})
	f.w.setInstances(inst("1i1", "0", "running", "healthy"))
	e := f.push(t, "1.14", s)
	f.step(t)
	if got := f.w.actionList(); !slices.Equal(got, []string{"upgrade 1s1"}) {
		t.Fatalf("actions %v, want the upgrade", got)
	}
	in, ok := f.w.inputs[0].(cattle.ServiceUpgrade)
	if !ok || in.InServiceStrategy == nil || in.InServiceStrategy.LaunchConfig == nil {
		t.Fatalf("upgrade input %#v", f.w.inputs[0])
	}
	marker := in.InServiceStrategy.LaunchConfig.Labels()[MarkerLabel]
	if !strings.HasPrefix(marker, "1go4/"+e.ID()+"/") {
		t.Fatalf("marker %q, want 1go4/%s/<ms>", marker, e.ID())
	}
	return e, marker
}

// upgraded is 1s1 after our upgrade: state, our marker, new version v2, the old primary recorded.
func upgraded(state, marker string, ids ...string) serviceSpec {
	return serviceSpec{state: state, image: "docker:nginx:1.14", version: "v2", marker: marker,
		prevImage: "docker:nginx:1.13", prevVersion: "0", instanceIDs: ids}
}

var defaultSafety = safety{finishTimeout: 600 * time.Second, grace: 60 * time.Second, rollback: true}

func stepMessages(r Record) []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Message)
	}
	return out
}

// An upgraded service is finished only when every new container is healthy and every container it lists is
// known: an initializing new container, or one the cache has not seen yet, holds the finish; the old, stopped
// container's health does not matter.
func TestFinishWaitsForEveryNewContainer(t *testing.T) {
	f := newFixture(t)
	e, marker := f.start(t, defaultSafety)
	if d := f.w.lastAfter(); d != 600*time.Second {
		t.Errorf("deadline timer %s, want 600s", d)
	}

	f.w.setService(t, upgraded("upgraded", marker, "1i1", "1i2", "1i3"))
	f.w.setInstances(inst("1i1", "0", "stopped", "unhealthy"), inst("1i2", "v2", "running", "healthy"),
		inst("1i3", "v2", "running", "initializing"))
	f.step(t)
	f.w.setService(t, upgraded("upgraded", marker, "1i1", "1i2", "1i3", "1i4"))
	f.w.setInstances(inst("1i1", "0", "stopped", "unhealthy"), inst("1i2", "v2", "running", "healthy"),
		inst("1i3", "v2", "running", ""))
	f.step(t)
	if got := f.w.actionList(); len(got) != 1 {
		t.Fatalf("actions %v: finished before every new container was healthy and known", got)
	}

	f.w.setService(t, upgraded("upgraded", marker, "1i1", "1i2", "1i3"))
	f.step(t)
	if got := f.w.actionList(); !slices.Equal(got, []string{"upgrade 1s1", "finishupgrade 1s1"}) {
		t.Fatalf("actions %v, want the finish once 2/2 new containers are healthy", got)
	}
	f.w.setService(t, upgraded("active", marker, "1i2", "1i3"))
	f.step(t)
	r := e.Snapshot()
	want := []string{"new containers healthy 1/2", "new containers healthy 2/2, 1 not seen yet", "new containers healthy 2/2",
		"finishupgrade", "finished"}
	if r.Outcome != OutcomeDone || !slices.Equal(stepMessages(r)[1:], want) {
		t.Errorf("record %s %v, want done with steps %v", r.Outcome, stepMessages(r), want)
	}
	if fin := f.finals(); len(fin) != 1 || fin[0].ID != e.ID() || fin[0].Outcome != OutcomeDone {
		t.Errorf("OnFinal got %+v, want one call for %s done", fin, e.ID())
	}
}

// New containers unhealthy past the grace: rolled back (rollbackOnFailure true, the default), or reported and
// left for a human (false) — and then not adopted again on the next reconcile.
func TestUnhealthyPastGrace(t *testing.T) {
	for _, rollback := range []bool{true, false} {
		t.Run("rollback="+strconv.FormatBool(rollback), func(t *testing.T) {
			f := newFixture(t)
			s := defaultSafety
			s.rollback = rollback
			e, marker := f.start(t, s)
			f.w.setService(t, upgraded("upgrading", marker, "1i1", "1i2"))
			f.w.setInstances(inst("1i1", "0", "stopped", "healthy"), inst("1i2", "v2", "running", "unhealthy"))
			f.step(t)
			if d := f.w.lastAfter(); d != 60*time.Second {
				t.Errorf("grace timer %s, want 60s", d)
			}
			f.advance(59 * time.Second)
			f.step(t)
			if got := f.w.actionList(); len(got) != 1 {
				t.Fatalf("actions %v within the grace", got)
			}
			f.advance(time.Second)
			f.step(t)
			r := e.Snapshot()
			if !rollback {
				if got := f.w.actionList(); len(got) != 1 || r.Outcome != OutcomeFailed ||
					!strings.Contains(r.Error, "1 of 1 new containers unhealthy for 1m0s") {
					t.Fatalf("actions %v, record %s %q: want no rollback and failed", got, r.Outcome, r.Error)
				}
				n := len(f.x.history.List("", 0))
				f.step(t)
				if got := len(f.x.history.List("", 0)); got != n {
					t.Errorf("the upgrade left for a human was adopted again (%d records, was %d)", got, n)
				}
				return
			}
			if got := f.w.actionList(); !slices.Equal(got, []string{"upgrade 1s1", "rollback 1s1"}) {
				t.Fatalf("actions %v, want the rollback after 60s", got)
			}
			f.w.setService(t, serviceSpec{state: "active", image: "docker:nginx:1.13", version: "0",
				prevImage: "docker:nginx:1.13", prevVersion: "0", instanceIDs: []string{"1i1"}})
			f.step(t)
			if r = e.Snapshot(); r.Outcome != OutcomeRolledBack || r.Error != "1 of 1 new containers unhealthy for 1m0s" {
				t.Errorf("record %s %q, want rolled-back", r.Outcome, r.Error)
			}
		})
	}
}

// New containers that recover within the grace do not roll the upgrade back.
func TestRecoveryWithinGrace(t *testing.T) {
	f := newFixture(t)
	e, marker := f.start(t, defaultSafety)
	f.w.setService(t, upgraded("upgrading", marker, "1i2"))
	f.w.setInstances(inst("1i2", "v2", "running", "unhealthy"))
	f.step(t)
	f.advance(30 * time.Second)
	f.w.setInstances(inst("1i2", "v2", "running", "healthy"))
	f.step(t)
	f.advance(time.Minute)
	f.w.setService(t, upgraded("upgraded", marker, "1i2"))
	f.step(t)
	if got := f.w.actionList(); !slices.Equal(got, []string{"upgrade 1s1", "finishupgrade 1s1"}) {
		t.Fatalf("actions %v, want no rollback and the finish", got)
	}
	if msgs := stepMessages(e.Snapshot()); !slices.Contains(msgs, "new containers no longer unhealthy") {
		t.Errorf("steps %v", msgs)
	}
}

// The deadline: a timer at the deadline, then a rollback (or timed-out with rollbackOnFailure false).
func TestDeadline(t *testing.T) {
	for _, rollback := range []bool{true, false} {
		t.Run("rollback="+strconv.FormatBool(rollback), func(t *testing.T) {
			f := newFixture(t)
			s := safety{finishTimeout: 10 * time.Second, grace: time.Minute, rollback: rollback}
			e, marker := f.start(t, s)
			f.w.setService(t, upgraded("upgrading", marker, "1i2"))
			f.w.setInstances(inst("1i2", "v2", "running", "initializing"))
			f.advance(4 * time.Second)
			f.step(t)
			if d := f.w.lastAfter(); d != 6*time.Second {
				t.Errorf("timer %s, want the 6s left to the deadline", d)
			}
			f.advance(6 * time.Second)
			f.step(t)
			r := e.Snapshot()
			want, outcome := []string{"upgrade 1s1", "rollback 1s1"}, OutcomeRunning
			if !rollback {
				want, outcome = want[:1], OutcomeTimedOut
			}
			if got := f.w.actionList(); !slices.Equal(got, want) || r.Outcome != outcome {
				t.Fatalf("actions %v, outcome %s; want %v, %s", got, r.Outcome, want, outcome)
			}
			if !rollback && !strings.Contains(r.Error, "not finished within 10s (service upgrading, new containers healthy 0/1)") {
				t.Errorf("error %q", r.Error)
			}
		})
	}
}

// After a restart: an upgrade of ours in flight is adopted with its receiver's settings and its deadline
// counted from the start in the marker; an upgrade a human started with our label copied from the previous
// config, or a service not upgrading, is not.
func TestAdoptAfterRestart(t *testing.T) {
	t.Run("ours", func(t *testing.T) {
		f := newFixture(t)
		started := f.now.Add(-30 * time.Second)
		marker := newMarker("1go9", "x3", started)
		cfg, _ := json.Marshal(map[string]any{"serviceSelector": map[string]string{"app": "web"}, "tag": "1.14",
			"batchSize": 1, "intervalMillis": 2, "finishTimeoutSeconds": 20})
		f.w.receivers["1go9"] = &cattle.GenericObject{Resource: cattle.Resource{ID: "1go9", Name: "web-push",
			Kind: "webhookReceiver", State: "active"}, ResourceData: map[string]json.RawMessage{
			"driver": json.RawMessage(`"serviceUpgrade"`), "url": json.RawMessage(`"u"`), "config": cfg}}
		f.w.setService(t, upgraded("upgrading", marker, "1i2"))
		f.w.setInstances(inst("1i2", "v2", "running", "initializing"))
		f.step(t)
		recs := f.x.history.List("", 0)
		if len(recs) != 1 || recs[0].ReceiverID != "1go9" || recs[0].ReceiverName != "web-push" ||
			recs[0].Image == nil || recs[0].Image.Old != "nginx:1.13" || recs[0].Image.New != "nginx:1.14" {
			t.Fatalf("records %+v, want one adopted upgrade of 1go9 nginx:1.13 → nginx:1.14", recs)
		}
		// The receiver's 20 s deadline from the marker's start has passed: rolled back at once.
		if got := f.w.actionList(); !slices.Equal(got, []string{"rollback 1s1"}) {
			t.Errorf("actions %v, want the rollback of an adopted upgrade past its deadline", got)
		}
	})
	for name, spec := range map[string]serviceSpec{
		"marker copied by a human": {state: "upgrading", image: "docker:nginx:1.14", version: "v3",
			marker: "1go9/x3/1764489600000", prevImage: "docker:nginx:1.14", prevVersion: "v2",
			prevMarker: "1go9/x3/1764489600000"},
		"not upgrading": upgraded("active", "1go9/x3/1764489600000"),
		"foreign label": upgraded("upgraded", "hand-made"),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.w.setService(t, spec)
			f.step(t)
			if recs := f.x.history.List("", 0); len(recs) != 0 || len(f.w.actionList()) != 0 {
				t.Errorf("adopted: records %+v, actions %v", recs, f.w.actionList())
			}
		})
	}
}

// A newer push supersedes a waiting one (recorded, OnFinal called, and forgotten by the push deduper so a
// redelivery of it applies); the newest waits behind the run.
func TestWaitingPushSuperseded(t *testing.T) {
	f := newFixture(t)
	first, marker := f.start(t, defaultSafety)
	f.w.setService(t, upgraded("upgrading", marker))
	second := f.push(t, "1.15", defaultSafety)
	k := upgrade.KeyOf("1s1", upgrade.Push{Repository: "docker.io/library/nginx", Tag: "1.15", Digest: "sha256:1.15"})
	f.x.pushes.Seen(k, f.now)
	third := f.push(t, "1.16", defaultSafety)
	if r := second.Snapshot(); r.Outcome != OutcomeIgnored || !strings.Contains(r.Decision, "superseded by a newer push ("+third.ID()+")") {
		t.Errorf("second push %s %q", r.Outcome, r.Decision)
	}
	if f.x.pushes.Seen(k, f.now) {
		t.Errorf("the superseded push is still remembered as applied")
	}
	if msgs := stepMessages(third.Snapshot()); !slices.Contains(msgs, "waiting behind upgrade "+first.ID()) {
		t.Errorf("third push steps %v", msgs)
	}
	if fin := f.finals(); len(fin) != 1 || fin[0].ID != second.ID() {
		t.Errorf("OnFinal %+v, want the superseded push only", fin)
	}
}

// A finish that fails in Cattle is rolled back when the service's state allows it; a service stuck in
// finishing-upgrade cannot be, and the execution ends failed saying so.
func TestFailedFinish(t *testing.T) {
	for _, tc := range []struct {
		state string
		want  []string
		out   string
	}{
		{"upgraded", []string{"upgrade 1s1", "finishupgrade 1s1", "rollback 1s1"}, OutcomeRunning},
		{"finishing-upgrade", []string{"upgrade 1s1", "finishupgrade 1s1"}, OutcomeFailed},
	} {
		t.Run(tc.state, func(t *testing.T) {
			f := newFixture(t)
			e, marker := f.start(t, defaultSafety)
			f.w.setService(t, upgraded("upgraded", marker, "1i2"))
			f.w.setInstances(inst("1i2", "v2", "running", "healthy"))
			f.step(t)
			failed := upgraded(tc.state, marker, "1i2")
			failed.transitioning = "error"
			f.w.setService(t, failed)
			f.step(t)
			r := e.Snapshot()
			if got := f.w.actionList(); !slices.Equal(got, tc.want) || r.Outcome != tc.out {
				t.Fatalf("actions %v, outcome %s; want %v, %s", got, r.Outcome, tc.want, tc.out)
			}
			if tc.out == OutcomeFailed && !strings.Contains(r.Decision, "finishupgrade failed in cattle: boom; a service in state finishing-upgrade cannot be rolled back") {
				t.Errorf("decision %q", r.Decision)
			}
		})
	}
}
