package cattlesim

import (
	"fmt"
	"slices"
	"strings"
)

// Instances (containers): creation, the creating → starting → running life-cycle with its health check, stop,
// start, restart, remove and purge (cattle-protocol.md §5). Service deployment uses the same primitives, so a
// container of a service behaves exactly like one created through POST /containers.

// goneStates are the states of an instance that no longer counts for anything.
func goneStates() []string { return []string{"removing", "removed", "purging", "purged"} }

// busyStates are the transitioning states of an instance.
func busyStates() []string {
	return []string{"requested", "creating", "starting", "stopping", "restarting", "removing", "purging",
		"updating-running", "updating-stopped"}
}

// gone reports whether an instance is removed or being removed.
func gone(c *Object) bool { return c.Removed != nil || slices.Contains(goneStates(), c.State) }

// busy reports whether an instance is in a transitioning state.
func busy(c *Object) bool { return slices.Contains(busyStates(), c.State) }

// normalizeImage adds the "docker:" prefix Cattle's imageUuid carries when a caller left it out (§3.4).
func normalizeImage(image string) string {
	if image == "" || strings.HasPrefix(image, "docker:") {
		return image
	}
	return "docker:" + image
}

// insertInstanceLocked stores a new instance in "creating" (or directly running when settled, for seeds) with
// its address and health fields, and boots it unless settled.
func (s *Sim) insertInstanceLocked(accountID int64, fields map[string]any, startOnCreate, settled bool) *Object {
	fields["kind"] = "container"
	if _, ok := fields["startCount"]; !ok {
		fields["startCount"] = float64(0)
	}
	if _, ok := fields["system"]; !ok {
		fields["system"] = false
	}
	if _, ok := fields["labels"]; !ok {
		fields["labels"] = map[string]any{}
	}
	// A container with a health check is "initializing" from its creation until its check has run (the
	// service then reads as initializing, not unhealthy, while it deploys); without one it stays null.
	fields["healthState"] = nil
	if _, checked := s.healthRuleLocked(fieldString(fields, "imageUuid")); checked {
		fields["healthState"] = "initializing"
	}
	c := &Object{Type: "container", BaseType: "instance", AccountID: accountID, State: "creating",
		Transitioning: "yes", TransitioningMessage: "In Progress", Fields: fields}
	if settled {
		c.State, c.Transitioning, c.TransitioningMessage = "running", "no", ""
		fields["startCount"] = float64(1)
		fields["firstRunning"] = s.nowISO()
		if rule, checked := s.healthRuleLocked(fieldString(fields, "imageUuid")); checked {
			fields["healthState"] = rule
		}
	}
	s.insertLocked(c)
	c.Fields["primaryIpAddress"] = fmt.Sprintf("10.42.%d.%d", (c.ID/250)%256, c.ID%250+2)
	s.instanceChangedLocked(c)
	if !settled {
		s.bootInstanceLocked(c, startOnCreate)
	}
	return c
}

// bootInstanceLocked runs the create process of an instance already in "creating": half of ContainerStart in
// creating, then starting (or stopped when startOnCreate is false), then running and its health check.
func (s *Sim) bootInstanceLocked(c *Object, startOnCreate bool) {
	r := s.newRun(c)
	total := s.opts.Timings.ContainerStart
	half := total / 2
	r.after(half, func() {
		if !startOnCreate {
			r.finish("stopped")
			s.instanceChangedLocked(c)
			return
		}
		s.setStateLocked(c, "starting", true)
		s.instanceChangedLocked(c)
		r.after(total-half, func() { s.instanceRunningLocked(r) })
	})
}

// instanceRunningLocked ends a start: running, startCount+1, firstRunning, then the health check.
func (s *Sim) instanceRunningLocked(r run) {
	c := r.o
	c.Fields["startCount"] = float64(c.Int("startCount", 0) + 1)
	if c.Fields["firstRunning"] == nil {
		c.Fields["firstRunning"] = s.nowISO()
	}
	s.scheduleHealthCheckLocked(r)
	r.finish("running")
	s.instanceChangedLocked(c)
}

// startInstanceLocked starts a stopped instance: starting → running after ContainerStart.
func (s *Sim) startInstanceLocked(c *Object) {
	if c.State != "stopped" || c.Removed != nil {
		return
	}
	r := s.beginLocked(c, "starting")
	s.instanceChangedLocked(c)
	r.after(s.opts.Timings.ContainerStart, func() { s.instanceRunningLocked(r) })
}

// stopInstanceLocked stops an instance whatever it is doing (internal callers: deactivate, upgrade,
// evacuation): stopping → stopped after one Step. Stopped or gone instances are left alone.
func (s *Sim) stopInstanceLocked(c *Object) {
	if gone(c) || c.State == "stopped" || c.State == "stopping" {
		return
	}
	r := s.beginLocked(c, "stopping")
	s.instanceChangedLocked(c)
	r.after(s.opts.Timings.Step, func() {
		r.finish("stopped")
		s.instanceChangedLocked(c)
	})
}

// restartInstanceLocked restarts a running instance: restarting → running after one Step.
func (s *Sim) restartInstanceLocked(c *Object) {
	if c.State != "running" {
		return
	}
	r := s.beginLocked(c, "restarting")
	s.instanceChangedLocked(c)
	r.after(s.opts.Timings.Step, func() {
		c.Fields["startCount"] = float64(c.Int("startCount", 0) + 1)
		r.finish("running")
		s.instanceChangedLocked(c)
	})
}

// removeInstanceLocked stops (when running) and removes an instance: [stopping → stopped →] removing →
// removed, one Step each, as Cattle chains instance.stop before instance.remove.
func (s *Sim) removeInstanceLocked(c *Object) {
	if gone(c) {
		return
	}
	if slices.Contains([]string{"running", "starting", "restarting", "updating-running"}, c.State) {
		r := s.beginLocked(c, "stopping")
		s.instanceChangedLocked(c)
		r.after(s.opts.Timings.Step, func() {
			s.setStateLocked(c, "stopped", false)
			s.removeStoppedInstanceLocked(c)
		})
		return
	}
	s.removeStoppedInstanceLocked(c)
}

func (s *Sim) removeStoppedInstanceLocked(c *Object) {
	r := s.beginLocked(c, "removing")
	s.instanceChangedLocked(c)
	r.after(s.opts.Timings.Step, func() {
		s.markRemovedLocked(c)
		s.instanceChangedLocked(c)
	})
}

// createContainerLocked serves POST /containers: imageUuid is required, the container lands on its
// requestedHostId (or the least loaded active host) and boots; startOnCreate false leaves it stopped.
func (s *Sim) createContainerLocked(accountID int64, f map[string]any) (*Object, *apiError) {
	image, _ := f["imageUuid"].(string)
	if image == "" {
		return nil, validationError("MissingRequired", "imageUuid")
	}
	f["imageUuid"] = normalizeImage(image)
	hostID := ""
	if req, _ := f["requestedHostId"].(string); req != "" {
		h := s.objectByAPIIDLocked("host", req)
		if h == nil || h.AccountID != accountID || h.Removed != nil {
			return nil, validationError("InvalidReference", "requestedHostId")
		}
		hostID = h.APIID()
	} else {
		hostID = s.pickHostLocked(accountID, nil)
	}
	if hostID != "" {
		f["hostId"] = hostID
	} else {
		f["hostId"] = nil
	}
	if name, _ := f["name"].(string); name == "" {
		f["name"] = "r-" + s.uuidLocked()[:8]
	}
	if _, ok := f["version"]; !ok {
		f["version"] = "0"
	}
	if _, ok := f["serviceIds"]; !ok {
		f["serviceIds"] = []any{}
	}
	startOnCreate, ok := f["startOnCreate"].(bool)
	if !ok {
		startOnCreate = true
	}
	return s.insertInstanceLocked(accountID, f, startOnCreate, false), nil
}

// instanceActionLocked runs start/stop/restart/purge on a container (remove and update are generic).
func (s *Sim) instanceActionLocked(c *Object, p process) *apiError {
	switch p.name {
	case "start":
		s.startInstanceLocked(c)
	case "stop":
		s.stopInstanceLocked(c)
	case "restart":
		s.restartInstanceLocked(c)
	case "purge":
		r := s.beginLocked(c, "purging")
		r.after(s.opts.Timings.Step, func() { r.finish("purged") })
	default:
		s.startSimpleProcessLocked(c, p)
	}
	return nil
}

// fieldString reads a string member of a field map, "" when absent or not a string.
func fieldString(fields map[string]any, name string) string {
	v, _ := fields[name].(string)
	return v
}
