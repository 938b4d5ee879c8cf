package execution

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/upgrade"
)

// Upgrade phases of a service we are upgrading.
const (
	phaseUpgrading = "upgrading" // the upgrade action was accepted; waiting for "upgraded"
	phaseFinishing = "finishing" // finishupgrade was accepted; waiting for "active"
)

// upgradeState is the push work of one service: at most one upgrade we started (running) and the newest push
// waiting for it (pending). A newer push supersedes a pending one: only the last image matters.
type upgradeState struct {
	running *intent
	phase   string
	pending *intent
	// left is true once the running upgrade's service was seen in a state other than active.
	left bool
	// waiting is the reason last recorded for a pending push that cannot start yet, to record each once.
	waiting string
}

// upgrades tracks the services with push work. The map is only touched by the worker of each service's key and
// by readers, so a mutex is enough.
type upgrades struct {
	mu sync.Mutex
	m  map[string]*upgradeState
}

func (u *upgrades) get(id string) *upgradeState {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.m[id]
}

func (u *upgrades) ensure(id string) *upgradeState {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = make(map[string]*upgradeState)
	}
	st := u.m[id]
	if st == nil {
		st = &upgradeState{}
		u.m[id] = st
	}
	return st
}

func (u *upgrades) drop(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.m, id)
}

// Len is the number of services with push work.
func (u *upgrades) Len() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.m)
}

// wantUpgrade files a push for a service, superseding a push that has not started.
func (x *Executor) wantUpgrade(id string, in *intent) {
	st := x.upgrades.ensure(id)
	if st.pending != nil {
		st.pending.entry.SetDecision("superseded by a newer push (" + in.entry.ID() + ")")
		st.pending.finish(OutcomeIgnored, nil, Answer{})
	}
	st.pending = in
	st.waiting = ""
	if st.running != nil {
		// Recorded now: startUpgrade, which records why a push waits, runs only once the running upgrade is over.
		in.entry.SetDecision("waiting: upgrade " + st.running.entry.ID() + " runs on the service")
	}
}

// stepUpgrade moves a service's push work one step, from the service's current state in the cache. It runs for
// every queued key of the service, and resource.change events queue it, so the "upgraded" state showing up is
// what triggers finishupgrade (no polling, no give-up timer).
func (x *Executor) stepUpgrade(ctx context.Context, key, id string) error {
	st := x.upgrades.get(id)
	if st == nil {
		return nil
	}
	svc, ok := x.cache.Service(id)
	if !ok || svc.IsRemoved() {
		for _, in := range []*intent{st.running, st.pending} {
			if in != nil {
				in.entry.SetDecision("service removed")
				in.finish(OutcomeFailed, fmt.Errorf("service %s was removed", id), Answer{})
			}
		}
		x.upgrades.drop(id)
		return nil
	}
	if st.running != nil {
		if err := x.stepRunning(ctx, key, svc, st); err != nil || st.running != nil {
			return err
		}
	}
	if st.pending == nil {
		x.upgrades.drop(id)
		return nil
	}
	return x.startUpgrade(ctx, key, svc, st)
}

// stepRunning follows the upgrade we started.
func (x *Executor) stepRunning(ctx context.Context, key string, svc *cattle.Service, st *upgradeState) error {
	in := st.running
	if svc.State != "active" {
		// Right after the upgrade action the cache may still show the service "active" from before it; only
		// once it has shown another state does "active" mean the upgrade is over.
		st.left = true
	}
	switch {
	case svc.Transitioning == cattle.TransitioningError:
		in.entry.SetDecision("upgrade failed in cattle: " + svc.TransitioningMessage)
		in.finish(OutcomeFailed, errors.New(svc.TransitioningMessage), Answer{})
		st.running = nil
	case svc.State == "upgraded" && st.phase == phaseUpgrading:
		start := time.Now()
		_, err := x.cattle.ServiceAction(ctx, svc, "finishupgrade", nil)
		recordCall([]*Entry{in.entry}, http.MethodPost, "services/"+svc.ID+"?action=finishupgrade", start, err)
		if isConflict(err) {
			x.queue.AddAfter(key, waitGuard)
			return nil
		}
		if err != nil {
			if cattle.IsRetryable(err) {
				return err
			}
			in.finish(OutcomeFailed, err, Answer{})
			st.running = nil
			return nil
		}
		st.phase = phaseFinishing
	case svc.State == "active" && st.phase == phaseFinishing:
		in.entry.SetDecision(in.entry.Snapshot().Decision + "; finished")
		in.finish(OutcomeDone, nil, Answer{})
		x.log.WithFields(logFields(key, "serviceUpgrade")).Info("service upgraded")
		st.running = nil
	case svc.State == "active" && st.phase == phaseUpgrading && st.left:
		// The service left "active" for our upgrade and is back without our finishupgrade: someone rolled it
		// back or finished it outside scale-subscriber.
		in.entry.SetDecision(in.entry.Snapshot().Decision + "; rolled back or replaced outside scale-subscriber")
		in.finish(OutcomeFailed, errors.New("upgrade undone outside scale-subscriber"), Answer{})
		st.running = nil
	}
	return nil
}

// startUpgrade starts the pending push when the service can be upgraded; otherwise it records why not and
// waits for the service's next change.
func (x *Executor) startUpgrade(ctx context.Context, key string, svc *cattle.Service, st *upgradeState) error {
	in := st.pending
	if busy(svc) || !svc.HasAction("upgrade") {
		reason := fmt.Sprintf("waiting: service is %s, not upgradable", svc.State)
		if svc.State == "upgraded" {
			reason = "waiting: service is upgraded by another upgrade; finish or roll it back"
		}
		if reason != st.waiting {
			st.waiting = reason
			in.entry.SetDecision(reason)
			x.log.WithFields(logFields(key, "serviceUpgrade")).WithField("state", svc.State).Warn("push waits for the service")
		}
		return nil
	}
	in.entry.Running()
	w := in.upgrade
	plan, ok, reason := upgrade.Plan(workloadOf(svc), w.selector, w.push, w.tag)
	if !ok {
		in.entry.SetDecision("none: " + reason)
		in.finish(OutcomeIgnored, nil, Answer{})
		st.pending = nil
		return nil
	}
	input, err := upgradeInput(svc, plan, w.strategy)
	if err != nil {
		in.finish(OutcomeFailed, err, Answer{})
		st.pending = nil
		return nil
	}
	start := time.Now()
	_, err = x.cattle.ServiceAction(ctx, svc, "upgrade", input)
	recordCall([]*Entry{in.entry}, http.MethodPost, "services/"+svc.ID+"?action=upgrade", start, err)
	if err != nil {
		var notAvailable *cattle.ActionNotAvailableError
		if cattle.IsRetryable(err) {
			return err
		}
		if errors.As(err, &notAvailable) || isConflict(err) {
			// The cached state was stale or another process started; the event that shows the real state
			// queues us again (the guard re-add covers a change we never hear of).
			x.queue.AddAfter(key, waitGuard)
			return nil
		}
		in.finish(OutcomeFailed, err, Answer{})
		st.pending = nil
		return nil
	}
	in.entry.SetDecision(fmt.Sprintf("upgrade %s to %s (batch %d, interval %dms, startFirst %t)",
		changedNames(plan), w.push.Image, w.strategy.BatchSize, w.strategy.IntervalMillis, w.strategy.StartFirst))
	st.running, st.pending, st.phase, st.waiting, st.left = in, nil, phaseUpgrading, "", false
	return nil
}

func changedNames(p upgrade.UpgradePlan) string {
	s := ""
	for i, c := range p.Changes {
		if i > 0 {
			s += ", "
		}
		if c.Name == "" {
			s += "primary"
		} else {
			s += "sidekick " + c.Name
		}
	}
	return s
}

// workloadOf converts a Cattle service to the upgrade planner's view.
func workloadOf(svc *cattle.Service) upgrade.Workload {
	w := upgrade.Workload{ID: svc.ID, Kind: svc.Kind}
	if svc.LaunchConfig != nil {
		w.LaunchConfigs = append(w.LaunchConfigs, upgrade.LaunchConfig{ImageUUID: svc.LaunchConfig.ImageUUID(),
			Labels: svc.LaunchConfig.Labels()})
	}
	for i := range svc.SecondaryLaunchConfigs {
		lc := &svc.SecondaryLaunchConfigs[i]
		w.LaunchConfigs = append(w.LaunchConfigs, upgrade.LaunchConfig{Name: lc.Name(), ImageUUID: lc.ImageUUID(),
			Labels: lc.Labels()})
	}
	return w
}

// upgradeInput builds the upgrade action's input: the FULL current launch configs of the changed primary and
// sidekicks (Cattle replaces them wholesale), each with the new image and the pull-always label.
func upgradeInput(svc *cattle.Service, plan upgrade.UpgradePlan, s upgrade.Strategy) (cattle.ServiceUpgrade, error) {
	strategy := &cattle.InServiceStrategy{BatchSize: s.BatchSize, IntervalMillis: s.IntervalMillis, StartFirst: s.StartFirst}
	for _, ch := range plan.Changes {
		var src *cattle.LaunchConfig
		if ch.Name == "" {
			src = svc.LaunchConfig
		} else {
			for i := range svc.SecondaryLaunchConfigs {
				if svc.SecondaryLaunchConfigs[i].Name() == ch.Name {
					src = &svc.SecondaryLaunchConfigs[i]
				}
			}
		}
		if src == nil {
			return cattle.ServiceUpgrade{}, fmt.Errorf("build upgrade of service %s: launch config %q not found", svc.ID, ch.Name)
		}
		lc := src.Clone()
		lc.SetImageUUID(ch.ImageUUID)
		lc.SetLabels(ch.Labels)
		if ch.Name == "" {
			strategy.LaunchConfig = lc
		} else {
			strategy.SecondaryLaunchConfigs = append(strategy.SecondaryLaunchConfigs, *lc)
		}
	}
	return cattle.ServiceUpgrade{InServiceStrategy: strategy}, nil
}
