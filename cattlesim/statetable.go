package cattlesim

import (
	"slices"
	"sort"
)

// The state table: which processes exist per base type, the states they may start from, the transitioning state
// they show while running and the state they end in (cattle-protocol.md §3.2 service, §4.2 host, §5 instance,
// §6.3 genericObject). The rendered "actions" map is derived from it (a process action is listed iff the stored
// state is one of its start states), and so are 422 ActionNotAvailable and 405 on DELETE.
//
// Invariants:
//   - A request that starts a process moves the object to the transitioning state synchronously; everything
//     after that runs through Sim.after, so a stalled object holds its process.
//   - While a process holds an object (Transitioning "yes"), only processes marked preempts may start
//     (remove, deactivate, cancelupgrade, rollback...); anything else is 409 Conflict, as Cattle answers when the
//     process lock is busy (§2.5).

// process describes one Cattle process of a base type.
type process struct {
	// name is the process name, which is also its action name when action is true.
	name string
	// action says whether the process is exposed in the actions map (create, provision... are internal).
	action bool
	// from lists the start states.
	from []string
	// transitioning is the state shown while the process runs; "" keeps the current state (service update
	// from upgrading...). transitioningFrom overrides it per start state.
	transitioning     string
	transitioningFrom map[string]string
	// done is the end state; doneFrom overrides it per transitioning state.
	done     string
	doneFrom map[string]string
	// preempts lets the process start while another one holds the object (it supersedes it).
	preempts bool
	// stateless marks a state-dependent action that starts no process of its own (host evacuate, stack
	// activateservices...): listed and checked like a process, but the object keeps its state.
	stateless bool
}

// transitioningFor returns the transitioning state the process shows when started from state.
func (p process) transitioningFor(state string) string {
	if t, ok := p.transitioningFrom[state]; ok {
		return t
	}
	if p.transitioning == "" {
		return state
	}
	return p.transitioning
}

// doneFor returns the state the process ends in, given the transitioning state it showed.
func (p process) doneFor(transitioning string) string {
	if d, ok := p.doneFrom[transitioning]; ok {
		return d
	}
	return p.done
}

// startsFrom reports whether state is a start state of the process.
func (p process) startsFrom(state string) bool { return slices.Contains(p.from, state) }

// processTable returns the processes of a base type. It is rebuilt on every call so no table is package state.
func processTable(baseType string) []process {
	switch baseType {
	case "service":
		return serviceProcesses()
	case "host":
		return hostProcesses()
	case "instance":
		return instanceProcesses()
	case "stack":
		return stackProcesses()
	case "genericObject":
		return genericObjectProcesses()
	case "externalEvent":
		return []process{{name: "create", from: []string{"requested"}, transitioning: "creating", done: "created"}}
	case "account":
		return nil
	}
	return defaultProcesses()
}

// serviceProcesses is §3.2 (CA spring-process-context.xml).
func serviceProcesses() []process {
	return []process{
		{name: "create", from: []string{"requested"}, transitioning: "registering", done: "inactive"},
		{name: "activate", action: true, from: []string{"inactive", "restarting"}, transitioning: "activating",
			done: "active", preempts: true},
		{name: "update", action: true,
			from: []string{"inactive", "active", "updating-active", "finishing-upgrade", "activating",
				"canceling-upgrade", "upgrading", "rolling-back"},
			transitioningFrom: map[string]string{"inactive": "updating-inactive", "active": "updating-active"},
			doneFrom: map[string]string{"updating-inactive": "inactive", "updating-active": "active",
				"finishing-upgrade": "active", "activating": "active", "canceling-upgrade": "canceled-upgrade",
				"upgrading": "upgraded", "rolling-back": "active"}},
		{name: "deactivate", action: true,
			from:          []string{"restarting", "active", "activating", "updating-inactive", "updating-active"},
			transitioning: "deactivating", done: "inactive", preempts: true},
		{name: "remove", action: true,
			from: []string{"inactive", "registering", "active", "activating", "updating-active", "updating-inactive",
				"upgrading", "canceling-upgrade", "rolling-back", "deactivating", "requested", "canceled-upgrade",
				"upgraded", "finishing-upgrade", "restarting"},
			transitioning: "removing", done: "removed", preempts: true},
		{name: "upgrade", action: true, from: []string{"active", "activating", "inactive", "updating-active"},
			transitioning: "upgrading", done: "upgraded"},
		{name: "continueupgrade", action: true, from: []string{"canceled-upgrade"}, transitioning: "upgrading",
			done: "upgraded"},
		{name: "cancelupgrade", action: true, from: []string{"upgrading", "finishing-upgrade"},
			transitioning: "canceling-upgrade", done: "canceled-upgrade", preempts: true},
		{name: "rollback", action: true, from: []string{"upgrading", "upgraded", "canceled-upgrade"},
			transitioning: "rolling-back", done: "active", preempts: true},
		{name: "finishupgrade", action: true, from: []string{"upgraded"}, transitioning: "finishing-upgrade",
			done: "active"},
		{name: "restart", action: true, from: []string{"active"}, transitioning: "restarting", done: "active"},
	}
}

// serviceLinkActions are the service actions that are not processes: always listed (§3.2).
func serviceLinkActions() []string {
	return []string{"addservicelink", "removeservicelink", "setservicelinks"}
}

// hostProcesses is §4.2.
func hostProcesses() []process {
	return []process{
		{name: "create", from: []string{"requested"}, transitioning: "registering", done: "inactive"},
		{name: "provision", from: []string{"inactive"}, transitioning: "provisioning", done: "provisioned"},
		{name: "activate", action: true, from: []string{"inactive", "provisioned"}, transitioning: "activating",
			done: "active"},
		{name: "deactivate", action: true,
			from: []string{"requested", "registering", "active", "activating", "updating-active",
				"updating-inactive"},
			transitioning: "deactivating", done: "inactive", preempts: true},
		{name: "remove", action: true,
			from: []string{"erroring", "error", "requested", "inactive", "activating", "deactivating", "registering",
				"updating-active", "updating-inactive", "provisioning"},
			transitioning: "removing", done: "removed", preempts: true},
		{name: "purge", action: true, from: []string{"removed"}, transitioning: "purging", done: "purged"},
		{name: "update", action: true, from: []string{"active", "inactive"},
			transitioningFrom: map[string]string{"active": "updating-active", "inactive": "updating-inactive"},
			doneFrom:          map[string]string{"updating-active": "active", "updating-inactive": "inactive"}},
		{name: "evacuate", action: true, from: []string{"active", "inactive"}, stateless: true},
	}
}

// instanceProcesses is §5 with the instance renames (registering=creating, inactive=stopped, activating=starting,
// active=running, deactivating=stopping).
func instanceProcesses() []process {
	return []process{
		{name: "create", from: []string{"requested"}, transitioning: "creating", done: "stopped"},
		{name: "start", action: true, from: []string{"stopped"}, transitioning: "starting", done: "running"},
		{name: "stop", action: true, from: []string{"running", "restarting", "updating-running"},
			transitioning: "stopping", done: "stopped", preempts: true},
		{name: "restart", action: true, from: []string{"running"}, transitioning: "restarting", done: "running"},
		{name: "remove", action: true,
			from: []string{"requested", "creating", "starting", "running", "restarting", "stopping", "stopped",
				"updating-running", "updating-stopped", "erroring", "error"},
			transitioning: "removing", done: "removed", preempts: true},
		{name: "purge", action: true, from: []string{"removed"}, transitioning: "purging", done: "purged"},
		{name: "update", action: true, from: []string{"running", "stopped"},
			transitioningFrom: map[string]string{"running": "updating-running", "stopped": "updating-stopped"},
			doneFrom:          map[string]string{"updating-running": "running", "updating-stopped": "stopped"}},
	}
}

// healthProcesses act on an instance's healthState instead of its state (§5): from and the states they move
// through are healthState values.
func healthProcesses() []process {
	return []process{
		{name: "updatehealthy", action: true, from: []string{"healthy", "unhealthy", "initializing", "reinitializing"},
			transitioning: "updating-healthy", done: "healthy"},
		{name: "updateunhealthy", action: true, from: []string{"healthy", "unhealthy"},
			transitioning: "updating-unhealthy", done: "unhealthy"},
		{name: "updatereinitializing", action: true, from: []string{"healthy"},
			transitioning: "updating-reinitializing", done: "reinitializing"},
	}
}

// stackProcesses: create, update and remove (which removes the stack's services), plus the service bulk actions.
func stackProcesses() []process {
	return []process{
		{name: "create", from: []string{"requested"}, transitioning: "activating", done: "active"},
		{name: "update", action: true, from: []string{"active"}, transitioning: "updating-active", done: "active"},
		{name: "remove", action: true,
			from:          []string{"requested", "activating", "active", "updating-active", "error", "erroring"},
			transitioning: "removing", done: "removed", preempts: true},
		{name: "activateservices", action: true, from: []string{"active"}, stateless: true},
		{name: "deactivateservices", action: true, from: []string{"active"}, stateless: true},
	}
}

// genericObjectProcesses is §6.3: requested → activating → active, remove → removing → removed.
func genericObjectProcesses() []process {
	return []process{
		{name: "create", from: []string{"requested"}, transitioning: "activating", done: "active"},
		{name: "remove", action: true, from: []string{"requested", "activating", "active"},
			transitioning: "removing", done: "removed", preempts: true},
	}
}

// defaultProcesses serve every other stored type (hostTemplate...): Cattle's default create and remove.
func defaultProcesses() []process {
	return []process{
		{name: "create", from: []string{"requested"}, transitioning: "activating", done: "active"},
		{name: "remove", action: true, from: []string{"requested", "activating", "active", "inactive"},
			transitioning: "removing", done: "removed", preempts: true},
	}
}

// processFor returns the named process of a base type.
func processFor(baseType, name string) (process, bool) {
	for _, p := range processTable(baseType) {
		if p.name == name {
			return p, true
		}
	}
	return process{}, false
}

// alwaysActions are the non-process actions of a base type, listed in every state.
func alwaysActions(baseType string) []string {
	if baseType == "service" {
		return serviceLinkActions()
	}
	return nil
}

// knownAction reports whether name is an action of the base type in some state.
func knownAction(baseType, name string) bool {
	if slices.Contains(alwaysActions(baseType), name) {
		return true
	}
	p, ok := processFor(baseType, name)
	return ok && p.action
}

// actionsForState lists the actions of a base type available in a stored state, sorted.
func actionsForState(baseType, state string) []string {
	out := append([]string(nil), alwaysActions(baseType)...)
	for _, p := range processTable(baseType) {
		if p.action && p.startsFrom(state) {
			out = append(out, p.name)
		}
	}
	sort.Strings(out)
	return out
}
