package cattlesim

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// Hosts (cattle-protocol.md §4): create from exactly one <driver>Config or a hostTemplateId and walk
// requested → registering → inactive → provisioning → provisioned → activating → active; activate, deactivate,
// remove (not from active: 405), purge, update, evacuate; the agentState control knob. Scheduling of service
// containers onto hosts lives here too: only hosts whose DISPLAYED state is active take new containers.

// agentStates are the agentState values the control surface accepts ("" = null, §4.2).
func agentStates() []string {
	return []string{"", "active", "disconnecting", "disconnected", "reconnecting", "reconnected",
		"finishing-reconnect"}
}

// displayActive reports whether a host shows as active in v2-beta: stored active and no other agentState.
func displayActive(h *Object) bool {
	if h.Removed != nil || h.State != "active" {
		return false
	}
	as := h.Str("agentState")
	return as == "" || as == "active"
}

// hostsLocked returns the account's non-removed hosts, oldest first.
func (s *Sim) hostsLocked(accountID int64) []*Object {
	var out []*Object
	for _, h := range s.objects["host"] {
		if h.AccountID == accountID && h.Removed == nil {
			out = append(out, h)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// activeHostsLocked returns the account's hosts that take new containers.
func (s *Sim) activeHostsLocked(accountID int64) []*Object {
	var out []*Object
	for _, h := range s.hostsLocked(accountID) {
		if displayActive(h) {
			out = append(out, h)
		}
	}
	return out
}

// hostActiveLocked reports whether hostID is one of activeHostsLocked(accountID) (it takes new containers),
// without listing them: a container change asks this for its own host only.
func (s *Sim) hostActiveLocked(accountID int64, hostID string) bool {
	h := s.objectByAPIIDLocked("host", hostID)
	return h != nil && h.AccountID == accountID && h.APIID() == hostID && displayActive(h)
}

// pickHostLocked chooses the host for a new unit: the active host with the fewest units of svc, then the
// fewest live instances overall, then the oldest — which spreads units round-robin. "" when no host is
// active: the emulator has no allocator failure, such containers simply run unplaced (hostId null).
func (s *Sim) pickHostLocked(accountID int64, svc *Object) string {
	hosts := s.activeHostsLocked(accountID)
	if len(hosts) == 0 {
		return ""
	}
	svcUnits := s.unitsPerHostLocked(svc)
	// The loads are kept by the instance index: reading one per active host keeps a placement from costing
	// what the world holds.
	bestID := hosts[0].APIID()
	bestUnits, bestLoad := len(svcUnits[bestID]), s.hostLoadLocked(accountID, bestID)
	for _, h := range hosts[1:] {
		id := h.APIID()
		units, load := len(svcUnits[id]), s.hostLoadLocked(accountID, id)
		if units < bestUnits || (units == bestUnits && load < bestLoad) {
			bestID, bestUnits, bestLoad = id, units, load
		}
	}
	return bestID
}

// unitsPerHostLocked returns the deployment units of svc that have a live instance, by host (nil svc: none).
func (s *Sim) unitsPerHostLocked(svc *Object) map[string]map[string]bool {
	units := map[string]map[string]bool{}
	if svc == nil {
		return units
	}
	for _, c := range s.serviceInstancesLocked(svc) {
		if gone(c) {
			continue
		}
		h := c.Str("hostId")
		if units[h] == nil {
			units[h] = map[string]bool{}
		}
		units[h][c.Str("deploymentUnitUuid")] = true
	}
	return units
}

// createHostLocked validates a host create (hostname; exactly one non-null *Config object or a hostTemplateId,
// else 422 DriverConfigExactlyOneRequired, §4.3) and starts create → provision → activate.
func (s *Sim) createHostLocked(accountID int64, sc *Schema, f map[string]any) (*Object, *apiError) {
	hostname, _ := f["hostname"].(string)
	if hostname == "" {
		return nil, validationError("MissingRequired", "hostname")
	}
	var configs []string
	for k, v := range f {
		if !strings.HasSuffix(k, "Config") || v == nil {
			continue
		}
		if _, ok := v.(map[string]any); !ok {
			return nil, validationError("InvalidFormat", k)
		}
		configs = append(configs, k)
	}
	template, _ := f["hostTemplateId"].(string)
	n := len(configs)
	if template != "" {
		n++
	}
	if n != 1 {
		return nil, &apiError{Status: http.StatusUnprocessableEntity, Code: "DriverConfigExactlyOneRequired"}
	}
	driver := ""
	if len(configs) == 1 {
		key := configs[0]
		driver = strings.TrimSuffix(key, "Config")
		anyMap(f[key])["type"] = key
	} else {
		t := s.objectByAPIIDLocked("hostTemplate", template)
		if t == nil || t.AccountID != accountID || t.Removed != nil {
			return nil, validationError("InvalidReference", "hostTemplateId")
		}
		f["hostTemplateId"] = t.APIID()
		driver = t.Str("driver")
	}
	f["driver"] = driver
	if name, _ := f["name"].(string); name == "" {
		f["name"] = hostname
	}
	if f["labels"] == nil {
		f["labels"] = map[string]any{}
	}
	f["kind"] = "host"
	f["agentState"] = nil
	f["instanceIds"] = []any{}
	h := &Object{Type: sc.ID, BaseType: "host", AccountID: accountID, State: "registering", Transitioning: "yes",
		TransitioningMessage: "In Progress", Fields: f}
	s.insertLocked(h)
	r := s.newRun(h)
	r.after(s.opts.Timings.Step, func() {
		r.finish("inactive")
		p := s.beginLocked(h, "provisioning")
		p.after(s.opts.Timings.HostProvision, func() {
			p.finish("provisioned")
			s.startHostActivateLocked(h)
		})
	})
	return h, nil
}

// startHostActivateLocked runs host.activate: activating → active, then services may use the host.
func (s *Sim) startHostActivateLocked(h *Object) {
	r := s.beginLocked(h, "activating")
	r.after(s.opts.Timings.Step, func() {
		if h.Fields["agentIpAddress"] == nil {
			h.Fields["agentIpAddress"] = fmt.Sprintf("10.0.%d.%d", (h.ID/250)%256, h.ID%250+10)
		}
		r.finish("active")
		s.hostsChangedLocked(h.AccountID)
	})
}

// startHostDeactivateLocked runs host.deactivate: deactivating → inactive. Containers stay where they are.
func (s *Sim) startHostDeactivateLocked(h *Object) {
	r := s.beginLocked(h, "deactivating")
	s.hostsChangedLocked(h.AccountID)
	r.after(s.opts.Timings.Step, func() {
		r.finish("inactive")
		s.hostsChangedLocked(h.AccountID)
	})
}

// hostInstancesLocked returns the live instances placed on a host.
func (s *Sim) hostInstancesLocked(h *Object, includeSystem bool) []*Object {
	return s.hostInstancesWhereLocked(h, func(c *Object) bool {
		return !gone(c) && (includeSystem || !c.Bool("system"))
	})
}

// startHostRemoveLocked runs host.remove: removing, remove the host's instances, removed; then, when purge is
// set (evacuation with deleteHost), host.purge.
func (s *Sim) startHostRemoveLocked(h *Object, purge bool) {
	r := s.beginLocked(h, "removing")
	s.hostsChangedLocked(h.AccountID)
	r.after(s.opts.Timings.Step, func() {
		for _, c := range s.hostInstancesLocked(h, true) {
			s.removeInstanceLocked(c)
		}
		r.waitUntil(func() bool { return len(s.hostInstancesLocked(h, true)) == 0 }, func() {
			s.markRemovedLocked(h)
			s.refreshHostLocked(h)
			s.hostsChangedLocked(h.AccountID)
			if purge {
				s.startHostPurgeLocked(h)
			}
		})
	})
}

// startHostPurgeLocked runs host.purge: purging → purged. Purged hosts stay stored (GET by id still answers,
// state purged, like Cattle's rows) but are hidden from lists and get no resource.change (§1.7).
func (s *Sim) startHostPurgeLocked(h *Object) {
	r := s.beginLocked(h, "purging")
	r.after(s.opts.Timings.Step, func() { r.finish("purged") })
}

// hostActionLocked dispatches the host process actions.
func (s *Sim) hostActionLocked(h *Object, p process) *apiError {
	switch p.name {
	case "activate":
		s.startHostActivateLocked(h)
	case "deactivate":
		s.startHostDeactivateLocked(h)
	case "purge":
		s.startHostPurgeLocked(h)
	case "evacuate":
		_, aerr := s.createExternalEventLocked(h.AccountID, "externalHostEvent", map[string]any{
			"eventType": "host.evacuate", "hostId": h.APIID(), "deleteHost": false})
		return aerr
	default:
		s.startSimpleProcessLocked(h, p)
	}
	return nil
}

// hostsChangedLocked lets the account's services react to a host becoming (un)available: health expectations
// of global services change and they may need a unit more or less.
func (s *Sim) hostsChangedLocked(accountID int64) {
	for _, svc := range s.listLocked("service") {
		if svc.AccountID == accountID && svc.Removed == nil {
			s.refreshServiceLocked(svc)
			s.maybeReconcileLocked(svc)
		}
	}
}

// setHostAgentStateLocked is the control surface's agent knob: it sets agentState ("" = null); the REST layer
// shows it as the host's state while the stored state is active (§4.2). Containers on a disconnected host stay
// as they are, but the host takes no new ones.
func (s *Sim) setHostAgentStateLocked(o *Object, agentState string) *apiError {
	if o == nil || o.BaseType != "host" {
		return errNotFound()
	}
	if !slices.Contains(agentStates(), agentState) {
		return validationError("InvalidOption", "agentState")
	}
	var v any
	if agentState != "" {
		v = agentState
	}
	if jsonEqual(o.Fields["agentState"], v) {
		return nil
	}
	o.Fields["agentState"] = v
	s.touchLocked(o)
	s.hostsChangedLocked(o.AccountID)
	return nil
}
