package cattlesim

import (
	"strings"
)

// Stacks: create (requested → activating → active), update, remove (removes the stack's services first) and
// the bulk activateservices/deactivateservices actions. serviceIds is kept current like the other derived
// fields.

// createStackLocked validates (name required, unique in the project) and stores a stack.
func (s *Sim) createStackLocked(accountID int64, sc *Schema, f map[string]any) (*Object, *apiError) {
	name, _ := f["name"].(string)
	if name == "" {
		return nil, validationError("MissingRequired", "name")
	}
	for _, st := range s.objects["stack"] {
		if st.AccountID == accountID && st.Removed == nil && strings.EqualFold(st.Str("name"), name) {
			return nil, validationError("NotUnique", "name")
		}
	}
	f["serviceIds"] = []any{}
	return s.createSimpleLocked(accountID, sc, f, stackProcesses()), nil
}

// stackServicesLocked returns the stack's non-removed services in id order.
func (s *Sim) stackServicesLocked(st *Object) []*Object {
	var out []*Object
	for _, svc := range s.listLocked("service") {
		if svc.AccountID == st.AccountID && svc.Removed == nil && svc.Str("stackId") == st.APIID() {
			out = append(out, svc)
		}
	}
	return out
}

// refreshStackLocked recomputes a stack's serviceIds and touches it on change.
func (s *Sim) refreshStackLocked(stackID string, accountID int64) {
	st := s.objectByAPIIDLocked("stack", stackID)
	if st == nil || st.AccountID != accountID {
		return
	}
	ids := []any{}
	for _, svc := range s.stackServicesLocked(st) {
		ids = append(ids, svc.APIID())
	}
	if !jsonEqual(st.Fields["serviceIds"], ids) {
		st.Fields["serviceIds"] = ids
		s.touchLocked(st)
	}
}

// startStackRemoveLocked runs stack.remove: removing, remove every service, removed once they all are.
func (s *Sim) startStackRemoveLocked(st *Object) {
	r := s.beginLocked(st, "removing")
	r.after(s.opts.Timings.Step, func() {
		remove, _ := processFor("service", "remove")
		for _, svc := range s.stackServicesLocked(st) {
			if remove.startsFrom(svc.State) {
				s.startServiceRemoveLocked(svc)
			}
		}
		r.waitUntil(func() bool { return len(s.stackServicesLocked(st)) == 0 }, func() {
			s.markRemovedLocked(st)
		})
	})
}

// stackActionLocked serves activateservices / deactivateservices (each service where its process may start
// and nothing holds it) and update.
func (s *Sim) stackActionLocked(st *Object, p process) *apiError {
	switch p.name {
	case "activateservices", "deactivateservices":
		name := strings.TrimSuffix(p.name, "services")
		sp, _ := processFor("service", name)
		for _, svc := range s.stackServicesLocked(st) {
			if !sp.startsFrom(svc.State) || (svc.Transitioning == "yes" && !sp.preempts) {
				continue
			}
			if name == "activate" {
				s.startServiceActivateLocked(svc)
			} else {
				s.startServiceDeactivateLocked(svc)
			}
		}
	default:
		s.startSimpleProcessLocked(st, p)
	}
	return nil
}
