package cattlesim

import (
	"slices"
)

// Health and derived fields: container health checks driven by the health rules, the service fields Cattle
// computes from its instances (currentScale, instanceIds, healthState — §3.1, §3.2) and the host's instanceIds.
// Derived fields are kept current in o.Fields (the REST layer renders Fields as-is) and the owner is touched
// whenever one of them changes, so resource.change events carry them.

// instanceHealthStates are the healthState values a container can show (§5); "" stands for null.
func instanceHealthStates() []string {
	return []string{"", "healthy", "unhealthy", "initializing", "reinitializing", "updating-healthy",
		"updating-unhealthy", "updating-reinitializing"}
}

// healthRuleLocked returns the healthState new containers of imageUUID reach once their check ran, and whether
// they have a health check at all (a rule of "" — null on the control API — means no check: healthState null).
// Images without a rule are healthy.
func (s *Sim) healthRuleLocked(imageUUID string) (state string, checked bool) {
	rule, ok := s.healthRules[imageUUID]
	if !ok {
		return "healthy", true
	}
	return rule, rule != ""
}

// healthyish is Cattle's "counts as healthy" test: healthy, updating-healthy, or no health check (§3.2, §3.5).
func healthyish(o *Object) bool {
	switch hs := o.Fields["healthState"].(type) {
	case nil:
		return true
	case string:
		return hs == "" || hs == "healthy" || hs == "updating-healthy"
	}
	return false
}

// setContainerHealthLocked is the control surface's health override: it sets a container's healthState ("" =
// null) and lets the service react (health gating of upgrades, service healthState).
func (s *Sim) setContainerHealthLocked(o *Object, healthState string) *apiError {
	if o == nil || o.BaseType != "instance" {
		return errNotFound()
	}
	if !slices.Contains(instanceHealthStates(), healthState) {
		return validationError("InvalidOption", "healthState")
	}
	var v any
	if healthState != "" {
		v = healthState
	}
	if jsonEqual(o.Fields["healthState"], v) {
		return nil
	}
	o.Fields["healthState"] = v
	s.touchLocked(o)
	s.instanceChangedLocked(o)
	return nil
}

// scheduleHealthCheckLocked gives a container that just reached running its health check: "initializing" until
// HealthCheck elapsed, then the image's rule. Containers without a check keep healthState null. The check is
// part of the run that started the container, so a stop or removal in between cancels it; a manual override
// (setContainerHealthLocked) wins because the rule only replaces "initializing".
func (s *Sim) scheduleHealthCheckLocked(r run) {
	c := r.o
	rule, checked := s.healthRuleLocked(c.Str("imageUuid"))
	if !checked {
		c.Fields["healthState"] = nil
		return
	}
	c.Fields["healthState"] = "initializing"
	r.after(s.opts.Timings.HealthCheck, func() {
		if c.State != "running" || c.Str("healthState") != "initializing" {
			return
		}
		c.Fields["healthState"] = rule
		s.touchLocked(c)
		s.instanceChangedLocked(c)
	})
}

// instanceChangedLocked is called after every change of an instance's state, health or placement: it refreshes
// the derived fields of its services and host and lets an active service reconcile lost units.
func (s *Sim) instanceChangedLocked(c *Object) {
	if s.populating {
		return // Populate computes the derived fields once, after its last insert
	}
	ids := c.StrSlice("serviceIds")
	if id := c.Str("serviceId"); id != "" && !slices.Contains(ids, id) {
		ids = append(ids, id)
	}
	for _, id := range ids {
		if svc := s.objectByAPIIDLocked("service", id); svc != nil && svc.AccountID == c.AccountID {
			s.refreshServiceLocked(svc)
			s.maybeReconcileLocked(svc)
		}
	}
	if h := c.Str("hostId"); h != "" {
		if host := s.objectByAPIIDLocked("host", h); host != nil {
			s.refreshHostLocked(host)
		}
	}
}

// refreshServiceLocked recomputes currentScale, instanceIds and healthState and touches the service when one
// of them changed.
func (s *Sim) refreshServiceLocked(svc *Object) {
	insts := s.serviceInstancesLocked(svc)
	ids := make([]any, 0, len(insts))
	for _, c := range insts {
		ids = append(ids, c.APIID())
	}
	derived := map[string]any{
		"instanceIds":  ids,
		"currentScale": float64(s.currentScaleLocked(svc, insts)),
		"healthState":  s.serviceHealthLocked(svc, insts),
	}
	changed := false
	for k, v := range derived {
		if !jsonEqual(svc.Fields[k], v) {
			svc.Fields[k] = v
			changed = true
		}
	}
	if changed {
		s.touchLocked(svc)
	}
}

// currentScaleLocked counts the deployment units whose primary instance runs the current launch config: the
// number the scale field is compared with (sidekicks do not multiply it).
func (s *Sim) currentScaleLocked(svc *Object, insts []*Object) int {
	lcs := serviceLaunchConfigs(svc)
	if len(lcs) == 0 || !deploysContainers(svc) {
		return 0
	}
	n := 0
	for _, c := range insts {
		if c.State == "running" && launchConfigLabel(c) == lcs[0].label() && c.Str("version") == lcs[0].version() {
			n++
		}
	}
	return n
}

// serviceHealthLocked is CA calculateServiceHealthState (§3.2): for kinds that deploy containers, expected =
// scale × (1 + sidekicks) (scalePolicy.min replaces scale when set; global services: instances on active
// hosts); running instances that count as healthy ≥ expected ⇒ healthy, else initializing if any instance is
// (re)initializing, else degraded if some are healthy, else unhealthy. Other kinds are always healthy.
func (s *Sim) serviceHealthLocked(svc *Object, insts []*Object) string {
	if !deploysContainers(svc) {
		return "healthy"
	}
	expected := 0
	if isGlobal(svc) {
		for _, c := range insts {
			if s.hostActiveLocked(svc.AccountID, c.Str("hostId")) {
				expected++
			}
		}
	} else {
		scale := svc.Int("scale", 1)
		if pol := svc.Map("scalePolicy"); pol != nil {
			if m := anyInt(pol["min"], -1); m >= 0 {
				scale = m
			}
		}
		expected = scale * len(serviceLaunchConfigs(svc))
	}
	healthy, initializing := 0, false
	for _, c := range insts {
		hs := c.Str("healthState")
		if hs == "initializing" || hs == "reinitializing" {
			initializing = true
		}
		if c.State == "running" && healthyish(c) {
			healthy++
		}
	}
	switch {
	case healthy >= expected:
		return "healthy"
	case initializing:
		return "initializing"
	case healthy > 0:
		return "degraded"
	}
	return "unhealthy"
}

// refreshHostLocked recomputes a host's instanceIds (its non-removed instances) and touches it on change.
func (s *Sim) refreshHostLocked(host *Object) {
	ids := []any{}
	for _, c := range s.hostInstancesWhereLocked(host, func(*Object) bool { return true }) {
		ids = append(ids, c.APIID())
	}
	if !jsonEqual(host.Fields["instanceIds"], ids) {
		host.Fields["instanceIds"] = ids
		s.touchLocked(host)
	}
}

// healthActionLocked runs a health process (updatehealthy...): healthState moves to the process's transitioning
// value now and to its done value one Step later, unless the health changed meanwhile.
func (s *Sim) healthActionLocked(c *Object, hp process) *apiError {
	if !hp.startsFrom(c.Str("healthState")) {
		return errActionNotAvailable()
	}
	c.Fields["healthState"] = hp.transitioning
	s.touchLocked(c)
	s.instanceChangedLocked(c)
	s.after(c, s.opts.Timings.Step, func() {
		if c.Str("healthState") != hp.transitioning {
			return
		}
		c.Fields["healthState"] = hp.done
		s.touchLocked(c)
		s.instanceChangedLocked(c)
	})
	return nil
}
