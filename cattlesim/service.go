package cattlesim

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Services (cattle-protocol.md §3): create/activate/update(scale)/deactivate/remove/restart and the deployment
// of units. A deployment unit is the primary container plus one container per sidekick
// (secondaryLaunchConfigs[*]), sharing a deploymentUnitUuid and a host. An active service runs `scale` units
// (global services: one per active host) of its CURRENT launch configs — an instance is current when its
// version equals its launch config's version; old ones only exist during an upgrade (upgrade.go).
//
// Kinds service and loadBalancerService deploy containers (unless their image is docker:rancher/none);
// dnsService, externalService and the rest only move state.

// Labels Cattle puts on service containers.
const (
	labelLaunchConfig       = "io.rancher.service.launch.config"
	labelDeploymentUnit     = "io.rancher.service.deployment.unit"
	labelGlobal             = "io.rancher.scheduler.global"
	labelStackName          = "io.rancher.stack.name"
	labelStackServiceName   = "io.rancher.stack_service.name"
	labelProjectName        = "io.rancher.project.name"
	labelProjectServiceName = "io.rancher.project_service.name"
	primaryLaunchConfig     = "io.rancher.service.primary.launch.config"
	noImage                 = "docker:rancher/none"
)

// launchConfigRef is one launch config of a service: the primary (name "") or a sidekick.
type launchConfigRef struct {
	name string
	cfg  map[string]any
}

// label is the io.rancher.service.launch.config value of the config's containers.
func (l launchConfigRef) label() string {
	if l.name == "" {
		return primaryLaunchConfig
	}
	return l.name
}

// version is the config's version ("0" until its first upgrade).
func (l launchConfigRef) version() string {
	if v, _ := l.cfg["version"].(string); v != "" {
		return v
	}
	return "0"
}

// serviceLaunchConfigs returns the primary config first, then the sidekicks in order.
func serviceLaunchConfigs(svc *Object) []launchConfigRef {
	primary := svc.Map("launchConfig")
	if primary == nil {
		return nil
	}
	out := []launchConfigRef{{cfg: primary}}
	secondaries, _ := svc.Fields["secondaryLaunchConfigs"].([]any)
	for _, x := range secondaries {
		if m, ok := x.(map[string]any); ok {
			if name, _ := m["name"].(string); name != "" {
				out = append(out, launchConfigRef{name: name, cfg: m})
			}
		}
	}
	return out
}

// deploysContainers reports whether the service runs containers of its own.
func deploysContainers(svc *Object) bool {
	if svc.Type != "service" && svc.Type != "loadBalancerService" {
		return false
	}
	image, _ := svc.Map("launchConfig")["imageUuid"].(string)
	return image != "" && image != noImage
}

// isGlobal reports whether the service is global (one unit per active host, §3.3).
func isGlobal(svc *Object) bool {
	return strings.EqualFold(anyStrMap(svc.Map("launchConfig")["labels"])[labelGlobal], "true")
}

// launchConfigLabel returns which launch config an instance was created from.
func launchConfigLabel(c *Object) string { return c.StrMap("labels")[labelLaunchConfig] }

// isCurrent reports whether an instance runs the current version of its launch config.
func isCurrent(c *Object, lcs []launchConfigRef) bool {
	label := launchConfigLabel(c)
	for _, lc := range lcs {
		if lc.label() == label {
			return c.Str("version") == lc.version()
		}
	}
	return false
}

// unit is one deployment unit as found among a service's instances.
type unit struct {
	uuid        string
	index       int
	hostID      string
	createIndex int
	insts       []*Object
}

// instanceFor returns the unit's newest live instance of a launch config at a version, or nil.
func (u *unit) instanceFor(lc launchConfigRef) *Object {
	var found *Object
	for _, c := range u.insts {
		if launchConfigLabel(c) == lc.label() && c.Str("version") == lc.version() {
			found = c
		}
	}
	return found
}

// unitIndex is the trailing number of a service container's name (<stack>-<service>[-<sidekick>]-<n>).
func unitIndex(c *Object) int {
	name := c.Str("name")
	n, err := strconv.Atoi(name[strings.LastIndex(name, "-")+1:])
	if err != nil {
		return 0
	}
	return n
}

// unitsLocked groups the service's live instances accepted by include into deployment units, by unit index.
func (s *Sim) unitsLocked(svc *Object, include func(*Object) bool) []*unit {
	byUUID := map[string]*unit{}
	var out []*unit
	for _, c := range s.serviceInstancesLocked(svc) {
		if gone(c) || !include(c) {
			continue
		}
		uid := c.Str("deploymentUnitUuid")
		u := byUUID[uid]
		if u == nil {
			u = &unit{uuid: uid, index: unitIndex(c), hostID: c.Str("hostId")}
			byUUID[uid] = u
			out = append(out, u)
		}
		u.insts = append(u.insts, c)
		u.createIndex = max(u.createIndex, c.Int("createIndex", 0))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].index < out[j].index })
	return out
}

// freeUnitIndexLocked returns the lowest unit index no live instance of the service uses.
func (s *Sim) freeUnitIndexLocked(svc *Object) int {
	used := map[int]bool{}
	for _, c := range s.serviceInstancesLocked(svc) {
		if !gone(c) {
			used[unitIndex(c)] = true
		}
	}
	for i := 1; ; i++ {
		if !used[i] {
			return i
		}
	}
}

// createUnitLocked deploys a new unit of the current launch configs on hostID (picked when "").
func (s *Sim) createUnitLocked(svc *Object, hostID string, settled bool) {
	if hostID == "" {
		hostID = s.pickHostLocked(svc.AccountID, svc)
	}
	uid := s.uuidLocked()
	index := s.freeUnitIndexLocked(svc)
	for _, lc := range serviceLaunchConfigs(svc) {
		s.createServiceInstanceLocked(svc, lc, uid, index, hostID, settled)
	}
}

// createServiceInstanceLocked creates one container of a unit from a launch config: name
// <stack>-<service>[-<sidekick>]-<index>, the config's fields, Cattle's service labels, and the service's next
// createIndex.
func (s *Sim) createServiceInstanceLocked(svc *Object, lc launchConfigRef, unitUUID string, index int,
	hostID string, settled bool) *Object {
	stackName := ""
	if st := s.objectByAPIIDLocked("stack", svc.Str("stackId")); st != nil {
		stackName = st.Str("name")
	}
	svcName := svc.Str("name")
	parts := []string{}
	if stackName != "" {
		parts = append(parts, stackName)
	}
	parts = append(parts, svcName)
	if lc.name != "" {
		parts = append(parts, lc.name)
	}
	parts = append(parts, strconv.Itoa(index))

	f := map[string]any{}
	for k, v := range lc.cfg {
		switch k {
		case "type", "name", "version", "labels", "links", "actions", "networkLaunchConfig",
			"dataVolumesFromLaunchConfigs":
			continue
		}
		f[k] = cloneJSON(v)
	}
	labels := cloneMap(anyMap(lc.cfg["labels"]))
	if labels == nil {
		labels = map[string]any{}
	}
	labels[labelStackName] = stackName
	labels[labelStackServiceName] = stackName + "/" + svcName
	labels[labelProjectName] = stackName
	labels[labelProjectServiceName] = stackName + "/" + svcName
	labels[labelDeploymentUnit] = unitUUID
	labels[labelLaunchConfig] = lc.label()
	createIndex := svc.Int("createIndex", 0) + 1
	svc.Fields["createIndex"] = float64(createIndex)

	image, _ := lc.cfg["imageUuid"].(string)
	f["imageUuid"] = normalizeImage(image)
	f["name"] = strings.Join(parts, "-")
	f["labels"] = labels
	f["serviceIds"] = []any{svc.APIID()}
	f["serviceId"] = svc.APIID()
	f["stackId"] = svc.Fields["stackId"]
	f["hostId"] = nil
	if hostID != "" {
		f["hostId"] = hostID
	}
	f["version"] = lc.version()
	f["createIndex"] = float64(createIndex)
	f["deploymentUnitUuid"] = unitUUID
	return s.insertInstanceLocked(svc.AccountID, f, true, settled)
}

// anyMap returns v as an object, or nil.
func anyMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// reconcilePlanLocked lists what an active service must do so that it runs exactly its units with the current
// launch configs: start stopped current instances, replace missing or failed ones, drop units stranded on a
// host that is no longer usable, create missing units and remove surplus ones (highest createIndex first).
// An empty plan means the service is in shape. Nothing happens until the returned steps run.
func (s *Sim) reconcilePlanLocked(svc *Object) []func() {
	if !deploysContainers(svc) {
		return nil
	}
	lcs := serviceLaunchConfigs(svc)
	units := s.unitsLocked(svc, func(c *Object) bool { return isCurrent(c, lcs) })
	// The account's active hosts are listed only when needed (a global service, an unplaced unit): a container
	// change reconciles its service, and its cost must not grow with the hosts of the world.
	var activeHosts []*Object
	listed := false
	listActive := func() []*Object {
		if !listed {
			activeHosts, listed = s.activeHostsLocked(svc.AccountID), true
		}
		return activeHosts
	}
	usable := func(hostID string) bool {
		if hostID == "" {
			return len(listActive()) == 0
		}
		return s.hostActiveLocked(svc.AccountID, hostID)
	}
	var plan []func()
	var keep []*unit
	for _, u := range units {
		_, complete := s.repairUnitPlanLocked(u, lcs)
		host := s.objectByAPIIDLocked("host", u.hostID)
		hostGone := u.hostID != "" && (host == nil || host.Removed != nil || host.State == "removing")
		if hostGone || (!complete && !usable(u.hostID)) {
			// A unit stranded on a host that cannot take its missing containers is replaced as a whole.
			plan = append(plan, s.removeUnitStep(u))
			continue
		}
		keep = append(keep, u)
	}
	if isGlobal(svc) {
		seen := map[string]bool{}
		var kept []*unit
		for _, u := range keep {
			if seen[u.hostID] || u.hostID == "" {
				plan = append(plan, s.removeUnitStep(u))
				continue
			}
			seen[u.hostID] = true
			kept = append(kept, u)
		}
		keep = kept
		for _, h := range listActive() {
			if hostID := h.APIID(); !seen[hostID] {
				plan = append(plan, func() { s.createUnitLocked(svc, hostID, false) })
			}
		}
	} else {
		want := max(svc.Int("scale", 1), 0)
		if len(keep) > want {
			byAge := append([]*unit(nil), keep...)
			sort.SliceStable(byAge, func(i, j int) bool { return byAge[i].createIndex > byAge[j].createIndex })
			surplus := map[*unit]bool{}
			for _, u := range byAge[:len(keep)-want] {
				surplus[u] = true
				plan = append(plan, s.removeUnitStep(u))
			}
			var kept []*unit
			for _, u := range keep {
				if !surplus[u] {
					kept = append(kept, u)
				}
			}
			keep = kept
		}
		for i := len(keep); i < want; i++ {
			plan = append(plan, func() { s.createUnitLocked(svc, "", false) })
		}
	}
	for _, u := range keep {
		fix, _ := s.repairUnitPlanLocked(u, lcs)
		plan = append(plan, fix...)
	}
	return plan
}

// repairUnitPlanLocked lists the steps that bring a unit's instances back to running (start stopped ones,
// replace failed or missing ones); complete says whether every launch config still has an instance.
func (s *Sim) repairUnitPlanLocked(u *unit, lcs []launchConfigRef) (steps []func(), complete bool) {
	complete = true
	svcOf := func() *Object {
		if len(u.insts) == 0 {
			return nil
		}
		return s.objectByAPIIDLocked("service", u.insts[0].Str("serviceId"))
	}
	for _, lc := range lcs {
		c := u.instanceFor(lc)
		switch {
		case c == nil:
			complete = false
			steps = append(steps, func() {
				if svc := svcOf(); svc != nil {
					s.createServiceInstanceLocked(svc, lc, u.uuid, u.index, u.hostID, false)
				}
			})
		case c.State == "stopped":
			steps = append(steps, func() { s.startInstanceLocked(c) })
		case c.State == "error":
			steps = append(steps, func() {
				s.removeInstanceLocked(c)
				if svc := svcOf(); svc != nil {
					s.createServiceInstanceLocked(svc, lc, u.uuid, u.index, u.hostID, false)
				}
			})
		}
	}
	return steps, complete
}

// removeUnitStep returns a plan step removing every instance of a unit.
func (s *Sim) removeUnitStep(u *unit) func() {
	return func() {
		for _, c := range u.insts {
			s.removeInstanceLocked(c)
		}
	}
}

// runPlan executes plan steps in order.
func runPlan(plan []func()) {
	for _, step := range plan {
		step()
	}
}

// serviceSettledLocked reports whether none of the service's instances is in a transitioning state.
func (s *Sim) serviceSettledLocked(svc *Object) bool {
	for _, c := range s.serviceInstancesLocked(svc) {
		if busy(c) {
			return false
		}
	}
	return true
}

// maybeReconcileLocked lets a settled active service replace what it lost (instances removed by an evacuation,
// a host added under a global service...): one Step later, if it still needs it, the update process runs.
func (s *Sim) maybeReconcileLocked(svc *Object) {
	ready := func() bool {
		return svc.State == "active" && svc.Transitioning == "no" && svc.Removed == nil &&
			len(s.reconcilePlanLocked(svc)) > 0
	}
	if !ready() {
		return
	}
	s.after(svc, s.opts.Timings.Step, func() {
		if ready() {
			s.startServiceUpdateLocked(svc)
		}
	})
}

// createServiceLocked validates and stores a service, then runs create (requested → registering → inactive)
// and, unless startOnCreate is false, activate (inactive → activating → active).
func (s *Sim) createServiceLocked(accountID int64, sc *Schema, f map[string]any) (*Object, *apiError) {
	name, _ := f["name"].(string)
	if name == "" {
		return nil, validationError("MissingRequired", "name")
	}
	if stackID, _ := f["stackId"].(string); stackID != "" {
		st := s.objectByAPIIDLocked("stack", stackID)
		if st == nil || st.AccountID != accountID || st.Removed != nil {
			return nil, validationError("InvalidReference", "stackId")
		}
		f["stackId"] = st.APIID()
	}
	if s.serviceNameTakenLocked(accountID, f["stackId"], name, nil) {
		return nil, validationError("NotUnique", "name")
	}
	if f["scale"] == nil {
		f["scale"] = float64(1)
	}
	if scale, ok := intInput(f, "scale", 1); !ok {
		return nil, validationError("InvalidFormat", "scale")
	} else if scale < 0 {
		return nil, validationError("MinLimitExceeded", "scale")
	}
	if aerr := normalizeServiceConfigs(f); aerr != nil {
		return nil, aerr
	}
	startOnCreate, ok := f["startOnCreate"].(bool)
	if !ok {
		startOnCreate = true
		f["startOnCreate"] = true
	}
	f["kind"] = sc.ID
	f["createIndex"] = float64(0)
	f["currentScale"] = float64(0)
	f["instanceIds"] = []any{}
	if _, ok := f["upgrade"]; !ok {
		f["upgrade"] = nil
	}
	if _, ok := f["system"]; !ok {
		f["system"] = false
	}
	svc := &Object{Type: sc.ID, BaseType: "service", AccountID: accountID, State: "registering",
		Transitioning: "yes", TransitioningMessage: "In Progress", Fields: f}
	s.insertLocked(svc)
	s.refreshServiceLocked(svc)
	s.refreshStackLocked(svc.Str("stackId"), accountID)
	r := s.newRun(svc)
	r.after(s.opts.Timings.Step, func() {
		r.finish("inactive")
		if startOnCreate {
			s.startServiceActivateLocked(svc)
		}
	})
	return svc, nil
}

// normalizeServiceConfigs gives launchConfig and secondaryLaunchConfigs their typed shape: "type" member,
// version "0" when unset, docker: image prefix; sidekicks need distinct names.
func normalizeServiceConfigs(f map[string]any) *apiError {
	if v, present := f["launchConfig"]; present && v != nil {
		lc, ok := v.(map[string]any)
		if !ok {
			return validationError("InvalidFormat", "launchConfig")
		}
		normalizeLaunchConfig(lc, "launchConfig")
	}
	if v, present := f["secondaryLaunchConfigs"]; present && v != nil {
		arr, ok := v.([]any)
		if !ok {
			return validationError("InvalidFormat", "secondaryLaunchConfigs")
		}
		names := map[string]bool{}
		for _, x := range arr {
			lc, ok := x.(map[string]any)
			if !ok {
				return validationError("InvalidFormat", "secondaryLaunchConfigs")
			}
			name, _ := lc["name"].(string)
			if name == "" {
				return validationError("MissingRequired", "name")
			}
			if names[name] {
				return validationError("NotUnique", "name")
			}
			names[name] = true
			normalizeLaunchConfig(lc, "secondaryLaunchConfig")
		}
	}
	return nil
}

// normalizeLaunchConfig fixes one launch config in place.
func normalizeLaunchConfig(lc map[string]any, typ string) {
	lc["type"] = typ
	delete(lc, "links")
	delete(lc, "actions")
	if v, _ := lc["version"].(string); v == "" {
		lc["version"] = "0"
	}
	if image, ok := lc["imageUuid"].(string); ok {
		lc["imageUuid"] = normalizeImage(image)
	}
}

// serviceNameTakenLocked reports whether another live service of the stack already has the name.
func (s *Sim) serviceNameTakenLocked(accountID int64, stackID any, name string, except *Object) bool {
	stack, _ := stackID.(string)
	for _, o := range s.objects["service"] {
		if o != except && o.Removed == nil && o.AccountID == accountID && o.Str("stackId") == stack &&
			strings.EqualFold(o.Str("name"), name) {
			return true
		}
	}
	return false
}

// validateServiceUpdateLocked checks a scheduled update's new values.
func (s *Sim) validateServiceUpdateLocked(svc *Object, changed map[string]any) *apiError {
	if _, ok := changed["scale"]; ok {
		scale, ok := intInput(changed, "scale", svc.Int("scale", 1))
		if !ok {
			return validationError("InvalidFormat", "scale")
		}
		if scale < 0 {
			return validationError("MinLimitExceeded", "scale")
		}
	}
	if v, ok := changed["name"]; ok {
		name, _ := v.(string)
		if name == "" {
			return validationError("MissingRequired", "name")
		}
		if s.serviceNameTakenLocked(svc.AccountID, svc.Fields["stackId"], name, svc) {
			return validationError("NotUnique", "name")
		}
	}
	return nil
}

// startServiceUpdateLocked runs service.update: active → updating-active → active reconciling units (scale),
// inactive → updating-inactive → inactive (nothing deployed).
func (s *Sim) startServiceUpdateLocked(svc *Object) {
	p, _ := processFor("service", "update")
	trans := p.transitioningFor(svc.State)
	r := s.beginLocked(svc, trans)
	s.refreshServiceLocked(svc)
	r.after(s.opts.Timings.Step, func() {
		if trans != "updating-active" || !deploysContainers(svc) {
			r.finish(p.doneFor(trans))
			return
		}
		runPlan(s.reconcilePlanLocked(svc))
		r.waitUntil(func() bool { return s.serviceSettledLocked(svc) }, func() {
			r.finish(p.doneFor(trans))
			s.refreshServiceLocked(svc)
			s.maybeReconcileLocked(svc)
		})
	})
}

// startServiceActivateLocked runs service.activate: activating, deploy (or restart) the units, wait until
// they run, active.
func (s *Sim) startServiceActivateLocked(svc *Object) {
	r := s.beginLocked(svc, "activating")
	r.after(s.opts.Timings.Step, func() {
		if !deploysContainers(svc) {
			r.finish("active")
			return
		}
		runPlan(s.reconcilePlanLocked(svc))
		r.waitUntil(func() bool { return s.serviceSettledLocked(svc) }, func() {
			r.finish("active")
			s.refreshServiceLocked(svc)
			s.maybeReconcileLocked(svc)
		})
	})
}

// startServiceDeactivateLocked runs service.deactivate: deactivating, stop every instance, inactive.
func (s *Sim) startServiceDeactivateLocked(svc *Object) {
	r := s.beginLocked(svc, "deactivating")
	r.after(s.opts.Timings.Step, func() {
		for _, c := range s.serviceInstancesLocked(svc) {
			s.stopInstanceLocked(c)
		}
		r.waitUntil(func() bool {
			for _, c := range s.serviceInstancesLocked(svc) {
				if busy(c) || c.State == "running" {
					return false
				}
			}
			return true
		}, func() {
			r.finish("inactive")
			s.refreshServiceLocked(svc)
		})
	})
}

// startServiceRemoveLocked runs service.remove: removing, remove every instance (old stopped ones too),
// removed.
func (s *Sim) startServiceRemoveLocked(svc *Object) {
	r := s.beginLocked(svc, "removing")
	r.after(s.opts.Timings.Step, func() {
		for _, c := range s.serviceInstancesLocked(svc) {
			s.removeInstanceLocked(c)
		}
		r.waitUntil(func() bool { return len(s.serviceInstancesLocked(svc)) == 0 }, func() {
			s.markRemovedLocked(svc)
			s.refreshServiceLocked(svc)
			s.refreshStackLocked(svc.Str("stackId"), svc.AccountID)
		})
	})
}

// startServiceRestartLocked runs service.restart with a rollingRestartStrategy {batchSize, intervalMillis}:
// restart the running units batch by batch, waiting intervalMillis between batches.
func (s *Sim) startServiceRestartLocked(svc *Object, input map[string]any) *apiError {
	strategy := map[string]any{}
	if v := input["rollingRestartStrategy"]; v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return validationError("InvalidFormat", "rollingRestartStrategy")
		}
		strategy = m
	}
	batchSize, interval, aerr := batchInput(strategy)
	if aerr != nil {
		return aerr
	}
	lcs := serviceLaunchConfigs(svc)
	units := s.unitsLocked(svc, func(c *Object) bool { return isCurrent(c, lcs) && c.State == "running" })
	r := s.beginLocked(svc, "restarting")
	var batch func(rest []*unit)
	batch = func(rest []*unit) {
		if len(rest) == 0 {
			r.finish("active")
			s.refreshServiceLocked(svc)
			return
		}
		n := min(batchSize, len(rest))
		var restarted []*Object
		for _, u := range rest[:n] {
			for _, c := range u.insts {
				s.restartInstanceLocked(c)
				restarted = append(restarted, c)
			}
		}
		r.waitUntil(func() bool {
			for _, c := range restarted {
				if busy(c) {
					return false
				}
			}
			return true
		}, func() {
			if len(rest) == n {
				batch(nil)
				return
			}
			r.after(interval, func() { batch(rest[n:]) })
		})
	}
	r.after(s.opts.Timings.Step, func() { batch(units) })
	return nil
}

// serviceActionLocked dispatches the service process actions.
func (s *Sim) serviceActionLocked(svc *Object, p process, input map[string]any) *apiError {
	switch p.name {
	case "activate":
		s.startServiceActivateLocked(svc)
	case "deactivate":
		s.startServiceDeactivateLocked(svc)
	case "restart":
		return s.startServiceRestartLocked(svc, input)
	case "upgrade":
		return s.startServiceUpgradeLocked(svc, input)
	case "continueupgrade":
		s.startContinueUpgradeLocked(svc)
	case "cancelupgrade":
		s.startCancelUpgradeLocked(svc)
	case "rollback":
		s.startRollbackLocked(svc)
	case "finishupgrade":
		s.startFinishUpgradeLocked(svc)
	default:
		s.startSimpleProcessLocked(svc, p)
	}
	return nil
}

// serviceLinkActionLocked serves addservicelink/removeservicelink ({serviceLink:{serviceId,name}}) and
// setservicelinks ({serviceLinks:[...]}), kept in linkedServices as alias → service id.
func (s *Sim) serviceLinkActionLocked(svc *Object, action string, input map[string]any) *apiError {
	parse := func(v any) (alias, id string, aerr *apiError) {
		m, ok := v.(map[string]any)
		if !ok {
			return "", "", validationError("InvalidFormat", "serviceLink")
		}
		raw, _ := m["serviceId"].(string)
		if raw == "" {
			return "", "", validationError("MissingRequired", "serviceId")
		}
		target := s.objectByAPIIDLocked("service", raw)
		if target == nil || target.AccountID != svc.AccountID || target.Removed != nil {
			return "", "", validationError("InvalidReference", "serviceId")
		}
		alias, _ = m["name"].(string)
		if alias == "" {
			alias = target.Str("name")
		}
		return alias, target.APIID(), nil
	}
	links := cloneMap(svc.Map("linkedServices"))
	if links == nil {
		links = map[string]any{}
	}
	switch action {
	case "addservicelink", "removeservicelink":
		alias, id, aerr := parse(input["serviceLink"])
		if aerr != nil {
			return aerr
		}
		if action == "addservicelink" {
			links[alias] = id
		} else {
			for k, v := range links {
				if v == id {
					delete(links, k)
				}
			}
		}
	case "setservicelinks":
		arr, ok := input["serviceLinks"].([]any)
		if !ok && input["serviceLinks"] != nil {
			return validationError("InvalidFormat", "serviceLinks")
		}
		links = map[string]any{}
		for _, x := range arr {
			alias, id, aerr := parse(x)
			if aerr != nil {
				return aerr
			}
			links[alias] = id
		}
	}
	svc.Fields["linkedServices"] = links
	s.touchLocked(svc)
	return nil
}

// batchInput reads batchSize (default 1, min 1) and intervalMillis (default 2000, min 100) of a strategy.
func batchInput(m map[string]any) (batchSize int, interval time.Duration, aerr *apiError) {
	batchSize, ok := intInput(m, "batchSize", 1)
	if !ok {
		return 0, 0, validationError("InvalidFormat", "batchSize")
	}
	if batchSize < 1 {
		return 0, 0, validationError("MinLimitExceeded", "batchSize")
	}
	ms, ok := intInput(m, "intervalMillis", 2000)
	if !ok {
		return 0, 0, validationError("InvalidFormat", "intervalMillis")
	}
	if ms < 100 {
		return 0, 0, validationError("MinLimitExceeded", "intervalMillis")
	}
	return batchSize, time.Duration(ms) * time.Millisecond, nil
}
