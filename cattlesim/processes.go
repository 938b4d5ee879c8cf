package cattlesim

import (
	"encoding/json"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// The process engine: the entry points the REST layer calls (always with s.mu held) and the run helper every
// state machine is written with. Kind-specific behaviour lives in service.go, upgrade.go, container.go,
// host.go, externalevent.go and stack.go (genericObject and other simple types use createSimpleLocked here);
// the state table is statetable.go, container health and derived fields health.go, seeds seed.go.

// run is one process in flight on one object. Its continuations go through Sim.after (so a stalled object
// parks them) and do nothing once a newer process superseded this one (the object's gen moved on) or fault
// injection failed the object (Transitioning "error").
type run struct {
	s   *Sim
	o   *Object
	gen uint64
}

// newRun starts a process run on o without changing its state (the state was set before insertion).
func (s *Sim) newRun(o *Object) run {
	o.gen++
	return run{s: s, o: o, gen: o.gen}
}

// beginLocked supersedes whatever process holds o, moves o to the transitioning state and returns the new run.
func (s *Sim) beginLocked(o *Object, transitioning string) run {
	r := s.newRun(o)
	s.setStateLocked(o, transitioning, true)
	return r
}

// live reports whether the run is still the object's current process.
func (r run) live() bool { return r.o.gen == r.gen && r.o.Transitioning != "error" }

// after runs fn after d, with the lock held, if the run is still live then.
func (r run) after(d time.Duration, fn func()) {
	r.s.after(r.o, d, func() {
		if r.live() {
			fn()
		}
	})
}

// waitUntil polls cond (every pollInterval, through the scheduler, so stalls hold it too) and runs then once it
// holds. It never evaluates synchronously: the caller's state change is always observable first.
func (r run) waitUntil(cond func() bool, then func()) {
	var poll func()
	poll = func() {
		if cond() {
			then()
			return
		}
		r.after(r.s.pollInterval(), poll)
	}
	r.after(r.s.pollInterval(), poll)
}

// finish ends the process in its done state.
func (r run) finish(state string) { r.s.setStateLocked(r.o, state, false) }

// pollInterval is how often a process re-checks a condition it waits for (instances running, healthy...).
func (s *Sim) pollInterval() time.Duration {
	return max(s.opts.Timings.Step/2, time.Millisecond)
}

// createLocked creates an object of schema sc in the account from input already reduced to the schema's
// create:true fields with defaults applied, runs kind-specific validation and starts the create process. The
// returned object already shows its first transitioning state (§2.5).
func (s *Sim) createLocked(accountID int64, sc *Schema, input map[string]any) (*Object, *apiError) {
	fields := cloneMap(input)
	if fields == nil {
		fields = map[string]any{}
	}
	switch sc.BaseType {
	case "service":
		return s.createServiceLocked(accountID, sc, fields)
	case "host":
		return s.createHostLocked(accountID, sc, fields)
	case "instance":
		return s.createContainerLocked(accountID, fields)
	case "stack":
		return s.createStackLocked(accountID, sc, fields)
	case "externalEvent":
		return s.createExternalEventLocked(accountID, sc.ID, fields)
	case "genericObject":
		return s.createSimpleLocked(accountID, sc, fields, genericObjectProcesses()), nil
	}
	return s.createSimpleLocked(accountID, sc, fields, defaultProcesses()), nil
}

// updateLocked applies changes (already reduced to update:true fields). When a scheduleUpdate field changes
// value the <type>.update process starts; if the stored state is not one of its start states, or another
// process holds the object, the answer is 409 and nothing is written (§2.5, §3.3: Cattle cancels the process;
// whether the fields stick is unspecified, so the emulator keeps the stored values).
func (s *Sim) updateLocked(o *Object, changes map[string]any) *apiError {
	changed := map[string]any{}
	scheduled := false
	for k, v := range changes {
		if jsonEqual(o.Fields[k], v) {
			continue
		}
		changed[k] = v
		if s.schedulesUpdate(o, k) {
			scheduled = true
		}
	}
	if len(changed) == 0 {
		return nil
	}
	p, hasUpdate := processFor(o.BaseType, "update")
	if !scheduled || !hasUpdate {
		s.applyFieldsLocked(o, changed)
		s.touchLocked(o)
		return nil
	}
	if !p.startsFrom(o.State) || o.Transitioning == "yes" {
		return errConflict()
	}
	if aerr := s.validateUpdateLocked(o, changed); aerr != nil {
		return aerr
	}
	s.applyFieldsLocked(o, changed)
	s.startUpdateLocked(o, p)
	return nil
}

// applyFieldsLocked writes deep copies of the given fields into o.
func (s *Sim) applyFieldsLocked(o *Object, fields map[string]any) {
	for k, v := range fields {
		o.Fields[k] = cloneJSON(v)
	}
}

// validateUpdateLocked runs the kind-specific checks of a scheduled update.
func (s *Sim) validateUpdateLocked(o *Object, changed map[string]any) *apiError {
	if o.BaseType == "service" {
		return s.validateServiceUpdateLocked(o, changed)
	}
	return nil
}

// startUpdateLocked starts the update process of o from its current state.
func (s *Sim) startUpdateLocked(o *Object, p process) {
	switch o.BaseType {
	case "service":
		s.startServiceUpdateLocked(o)
	default:
		s.startSimpleProcessLocked(o, p)
	}
}

// startSimpleProcessLocked runs a process that only changes state: transitioning now, done after one Step.
func (s *Sim) startSimpleProcessLocked(o *Object, p process) {
	trans := p.transitioningFor(o.State)
	r := s.beginLocked(o, trans)
	r.after(s.opts.Timings.Step, func() { r.finish(p.doneFor(trans)) })
}

// schedulesUpdate reports whether changing field starts the update process: the schema's scheduleUpdate
// attribute, or Cattle's known list when the schema does not say (§2.5).
func (s *Sim) schedulesUpdate(o *Object, field string) bool {
	if sc := s.schemas[o.Type]; sc != nil {
		if f, ok := sc.Fields[field]; ok && f.ScheduleUpdate {
			return true
		}
	}
	switch o.BaseType {
	case "service":
		return slices.Contains([]string{"scale", "scalePolicy", "name", "metadata", "lbConfig",
			"selectorContainer", "selectorLink", "retainIp"}, field)
	case "host":
		return slices.Contains([]string{"labels", "memory", "milliCpu", "localStorageMb"}, field)
	}
	return false
}

// removeLocked starts the remove process (DELETE); 405 when the stored state is not a start state of remove.
func (s *Sim) removeLocked(o *Object) *apiError {
	p, ok := processFor(o.BaseType, "remove")
	if !ok || !p.startsFrom(o.State) {
		return statusError(http.StatusMethodNotAllowed)
	}
	if o.Transitioning == "yes" && !p.preempts {
		return errConflict()
	}
	s.startRemoveLocked(o)
	return nil
}

// startRemoveLocked runs the kind-specific remove process; callers checked that it may start.
func (s *Sim) startRemoveLocked(o *Object) {
	switch o.BaseType {
	case "service":
		s.startServiceRemoveLocked(o)
	case "host":
		s.startHostRemoveLocked(o, false)
	case "instance":
		s.removeInstanceLocked(o)
	case "stack":
		s.startStackRemoveLocked(o)
	default:
		r := s.beginLocked(o, "removing")
		r.after(s.opts.Timings.Step, func() { s.markRemovedLocked(o) })
	}
}

// actionLocked runs a resource action: 422 InvalidAction for unknown names, 422 ActionNotAvailable when the
// stored state does not allow it, 409 when another process holds the object, validation errors for bad input.
func (s *Sim) actionLocked(o *Object, action string, input map[string]any) *apiError {
	if o.BaseType == "instance" {
		for _, hp := range healthProcesses() {
			if hp.name == action {
				return s.healthActionLocked(o, hp)
			}
		}
	}
	if !knownAction(o.BaseType, action) {
		return errInvalidAction()
	}
	if slices.Contains(alwaysActions(o.BaseType), action) {
		return s.serviceLinkActionLocked(o, action, input)
	}
	p, _ := processFor(o.BaseType, action)
	if !p.startsFrom(o.State) {
		return errActionNotAvailable()
	}
	if o.Transitioning == "yes" && !p.preempts && !p.stateless {
		return errConflict()
	}
	switch action {
	case "remove":
		s.startRemoveLocked(o)
		return nil
	case "update":
		if aerr := s.validateUpdateLocked(o, nil); aerr != nil {
			return aerr
		}
		s.startUpdateLocked(o, p)
		return nil
	}
	switch o.BaseType {
	case "service":
		return s.serviceActionLocked(o, p, input)
	case "host":
		return s.hostActionLocked(o, p)
	case "instance":
		return s.instanceActionLocked(o, p)
	case "stack":
		return s.stackActionLocked(o, p)
	}
	s.startSimpleProcessLocked(o, p)
	return nil
}

// actionsLocked returns the action names available in o's stored state (the rendered "actions" map), sorted:
// the state table's, plus the health processes an instance's healthState allows, limited to the actions its
// schema declares (a dnsService has no restart).
func (s *Sim) actionsLocked(o *Object) []string {
	actions := actionsForState(o.BaseType, o.State)
	if o.BaseType == "instance" {
		for _, hp := range healthProcesses() {
			if hp.startsFrom(o.Str("healthState")) {
				actions = append(actions, hp.name)
			}
		}
		slices.Sort(actions)
	}
	if sc := s.schemas[o.Type]; sc != nil && sc.Actions != nil {
		actions = slices.DeleteFunc(actions, func(a string) bool {
			_, declared := sc.Actions[a]
			return !declared
		})
	}
	return actions
}

// createSimpleLocked stores an object whose create process only moves state (genericObject, hostTemplate...):
// it shows the create process's transitioning state and reaches its done state after one Step.
func (s *Sim) createSimpleLocked(accountID int64, sc *Schema, fields map[string]any, procs []process) *Object {
	create := procs[0]
	if k, _ := fields["kind"].(string); k == "" || sc.BaseType != "genericObject" {
		fields["kind"] = sc.ID
	}
	o := &Object{Type: sc.ID, BaseType: sc.BaseType, AccountID: accountID, State: create.transitioning,
		Transitioning: "yes", TransitioningMessage: "In Progress", Fields: fields}
	s.insertLocked(o)
	r := s.newRun(o)
	r.after(s.opts.Timings.Step, func() { r.finish(create.done) })
	return o
}

// objectByAPIIDLocked resolves an API id (or plain number) in a base type; nil when unknown.
func (s *Sim) objectByAPIIDLocked(baseType, apiID string) *Object {
	id, ok := ParseID(apiID)
	if !ok {
		return nil
	}
	return s.getLocked(baseType, id)
}

// jsonEqual compares two JSON-compatible values, treating Go ints and float64 alike.
func jsonEqual(a, b any) bool {
	return reflect.DeepEqual(cloneJSON(a), cloneJSON(b))
}

// nowISO is the current time in Cattle's date format (UTC, second precision).
func (s *Sim) nowISO() string {
	return s.now().UTC().Truncate(time.Second).Format(time.RFC3339)
}

// intInput reads an optional integer member of an input: def when absent or null, ok=false when it is not an
// integer (numeric strings are accepted, as Cattle's converter does).
func intInput(m map[string]any, name string, def int) (n int, ok bool) {
	v, present := m[name]
	if !present || v == nil {
		return def, true
	}
	switch x := v.(type) {
	case float64:
		return int(x), x == math.Trunc(x)
	case int:
		return x, true
	case int64:
		return int(x), true
	case json.Number:
		i, err := x.Int64()
		return int(i), err == nil
	case string:
		i, err := strconv.Atoi(x)
		return i, err == nil
	}
	return 0, false
}
