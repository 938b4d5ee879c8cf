package cattlesim

import (
	"slices"
	"strings"
)

// External host events (cattle-protocol.md §4.4; CA ExternalHostEventCreate): POST /externalhostevents
// {"eventType":"host.evacuate","hostId"|"hostLabel","deleteHost"} is how webhook-service removes hosts. The event
// stays "creating" while Cattle works server-side: deactivate each target host, stop and remove every
// non-system instance on it (services then reschedule their units onto other active hosts), and with
// deleteHost remove and purge the host; then "created". It works from any host state.

// createExternalEventLocked validates and stores an external host event and starts the evacuation.
func (s *Sim) createExternalEventLocked(accountID int64, typ string, f map[string]any) (*Object, *apiError) {
	eventType, _ := f["eventType"].(string)
	if eventType == "" {
		return nil, validationError("MissingRequired", "eventType")
	}
	if eventType != "host.evacuate" {
		return nil, validationError("InvalidOption", "eventType")
	}
	hostID, _ := f["hostId"].(string)
	hostLabel, _ := f["hostLabel"].(string)
	var target *Object
	switch {
	case hostID != "":
		target = s.objectByAPIIDLocked("host", hostID)
		if target == nil || target.AccountID != accountID {
			return nil, validationError("InvalidReference", "hostId")
		}
		f["hostId"] = target.APIID()
	case hostLabel == "":
		return nil, validationError("MissingRequired", "hostId")
	}
	if v := f["deleteHost"]; v != nil {
		if _, ok := v.(bool); !ok {
			return nil, validationError("InvalidFormat", "deleteHost")
		}
	} else {
		f["deleteHost"] = false
	}
	deleteHost, _ := f["deleteHost"].(bool)
	f["kind"] = typ
	ev := &Object{Type: typ, BaseType: "externalEvent", AccountID: accountID, State: "creating",
		Transitioning: "yes", TransitioningMessage: "In Progress", Fields: f}
	s.insertLocked(ev)
	r := s.newRun(ev)
	r.after(s.opts.Timings.Step, func() {
		var hosts []*Object
		if target != nil {
			hosts = []*Object{target}
		} else {
			hosts = s.hostsByLabelLocked(accountID, hostLabel)
		}
		s.evacuateLocked(r, hosts, deleteHost)
	})
	return ev, nil
}

// hostsByLabelLocked returns the account's live hosts carrying a label "key=value" (or just "key").
func (s *Sim) hostsByLabelLocked(accountID int64, selector string) []*Object {
	key, value, hasValue := strings.Cut(selector, "=")
	var out []*Object
	for _, h := range s.hostsLocked(accountID) {
		labels := h.StrMap("labels")
		if v, ok := labels[key]; ok && (!hasValue || v == value) {
			out = append(out, h)
		}
	}
	return out
}

// evacuateLocked runs the server side of host.evacuate within the event's run.
func (s *Sim) evacuateLocked(r run, hosts []*Object, deleteHost bool) {
	settled := []string{"inactive", "removing", "removed", "purging", "purged"}
	for _, h := range hosts {
		if !slices.Contains(settled, h.State) && h.State != "deactivating" {
			s.startHostDeactivateLocked(h)
		}
		for _, c := range s.hostInstancesLocked(h, false) {
			s.removeInstanceLocked(c)
		}
	}
	evacuated := func() bool {
		for _, h := range hosts {
			if h.State == "deactivating" || len(s.hostInstancesLocked(h, false)) > 0 {
				return false
			}
		}
		return true
	}
	r.waitUntil(evacuated, func() {
		if !deleteHost {
			r.finish("created")
			return
		}
		for _, h := range hosts {
			if h.Removed == nil && h.State != "removing" {
				s.startHostRemoveLocked(h, true)
			}
		}
		removed := func() bool {
			for _, h := range hosts {
				if h.Removed == nil || h.State == "removing" {
					return false
				}
			}
			return true
		}
		r.waitUntil(removed, func() {
			for _, h := range hosts {
				if h.State == "removed" {
					s.startHostPurgeLocked(h)
				}
			}
			r.waitUntil(func() bool {
				for _, h := range hosts {
					if h.State != "purged" {
						return false
					}
				}
				return true
			}, func() { r.finish("created") })
		})
	})
}
