package execution

import (
	"fmt"

	"github.com/rancher/scale-subscriber/cattle"
)

// Health of the containers an upgrade created, read from the cache. A container is new when its version is
// the current version of a launch config the upgrade changed: Cattle gives every upgraded config a fresh
// version UUID and its containers that version (cattle-protocol.md §3.4, §5), so the old containers, stopped
// but still listed until finishupgrade, are told apart without guessing from images or creation times.

// newContainerHealth summarises an upgrade's new containers.
type newContainerHealth struct {
	// seen: the cached service shows our upgrade (a launch config carries our marker). Until then the cache
	// holds the service from before the upgrade action and its containers say nothing about the upgrade.
	seen bool
	// total counts the new containers that exist (not removed); healthy those running and healthy (or without
	// a health check); unhealthy those unhealthy or in error.
	total, healthy, unhealthy int
	// missing counts containers the service lists (instanceIds) that the cache does not hold yet: until their
	// events arrive, nothing is decided on a partial view.
	missing int
}

// ready reports whether the upgrade may be finished: every new container is healthy and none is unknown.
func (h newContainerHealth) ready() bool {
	return h.seen && h.missing == 0 && h.healthy == h.total
}

// String is the step recorded when the summary changes: "new containers healthy 1/2".
func (h newContainerHealth) String() string {
	s := fmt.Sprintf("new containers healthy %d/%d", h.healthy, h.total)
	if h.unhealthy > 0 {
		s += fmt.Sprintf(", %d unhealthy", h.unhealthy)
	}
	if h.missing > 0 {
		s += fmt.Sprintf(", %d not seen yet", h.missing)
	}
	return s
}

// newContainers reads the health of the new containers of our upgrade (marked marker) of svc from the cache.
func (x *Executor) newContainers(svc *cattle.Service, marker string) newContainerHealth {
	versions, seen := upgradedVersions(svc, marker)
	h := newContainerHealth{seen: seen}
	if !seen {
		return h
	}
	cached := make(map[string]bool)
	for _, c := range x.cache.InstancesOfService(svc.ID) {
		cached[c.ID] = true
		if !versions[c.Version] || instanceGone(c) {
			continue
		}
		h.total++
		switch {
		case instanceUnhealthy(c):
			h.unhealthy++
		case c.State == "running" && healthyState(c.HealthState):
			h.healthy++
		}
	}
	for _, id := range svc.InstanceIDs {
		if !cached[id] {
			h.missing++
		}
	}
	return h
}

// upgradedVersions returns the versions of the launch configs the current upgrade of svc changed, and whether
// the service shows our upgrade at all (a launch config carrying marker). A config changed when the
// upgrade's record has a previous config of the same name with another version; configs carrying our marker
// always count (Cattle also upgrades, without our label, sidekicks that share the network or volumes of an
// upgraded config, and records their previous configs too, so they are found by the first rule).
func upgradedVersions(svc *cattle.Service, marker string) (map[string]bool, bool) {
	prev := previousVersions(svc)
	versions := make(map[string]bool)
	seen := false
	for _, lc := range launchConfigs(svc) {
		ours := lc.Labels()[MarkerLabel] == marker
		seen = seen || ours
		old, changed := prev[lc.Name()]
		if ours || (changed && old != lc.Version()) {
			versions[lc.Version()] = true
		}
	}
	return versions, seen
}

// previousVersions maps the launch config names ("" = primary) recorded as previous by the service's last
// upgrade to their versions.
func previousVersions(svc *cattle.Service) map[string]string {
	out := make(map[string]string)
	if svc.Upgrade == nil || svc.Upgrade.InServiceStrategy == nil {
		return out
	}
	in := svc.Upgrade.InServiceStrategy
	if in.PreviousLaunchConfig != nil {
		out[""] = in.PreviousLaunchConfig.Version()
	}
	for i := range in.PreviousSecondaryLaunchConfigs {
		lc := &in.PreviousSecondaryLaunchConfigs[i]
		out[lc.Name()] = lc.Version()
	}
	return out
}

// previousConfig returns the launch config named name as it was before the service's last upgrade.
func previousConfig(svc *cattle.Service, name string) *cattle.LaunchConfig {
	if svc.Upgrade == nil || svc.Upgrade.InServiceStrategy == nil {
		return nil
	}
	in := svc.Upgrade.InServiceStrategy
	if name == "" {
		return in.PreviousLaunchConfig
	}
	for i := range in.PreviousSecondaryLaunchConfigs {
		if in.PreviousSecondaryLaunchConfigs[i].Name() == name {
			return &in.PreviousSecondaryLaunchConfigs[i]
		}
	}
	return nil
}

// launchConfigs returns the primary config (named "" whatever its name member says) and the sidekicks.
func launchConfigs(svc *cattle.Service) []namedConfig {
	var out []namedConfig
	if svc.LaunchConfig != nil {
		out = append(out, namedConfig{LaunchConfig: svc.LaunchConfig})
	}
	for i := range svc.SecondaryLaunchConfigs {
		lc := &svc.SecondaryLaunchConfigs[i]
		out = append(out, namedConfig{LaunchConfig: lc, name: lc.Name()})
	}
	return out
}

// namedConfig is a launch config with the name upgrades match it by ("" for the primary).
type namedConfig struct {
	*cattle.LaunchConfig
	name string
}

// Name is "" for the primary, the sidekick's name otherwise.
func (c namedConfig) Name() string { return c.name }

// instanceGone reports whether a container is removed or on its way out.
func instanceGone(c *cattle.Instance) bool {
	switch c.State {
	case "removing", "removed", "purging", "purged":
		return true
	}
	return c.IsRemoved()
}

// instanceUnhealthy reports whether a container failed its health check or failed to run.
func instanceUnhealthy(c *cattle.Instance) bool {
	switch c.HealthState {
	case "unhealthy", "updating-unhealthy":
		return true
	}
	return c.State == "error" || c.State == "erroring"
}

// healthyState is Cattle's "counts as healthy": healthy, updating-healthy, or no health check (null).
func healthyState(hs string) bool {
	return hs == "" || hs == "healthy" || hs == "updating-healthy"
}
