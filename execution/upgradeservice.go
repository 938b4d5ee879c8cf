package execution

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/upgrade"
)

// Push work of one service. Pushes are serialized per service by its key's worker: at most one upgrade runs
// (ours, followed to its end), and the newest push waits for it; a newer push supersedes a waiting one, so
// only the last image is applied. The run is driven by the service's and its containers' changes in the cache
// (resource.change queues service:<id>, for instances too, see handlers.KeysFor); its deadline and the grace
// of unhealthy containers are delayed re-adds of the key, after which the state is read again and decided
// (level-triggered), never a sleeping goroutine.

// Phases of a run.
const (
	phaseUpgrading   = "upgrading"    // the upgrade action was accepted; waiting for "upgraded" and healthy
	phaseFinishing   = "finishing"    // finishupgrade was accepted; waiting for "active"
	phaseRollingBack = "rolling-back" // rollback was accepted; waiting for "active"
)

// safety is what a run does when it goes wrong, from the receiver's serviceUpgradeConfig.
type safety struct {
	// finishTimeout bounds the run from the upgrade action to finishupgrade.
	finishTimeout time.Duration
	// grace is how long new containers may be unhealthy.
	grace time.Duration
	// rollback: roll a failed run back (else leave the service as it is and report).
	rollback bool
}

// upgradeRun is the upgrade of one service we started (or adopted after a restart) and follow to its end.
type upgradeRun struct {
	in    *intent
	phase string
	// marker is the value of MarkerLabel on the launch configs we upgraded; it tells our new containers and
	// our upgrade apart after a restart.
	marker   string
	started  time.Time
	deadline time.Time
	safety   safety
	// left is true once the service was seen in a state other than active: from then on "active" without our
	// finish means someone else ended the upgrade.
	left bool
	// unhealthySince is when new containers were first seen unhealthy, zero while none is.
	unhealthySince time.Time
	// progress is the last health summary recorded as a step, to record each change once.
	progress string
	// why and outcome say how a rollback in flight ends the record.
	why     string
	outcome string
}

// upgradeState is the push work of one service: the run, and the newest push waiting for it.
type upgradeState struct {
	run     *upgradeRun
	pending *intent
	// waiting is the reason last recorded for a pending push that cannot start yet, to record each once.
	waiting string
}

// upgrades tracks the services with push work, and the runs given up on that the service still shows (so
// they are not adopted again). The maps are only changed by the worker of each service's key, and read by
// others, so a mutex is enough.
type upgrades struct {
	mu sync.Mutex
	m  map[string]*upgradeState
	// released maps a service id to the marker of a run that ended while the service still showed it
	// (rollbackOnFailure false, a failed rollback): that upgrade is left to a human, not adopted.
	released map[string]string
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

func (u *upgrades) release(id, marker string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.released == nil {
		u.released = make(map[string]string)
	}
	u.released[id] = marker
}

func (u *upgrades) isReleased(id, marker string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.released[id] == marker
}

func (u *upgrades) forgetReleased(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.released, id)
}

// Len is the number of services with push work.
func (u *upgrades) Len() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.m)
}

// endUpgrade records the end of a push's execution. A push that was not applied is forgotten by the push
// deduper, so the registry's (or a human's) redelivery of it is applied.
func (x *Executor) endUpgrade(in *intent, outcome string, err error) {
	if outcome != OutcomeDone && in.upgrade != nil {
		x.pushes.Forget(in.upgrade.dedupe)
	}
	in.finish(outcome, err, Answer{})
}

// wantUpgrade files a push for a service, superseding a push that has not started.
func (x *Executor) wantUpgrade(id string, in *intent) {
	st := x.upgrades.ensure(id)
	if st.pending != nil {
		msg := "superseded by a newer push (" + in.entry.ID() + ")"
		st.pending.entry.SetDecision(msg)
		st.pending.entry.Step(msg)
		x.endUpgrade(st.pending, OutcomeIgnored, nil)
	}
	st.pending = in
	st.waiting = ""
	if st.run != nil {
		// Recorded now: startUpgrade, which records why a push waits, runs only once the running upgrade is over.
		msg := "waiting: upgrade " + st.run.in.entry.ID() + " runs on the service"
		in.entry.SetDecision(msg)
		in.entry.Step("waiting behind upgrade " + st.run.in.entry.ID())
	}
}

// stepUpgrade moves a service's push work one step, from the service's current state in the cache. It runs for
// every queued key of the service: the service's and its containers' changes queue it, so "upgraded" with
// healthy new containers showing up is what triggers finishupgrade.
func (x *Executor) stepUpgrade(ctx context.Context, key, id string) error {
	st := x.upgrades.get(id)
	svc, ok := x.cache.Service(id)
	if !ok || svc.IsRemoved() {
		if st == nil {
			x.upgrades.forgetReleased(id)
			return nil
		}
		if st.pending != nil {
			st.pending.entry.SetDecision("service removed")
			x.endUpgrade(st.pending, OutcomeFailed, fmt.Errorf("service %s was removed", id))
		}
		if st.run != nil {
			st.run.in.entry.Step("service removed")
			x.endUpgrade(st.run.in, OutcomeFailed, fmt.Errorf("service %s was removed", id))
		}
		x.upgrades.drop(id)
		x.upgrades.forgetReleased(id)
		return nil
	}
	if st == nil || st.run == nil {
		if run := x.adopt(key, svc); run != nil {
			st = x.upgrades.ensure(id)
			st.run = run
		}
	}
	if st == nil {
		return nil
	}
	if st.run != nil {
		if err := x.stepRun(ctx, key, svc, st); err != nil || st.run != nil {
			return err
		}
	}
	if st.pending == nil {
		x.upgrades.drop(id)
		return nil
	}
	return x.startUpgrade(ctx, key, svc, st)
}

// endRun ends the run with an outcome. A run that ends while the service still shows it (left for a human)
// is released, so it is not adopted again.
func (x *Executor) endRun(key string, svc *cattle.Service, st *upgradeState, outcome, msg string, err error) {
	r := st.run
	r.in.entry.Step(msg)
	r.in.entry.SetDecision(r.in.entry.Snapshot().Decision + "; " + msg)
	x.endUpgrade(r.in, outcome, err)
	if svc.State == "upgrading" || svc.State == "upgraded" || svc.State == "canceled-upgrade" {
		x.upgrades.release(svc.ID, r.marker)
	}
	log := x.log.WithFields(logFields(key, "serviceUpgrade")).WithField("execution", r.in.entry.ID()).
		WithField("outcome", outcome)
	if err != nil {
		log.WithError(err).Warn("service upgrade ended")
	} else {
		log.Info("service upgrade ended")
	}
	st.run = nil
}

// stepRun follows the run from the cached service and its containers.
func (x *Executor) stepRun(ctx context.Context, key string, svc *cattle.Service, st *upgradeState) error {
	r := st.run
	if svc.State != "active" {
		// Right after the upgrade action the cache may still show the service "active" from before it; only
		// once it has shown another state does "active" mean the upgrade is over.
		r.left = true
	}
	settledActive := svc.State == "active" && svc.Transitioning != cattle.TransitioningYes
	switch r.phase {
	case phaseFinishing:
		switch {
		case svc.Transitioning == cattle.TransitioningError:
			return x.failRun(ctx, key, svc, st, "finishupgrade failed in cattle: "+svc.TransitioningMessage, false)
		case settledActive:
			x.endRun(key, svc, st, OutcomeDone, "finished", nil)
		}
		return nil
	case phaseRollingBack:
		switch {
		case svc.Transitioning == cattle.TransitioningError:
			x.endRun(key, svc, st, OutcomeFailed, "rollback failed in cattle: "+svc.TransitioningMessage+" (rolling back because "+r.why+")",
				errors.New(svc.TransitioningMessage))
		case settledActive:
			x.endRun(key, svc, st, r.outcome, "rolled back: "+r.why, errors.New(r.why))
		}
		return nil
	}

	now := x.now()
	h := x.newContainers(svc, r.marker)
	switch {
	case settledActive && r.left:
		// The service left "active" for our upgrade and is back without our finishupgrade or rollback.
		what := "rolled back outside scale-subscriber"
		if h.seen {
			what = "finished outside scale-subscriber"
		}
		x.endRun(key, svc, st, OutcomeFailed, what, errors.New("upgrade "+what))
		return nil
	case svc.State == "canceled-upgrade":
		x.endRun(key, svc, st, OutcomeFailed, "canceled outside scale-subscriber; left canceled-upgrade",
			errors.New("upgrade canceled outside scale-subscriber"))
		return nil
	case svc.Transitioning == cattle.TransitioningError:
		return x.failRun(ctx, key, svc, st, "the upgrade failed in cattle: "+svc.TransitioningMessage, false)
	}
	// Before the first new container exists there is no progress to report, unless the upgrade is over.
	if h.seen && (h.total > 0 || svc.State == "upgraded") {
		if p := h.String(); p != r.progress {
			r.progress = p
			r.in.entry.Step(p)
		}
	}
	if h.unhealthy > 0 {
		if r.unhealthySince.IsZero() {
			r.unhealthySince = now
			r.in.entry.Step(fmt.Sprintf("%d of %d new containers unhealthy; rolling back after %s unless they recover",
				h.unhealthy, h.total, r.safety.grace))
		}
		if !now.Before(r.unhealthySince.Add(r.safety.grace)) {
			return x.failRun(ctx, key, svc, st, fmt.Sprintf("%d of %d new containers unhealthy for %s",
				h.unhealthy, h.total, r.safety.grace), false)
		}
	} else if !r.unhealthySince.IsZero() {
		r.unhealthySince = time.Time{}
		r.in.entry.Step("new containers no longer unhealthy")
	}
	// Finishing comes before the deadline: an upgrade found ready, however late, is better finished than
	// rolled back.
	if svc.State == "upgraded" && svc.Transitioning != cattle.TransitioningYes && h.ready() {
		err := x.serviceAction(ctx, r.in.entry, svc, "finishupgrade", nil)
		switch {
		case retryable(err):
			return err
		case refused(err):
			x.queue.AddAfter(key, waitGuard)
			return nil
		case err != nil:
			return x.failRun(ctx, key, svc, st, "finishupgrade refused: "+err.Error(), false)
		}
		r.phase = phaseFinishing
		r.in.entry.Step("finishupgrade")
		return nil
	}
	if !now.Before(r.deadline) {
		return x.failRun(ctx, key, svc, st, fmt.Sprintf("not finished within %s (service %s, %s)",
			r.safety.finishTimeout, svc.State, h), true)
	}
	x.wake(key, r, now)
	return nil
}

// wake schedules the run's next timed decision: the deadline, or the end of the unhealthy grace.
func (x *Executor) wake(key string, r *upgradeRun, now time.Time) {
	next := r.deadline
	if !r.unhealthySince.IsZero() {
		if g := r.unhealthySince.Add(r.safety.grace); g.Before(next) {
			next = g
		}
	}
	x.queue.AddAfter(key, max(next.Sub(now), 0))
}

// retryable reports whether the worker should retry a failed Cattle call with backoff (unreachable, 5xx).
func retryable(err error) bool { return err != nil && cattle.IsRetryable(err) }

// refused reports whether an action was refused because the cached state was stale or another process holds
// the service: the change that shows the real state queues the key again, and a guard re-add covers a change
// we never hear of.
func refused(err error) bool {
	var notAvailable *cattle.ActionNotAvailableError
	return err != nil && (errors.As(err, &notAvailable) || isConflict(err))
}

// failRun handles a failed run (unhealthy new containers, an error in Cattle, a refused finish, the deadline):
// roll it back, or with rollbackOnFailure false leave the service as it is and report. timedOut says the
// deadline passed (reported as timed-out when not rolled back).
func (x *Executor) failRun(ctx context.Context, key string, svc *cattle.Service, st *upgradeState, why string, timedOut bool) error {
	r := st.run
	if !r.safety.rollback {
		outcome := OutcomeFailed
		if timedOut {
			outcome = OutcomeTimedOut
		}
		x.endRun(key, svc, st, outcome, fmt.Sprintf("left %s for a human (rollbackOnFailure is false): %s", svc.State, why),
			errors.New(why))
		return nil
	}
	if !svc.HasAction("rollback") {
		// Cattle offers rollback only from upgrading, upgraded and canceled-upgrade (a finish that failed may
		// stay in finishing-upgrade): nothing more can be done here.
		x.endRun(key, svc, st, OutcomeFailed, fmt.Sprintf("%s; a service in state %s cannot be rolled back", why, svc.State),
			errors.New(why))
		return nil
	}
	err := x.serviceAction(ctx, r.in.entry, svc, "rollback", nil)
	switch {
	case retryable(err):
		return err
	case refused(err):
		x.queue.AddAfter(key, waitGuard)
		return nil
	case err != nil:
		x.endRun(key, svc, st, OutcomeFailed, "rollback refused: "+err.Error()+" (rolling back because "+why+")", err)
		return nil
	}
	r.phase, r.why, r.outcome = phaseRollingBack, why, OutcomeRolledBack
	r.in.entry.Step("rollback: " + why)
	x.log.WithFields(logFields(key, "serviceUpgrade")).WithField("execution", r.in.entry.ID()).
		WithField("reason", why).Warn("rolling back service upgrade")
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
			in.entry.Step(reason)
			x.log.WithFields(logFields(key, "serviceUpgrade")).WithField("state", svc.State).Warn("push waits for the service")
		}
		return nil
	}
	in.entry.Running()
	w := in.upgrade
	plan, ok, reason := upgrade.PlanPolicy(workloadOf(svc), w.selector, w.push, w.policy)
	if !ok {
		in.entry.SetDecision("none: " + reason)
		x.endUpgrade(in, OutcomeIgnored, nil)
		st.pending = nil
		return nil
	}
	now := x.now()
	marker := newMarker(w.receiverID, in.entry.ID(), now)
	input, err := upgradeInput(svc, plan, w.strategy, marker)
	if err != nil {
		x.endUpgrade(in, OutcomeFailed, err)
		st.pending = nil
		return nil
	}
	err = x.serviceAction(ctx, in.entry, svc, "upgrade", input)
	switch {
	case retryable(err):
		return err
	case refused(err):
		// The cached state was stale or another process started; the event that shows the real state queues
		// us again (the guard re-add covers a change we never hear of).
		x.queue.AddAfter(key, waitGuard)
		return nil
	case err != nil:
		x.endUpgrade(in, OutcomeFailed, err)
		st.pending = nil
		return nil
	}
	decision := fmt.Sprintf("upgrade %s to %s (batch %d, interval %dms, startFirst %t)",
		changedNames(plan), w.push.Image, w.strategy.BatchSize, w.strategy.IntervalMillis, w.strategy.StartFirst)
	in.entry.SetDecision(decision)
	in.entry.SetImage(ImageChange{Old: imageOf(plan.Changes[0].FromImageUUID), New: w.push.Image, Digest: w.push.Digest})
	in.entry.Step("upgrade started: " + decision)
	run := &upgradeRun{in: in, phase: phaseUpgrading, marker: marker, started: now,
		deadline: now.Add(w.safety.finishTimeout), safety: w.safety}
	st.run, st.pending, st.waiting = run, nil, ""
	x.wake(key, run, now)
	return nil
}

// imageOf strips Cattle's "docker:" prefix from an imageUuid.
func imageOf(imageUUID string) string { return strings.TrimPrefix(imageUUID, "docker:") }

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
// sidekicks (Cattle replaces them wholesale), each with the new image, the pull-always label and our marker.
func upgradeInput(svc *cattle.Service, plan upgrade.UpgradePlan, s upgrade.Strategy, marker string) (cattle.ServiceUpgrade, error) {
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
		lc.SetLabel(MarkerLabel, marker)
		if ch.Name == "" {
			strategy.LaunchConfig = lc
		} else {
			strategy.SecondaryLaunchConfigs = append(strategy.SecondaryLaunchConfigs, *lc)
		}
	}
	return cattle.ServiceUpgrade{InServiceStrategy: strategy}, nil
}
