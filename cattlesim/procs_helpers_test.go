package cattlesim

import (
	"slices"
	"testing"
	"time"
)

// Helpers of the state-machine tests: a fast emulator, a world with hosts and a stack, and waits that evaluate
// their condition under the emulator's lock.

// procTimeout bounds every wait of these tests; processes take a few Steps, upgrades an interval per batch.
const procTimeout = 10 * time.Second

// stateRecorder is the test's change notifier: it records each object's state sequence (consecutive
// duplicates folded). It is called with s.mu held, so it reads the store directly.
type stateRecorder struct {
	s      *Sim
	states map[string][]string
}

func (r *stateRecorder) ResourceChanged(_, resourceType, resourceID string) {
	o := r.s.objectByAPIIDLocked(resourceType, resourceID)
	if o == nil {
		return
	}
	seq := r.states[resourceID]
	if len(seq) == 0 || seq[len(seq)-1] != o.State {
		r.states[resourceID] = append(seq, o.State)
	}
}

// procEnv is an emulator with project 5, three active hosts (h1..h3, pool=workers) and a stack "st".
type procEnv struct {
	t     *testing.T
	s     *Sim
	rec   *stateRecorder
	hosts []*Object
	stack *Object
}

func newProcSim(t *testing.T) *Sim {
	t.Helper()
	s := New(Options{RandSeed: 1, Timings: Timings{Step: 5 * time.Millisecond, ContainerStart: 6 * time.Millisecond,
		HealthCheck: 5 * time.Millisecond, HostProvision: 10 * time.Millisecond}})
	t.Cleanup(s.Close)
	t.Cleanup(func() { checkInstanceIndex(t, s) }) // runs before Close: cleanups run last-in first-out
	return s
}

func newProcEnv(t *testing.T, hosts int) *procEnv {
	t.Helper()
	s := newProcSim(t)
	e := &procEnv{t: t, s: s}
	e.rec = &stateRecorder{s: s, states: map[string][]string{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifier = e.rec
	s.seedProjectLocked(5, "Default")
	base := s.now().Add(-time.Hour)
	for i := range hosts {
		name := "h" + string(rune('1'+i))
		e.hosts = append(e.hosts, s.seedHostLocked(5, name, "amazonec2", amazonec2Config(name),
			base.Add(time.Duration(i)*time.Minute)))
	}
	e.stack = s.seedStackLocked(5, "st")
	return e
}

// locked runs fn with the emulator's lock held.
func (e *procEnv) locked(fn func()) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	fn()
}

// eventually waits until cond (evaluated under the lock) holds, failing the test after procTimeout.
func (e *procEnv) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(procTimeout)
	for {
		ok := false
		e.locked(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling tick of the wait, not a stand-in for the condition
	}
}

// schema returns a minimal schema for a type, so these tests do not depend on schemadefs.go.
func procSchema(typ, baseType string) *Schema { return &Schema{ID: typ, BaseType: baseType} }

// create creates an object through createLocked and fails the test on an API error.
func (e *procEnv) create(typ, baseType string, input map[string]any) *Object {
	e.t.Helper()
	var o *Object
	var aerr *apiError
	e.locked(func() { o, aerr = e.s.createLocked(5, procSchema(typ, baseType), input) })
	if aerr != nil {
		e.t.Fatalf("create %s: %v", typ, aerr)
	}
	return o
}

// service creates a service in the stack and waits until it is active.
func (e *procEnv) service(name string, scale int, image string, sidekicks ...map[string]any) *Object {
	e.t.Helper()
	in := map[string]any{"name": name, "stackId": e.stack.APIID(), "scale": float64(scale),
		"launchConfig": map[string]any{"imageUuid": image, "labels": map[string]any{"app": name}}}
	if len(sidekicks) > 0 {
		arr := []any{}
		for _, sk := range sidekicks {
			arr = append(arr, sk)
		}
		in["secondaryLaunchConfigs"] = arr
	}
	svc := e.create("service", "service", in)
	e.waitState(svc, "active")
	return svc
}

// waitState waits until o is settled in state.
func (e *procEnv) waitState(o *Object, state string) {
	e.t.Helper()
	e.eventually(o.APIID()+" "+state, func() bool { return o.State == state && o.Transitioning == "no" })
}

// action runs an action and returns its error (nil on success).
func (e *procEnv) action(o *Object, name string, input map[string]any) *apiError {
	var aerr *apiError
	e.locked(func() { aerr = e.s.actionLocked(o, name, input) })
	return aerr
}

// mustAction runs an action and fails the test on an error.
func (e *procEnv) mustAction(o *Object, name string, input map[string]any) {
	e.t.Helper()
	if aerr := e.action(o, name, input); aerr != nil {
		e.t.Fatalf("action %s on %s: %v", name, o.APIID(), aerr)
	}
}

// update runs a PUT.
func (e *procEnv) update(o *Object, changes map[string]any) *apiError {
	var aerr *apiError
	e.locked(func() { aerr = e.s.updateLocked(o, changes) })
	return aerr
}

// instances returns the service's non-removed instances (call under the lock).
func (e *procEnv) instances(svc *Object) []*Object { return e.s.serviceInstancesLocked(svc) }

// countState counts instances in a state.
func countState(insts []*Object, state string) int {
	n := 0
	for _, c := range insts {
		if c.State == state {
			n++
		}
	}
	return n
}

// serviceSettledIn reports whether the object settled (not transitioning) in state.
func serviceSettledIn(svc *Object, state string) bool {
	return svc.State == state && svc.Transitioning == "no"
}

// wantAPIError checks an API error's status, code and field.
func wantAPIError(t *testing.T, aerr *apiError, status int, code, field string) {
	t.Helper()
	if aerr == nil {
		t.Fatalf("want %d %s %q, got success", status, code, field)
	}
	if aerr.Status != status || aerr.Code != code || aerr.FieldName != field {
		t.Fatalf("want %d %s %q, got %d %s %q", status, code, field, aerr.Status, aerr.Code, aerr.FieldName)
	}
}

// versions returns the distinct versions of instances.
func versions(insts []*Object) []string {
	var out []string
	for _, c := range insts {
		if v := c.Str("version"); !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}
