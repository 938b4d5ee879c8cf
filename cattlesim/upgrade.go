package cattlesim

import (
	"net/http"
	"slices"
	"time"
)

// In-service upgrades (cattle-protocol.md §3.4, §3.5; CA UpgradeManagerImpl): the upgrade action validates its
// input, replaces the launch configs at once (fresh version each), records the previous ones in
// service.upgrade, and then replaces deployment units batch by batch:
//
//	wait until the upgraded instances are healthy → take batchSize units still on an old version →
//	startFirst ? (start new, wait healthy, stop old) : (stop old, start new) → wait healthy → intervalMillis → …
//
// Old instances are stopped, never removed, and stay in instanceIds until finishupgrade removes them; rollback
// restores the previous configs, removes the new instances and restarts the old ones. A new instance that stays
// unhealthy blocks the loop (the service stays "upgrading"), as in Cattle. cancelupgrade and rollback supersede
// the loop's run, which stops it. toServiceStrategy (rolling move to another service) is not emulated: 422
// InvalidOption with fieldName "toServiceStrategy".

// upgradeStrategy is the parsed inServiceStrategy of the running upgrade.
type upgradeStrategy struct {
	batchSize  int
	interval   time.Duration
	startFirst bool
}

// strategyOf reads the recorded strategy of a service's upgrade.
func strategyOf(svc *Object) upgradeStrategy {
	in := anyMap(svc.Map("upgrade")["inServiceStrategy"])
	st := upgradeStrategy{batchSize: max(anyInt(in["batchSize"], 1), 1),
		interval: time.Duration(max(anyInt(in["intervalMillis"], 2000), 0)) * time.Millisecond}
	st.startFirst, _ = in["startFirst"].(bool)
	return st
}

// startServiceUpgradeLocked validates the upgrade input, switches the launch configs and starts the loop.
func (s *Sim) startServiceUpgradeLocked(svc *Object, input map[string]any) *apiError {
	inRaw, toRaw := input["inServiceStrategy"], input["toServiceStrategy"]
	if inRaw == nil && toRaw == nil {
		return validationError("MissingRequired", "Upgrade strategy needs to be set")
	}
	if inRaw == nil {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "InvalidOption", FieldName: "toServiceStrategy",
			Message: "toServiceStrategy is not supported by cattlesim; use inServiceStrategy"}
	}
	in, ok := inRaw.(map[string]any)
	if !ok {
		return validationError("InvalidFormat", "inServiceStrategy")
	}
	batchSize, interval, aerr := batchInput(in)
	if aerr != nil {
		return aerr
	}
	startFirst := false
	if v := in["startFirst"]; v != nil {
		if startFirst, ok = v.(bool); !ok {
			return validationError("InvalidFormat", "startFirst")
		}
	}
	var primary map[string]any
	if v := in["launchConfig"]; v != nil {
		if primary, ok = v.(map[string]any); !ok {
			return validationError("InvalidFormat", "launchConfig")
		}
	}
	var secondaries []map[string]any
	if v := in["secondaryLaunchConfigs"]; v != nil {
		arr, ok := v.([]any)
		if !ok {
			return validationError("InvalidFormat", "secondaryLaunchConfigs")
		}
		for _, x := range arr {
			m, ok := x.(map[string]any)
			if !ok {
				return validationError("InvalidFormat", "secondaryLaunchConfigs")
			}
			secondaries = append(secondaries, m)
		}
	}
	if primary == nil && len(secondaries) == 0 {
		return validationError("InvalidOption", "launchConfig/secondaryLaunchConfigs")
	}
	if svc.Type == "loadBalancerService" && primary == nil {
		return validationError("InvalidOption", "launchConfig")
	}
	if startFirst && svc.Bool("retainIp") {
		return validationError("InvalidOption", "startFirst")
	}
	current := serviceLaunchConfigs(svc)
	for _, sec := range secondaries {
		name, _ := sec["name"].(string)
		if name == "" {
			return validationError("MissingRequired", "name")
		}
		if !slices.ContainsFunc(current, func(l launchConfigRef) bool { return l.name == name }) {
			return validationError("InvalidOption", "secondaryLaunchConfigs")
		}
	}

	// Switch the configs now (§3.4: the service's launchConfig is replaced immediately).
	upgraded := map[string]bool{} // launch config labels that get a new version
	var prevPrimary, newPrimary any
	if primary != nil {
		prevPrimary = cloneMap(svc.Map("launchConfig"))
		lc := cloneMap(primary)
		normalizeLaunchConfig(lc, "launchConfig")
		lc["version"] = s.uuidLocked()
		svc.Fields["launchConfig"] = lc
		newPrimary = cloneMap(lc)
		upgraded[primaryLaunchConfig] = true
	}
	secList, _ := cloneJSON(svc.Fields["secondaryLaunchConfigs"]).([]any)
	var prevSecondaries, newSecondaries []any
	replace := func(name string, lc map[string]any) {
		for i, x := range secList {
			if m, ok := x.(map[string]any); ok && m["name"] == name {
				prevSecondaries = append(prevSecondaries, cloneMap(m))
				secList[i] = lc
			}
		}
		newSecondaries = append(newSecondaries, cloneMap(lc))
		upgraded[name] = true
	}
	for _, sec := range secondaries {
		name, _ := sec["name"].(string)
		lc := cloneMap(sec)
		normalizeLaunchConfig(lc, "secondaryLaunchConfig")
		lc["version"] = s.uuidLocked()
		replace(name, lc)
	}
	// Sidekicks that share the network or volumes of an upgraded config are upgraded with it (§3.4).
	for changed := true; changed; {
		changed = false
		for _, x := range secList {
			m, _ := x.(map[string]any)
			name, _ := m["name"].(string)
			if m == nil || upgraded[name] || !dependsOnUpgraded(m, svc.Str("name"), upgraded) {
				continue
			}
			lc := cloneMap(m)
			lc["version"] = s.uuidLocked()
			replace(name, lc)
			changed = true
		}
	}
	if len(secondaries) > 0 || len(prevSecondaries) > 0 {
		svc.Fields["secondaryLaunchConfigs"] = secList
	}
	svc.Fields["upgrade"] = map[string]any{
		"type": "serviceUpgrade",
		"inServiceStrategy": map[string]any{
			"type":                           "inServiceUpgradeStrategy",
			"batchSize":                      float64(batchSize),
			"intervalMillis":                 float64(interval / time.Millisecond),
			"startFirst":                     startFirst,
			"launchConfig":                   newPrimary,
			"secondaryLaunchConfigs":         jsonArrayOrNil(newSecondaries),
			"previousLaunchConfig":           prevPrimary,
			"previousSecondaryLaunchConfigs": jsonArrayOrNil(prevSecondaries),
		},
		"toServiceStrategy": nil,
	}
	s.startUpgradeLoopLocked(svc)
	return nil
}

// dependsOnUpgraded reports whether a sidekick uses the network or volumes of an upgraded config (the primary
// is referred to by the service name).
func dependsOnUpgraded(lc map[string]any, serviceName string, upgraded map[string]bool) bool {
	refers := func(name string) bool {
		if name == serviceName {
			return upgraded[primaryLaunchConfig]
		}
		return upgraded[name]
	}
	if n, _ := lc["networkLaunchConfig"].(string); n != "" && refers(n) {
		return true
	}
	for _, n := range anyStrSlice(lc["dataVolumesFromLaunchConfigs"]) {
		if refers(n) {
			return true
		}
	}
	return false
}

func jsonArrayOrNil(a []any) any {
	if len(a) == 0 {
		return nil
	}
	return a
}

// startUpgradeLoopLocked moves the service to upgrading and runs the batch loop.
func (s *Sim) startUpgradeLoopLocked(svc *Object) {
	r := s.beginLocked(svc, "upgrading")
	s.refreshServiceLocked(svc)
	r.after(s.opts.Timings.Step, func() { s.upgradeStepLocked(r) })
}

// startContinueUpgradeLocked resumes a canceled upgrade where it stopped.
func (s *Sim) startContinueUpgradeLocked(svc *Object) { s.startUpgradeLoopLocked(svc) }

// upgradeStepLocked is one iteration of the loop (see the file comment).
func (s *Sim) upgradeStepLocked(r run) {
	svc := r.o
	if !deploysContainers(svc) {
		r.finish("upgraded")
		return
	}
	if !s.upgradedHealthyLocked(svc) {
		r.after(s.pollInterval(), func() { s.upgradeStepLocked(r) })
		return
	}
	pending := s.unitsToUpgradeLocked(svc)
	if len(pending) == 0 {
		// Units lost while upgrading (an evacuated host...) come back with the new configs; a service upgraded
		// while inactive (no instances) stays undeployed until it is activated or finished.
		if plan := s.reconcilePlanLocked(svc); len(plan) > 0 && len(s.serviceInstancesLocked(svc)) > 0 {
			runPlan(plan)
			r.after(s.pollInterval(), func() { s.upgradeStepLocked(r) })
			return
		}
		r.finish("upgraded")
		s.refreshServiceLocked(svc)
		return
	}
	st := strategyOf(svc)
	batch := pending[:min(st.batchSize, len(pending))]
	next := func() {
		if len(s.unitsToUpgradeLocked(svc)) == 0 {
			s.upgradeStepLocked(r)
			return
		}
		r.after(st.interval, func() { s.upgradeStepLocked(r) })
	}
	var fresh []*Object
	startNew := func() {
		for _, u := range batch {
			fresh = append(fresh, s.createUpgradedInstancesLocked(svc, u)...)
		}
	}
	newHealthy := func() bool { return instancesHealthy(fresh) }
	old := s.oldInstancesLocked(svc, batch)
	stopOld := func() {
		for _, c := range old {
			s.stopInstanceLocked(c)
		}
	}
	oldStopped := func() bool {
		for _, c := range old {
			if !gone(c) && c.State != "stopped" {
				return false
			}
		}
		return true
	}
	if st.startFirst {
		startNew()
		r.waitUntil(newHealthy, func() {
			stopOld()
			r.waitUntil(oldStopped, next)
		})
		return
	}
	stopOld()
	r.waitUntil(oldStopped, func() {
		startNew()
		r.waitUntil(newHealthy, next)
	})
}

// instancesHealthy reports whether every instance that still exists runs and counts as healthy.
func instancesHealthy(insts []*Object) bool {
	for _, c := range insts {
		if gone(c) {
			continue
		}
		if c.State != "running" || !healthyish(c) {
			return false
		}
	}
	return true
}

// upgradedHealthyLocked reports whether the service's current-version instances are all settled and, when
// running, healthy (the loop's first wait, §3.5). Stopped ones are ignored: nothing will start them.
func (s *Sim) upgradedHealthyLocked(svc *Object) bool {
	lcs := serviceLaunchConfigs(svc)
	for _, c := range s.serviceInstancesLocked(svc) {
		if gone(c) || !isCurrent(c, lcs) || c.State == "stopped" {
			continue
		}
		if busy(c) || (c.State == "running" && !healthyish(c)) {
			return false
		}
	}
	return true
}

// unitsToUpgradeLocked lists the units still to do: lacking a live current-version instance for some launch
// config, or still running an old one (a start-first batch canceled before its old instances stopped).
func (s *Sim) unitsToUpgradeLocked(svc *Object) []*unit {
	lcs := serviceLaunchConfigs(svc)
	var out []*unit
	for _, u := range s.unitsLocked(svc, func(*Object) bool { return true }) {
		todo := slices.ContainsFunc(u.insts, func(c *Object) bool { return !isCurrent(c, lcs) && c.State != "stopped" })
		for _, lc := range lcs {
			if c := u.instanceFor(lc); c == nil || c.State == "error" {
				todo = true
			}
		}
		if todo {
			out = append(out, u)
		}
	}
	return out
}

// oldInstancesLocked returns the live instances of the batch's units that are not on their config's current
// version (the ones the batch replaces).
func (s *Sim) oldInstancesLocked(svc *Object, batch []*unit) []*Object {
	lcs := serviceLaunchConfigs(svc)
	var out []*Object
	for _, u := range batch {
		for _, c := range u.insts {
			if !gone(c) && !isCurrent(c, lcs) {
				out = append(out, c)
			}
		}
	}
	return out
}

// createUpgradedInstancesLocked creates, in a unit, the current-version instances it lacks; they join the
// unit (same deploymentUnitUuid, index and host — another active host if that one is no longer active).
func (s *Sim) createUpgradedInstancesLocked(svc *Object, u *unit) []*Object {
	hostID := u.hostID
	if hostID != "" && !s.hostActiveLocked(svc.AccountID, hostID) {
		hostID = s.pickHostLocked(svc.AccountID, svc)
	}
	var out []*Object
	for _, lc := range serviceLaunchConfigs(svc) {
		if c := u.instanceFor(lc); c != nil && c.State != "error" {
			continue
		}
		out = append(out, s.createServiceInstanceLocked(svc, lc, u.uuid, u.index, hostID, false))
	}
	return out
}

// startFinishUpgradeLocked runs finishupgrade: finishing-upgrade, remove the old instances, active.
func (s *Sim) startFinishUpgradeLocked(svc *Object) {
	r := s.beginLocked(svc, "finishing-upgrade")
	r.after(s.opts.Timings.Step, func() {
		s.removeOldInstancesLocked(svc)
		s.settleToActiveLocked(r)
	})
}

// startRollbackLocked runs rollback: restore the previous configs, remove the instances of the new ones,
// restart the old ones, active.
func (s *Sim) startRollbackLocked(svc *Object) {
	in := anyMap(svc.Map("upgrade")["inServiceStrategy"])
	if prev := anyMap(in["previousLaunchConfig"]); prev != nil {
		svc.Fields["launchConfig"] = cloneMap(prev)
	}
	if prevs, _ := in["previousSecondaryLaunchConfigs"].([]any); len(prevs) > 0 {
		secList, _ := cloneJSON(svc.Fields["secondaryLaunchConfigs"]).([]any)
		for _, p := range prevs {
			pm := anyMap(p)
			for i, x := range secList {
				if anyMap(x)["name"] == pm["name"] {
					secList[i] = cloneMap(pm)
				}
			}
		}
		svc.Fields["secondaryLaunchConfigs"] = secList
	}
	r := s.beginLocked(svc, "rolling-back")
	r.after(s.opts.Timings.Step, func() {
		s.removeOldInstancesLocked(svc)
		lcs := serviceLaunchConfigs(svc)
		for _, c := range s.serviceInstancesLocked(svc) {
			if isCurrent(c, lcs) && c.State == "stopped" {
				s.startInstanceLocked(c)
			}
		}
		s.settleToActiveLocked(r)
	})
}

// removeOldInstancesLocked removes every instance not on its config's current version.
func (s *Sim) removeOldInstancesLocked(svc *Object) {
	lcs := serviceLaunchConfigs(svc)
	for _, c := range s.serviceInstancesLocked(svc) {
		if !isCurrent(c, lcs) {
			s.removeInstanceLocked(c)
		}
	}
}

// settleToActiveLocked waits until the old instances are gone and the rest settled, restores any missing
// unit, waits again and ends the run in active.
func (s *Sim) settleToActiveLocked(r run) {
	svc := r.o
	oldGone := func() bool {
		lcs := serviceLaunchConfigs(svc)
		for _, c := range s.serviceInstancesLocked(svc) {
			if !isCurrent(c, lcs) || busy(c) {
				return false
			}
		}
		return true
	}
	r.waitUntil(oldGone, func() {
		runPlan(s.reconcilePlanLocked(svc))
		r.waitUntil(func() bool { return s.serviceSettledLocked(svc) }, func() {
			r.finish("active")
			s.refreshServiceLocked(svc)
			s.maybeReconcileLocked(svc)
		})
	})
}

// startCancelUpgradeLocked runs cancelupgrade: the loop's run is superseded; canceled-upgrade after a Step.
func (s *Sim) startCancelUpgradeLocked(svc *Object) {
	r := s.beginLocked(svc, "canceling-upgrade")
	r.after(s.opts.Timings.Step, func() { r.finish("canceled-upgrade") })
}
