package execution

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/rancher/scale-subscriber/alertmanager"
	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/receivers"
	"github.com/rancher/scale-subscriber/scale"
	"github.com/rancher/scale-subscriber/upgrade"
)

// alertAction applies an Alertmanager notification in the body to a scale action: it says whether to act at all
// (firing, or resolved when the receiver asks for it; not a repeat) and in which direction. A body that is not
// an Alertmanager notification (a bare POST, a script's JSON) acts as configured.
func (x *Executor) alertAction(e *Entry, t receivers.Trigger, action scale.Action, onResolved string) (scale.Action, string) {
	n, ok := alertmanager.Parse(t.Body)
	if !ok {
		if len(t.Body) == 0 {
			e.SetInput("bare POST")
		} else {
			e.SetInput(fmt.Sprintf("%d-byte body (not an Alertmanager notification)", len(t.Body)))
		}
		return action, ""
	}
	e.SetInput(fmt.Sprintf("alertmanager %s, %d alerts, %d firing", n.Status, len(n.Alerts), n.Firing()))
	on, err := alertmanager.ParseOnResolved(onResolved)
	if err != nil {
		on = alertmanager.OnResolvedIgnore
	}
	d := alertmanager.Decide(n, on)
	if !d.Act {
		return action, d.Reason
	}
	if x.deduper.Seen(t.Receiver.ID, n, x.now()) {
		return action, "repeat of a notification already acted on"
	}
	if d.Reverse {
		action = action.Reverse()
	}
	return action, ""
}

// ignored answers a trigger that is valid but asks for nothing to be done, with the reason.
func ignored(e *Entry, target, reason string) Answer {
	e.SetDecision("none: " + reason)
	e.Finish(OutcomeIgnored, nil)
	return Answer{Status: http.StatusOK, Body: reply{ExecutionID: e.ID(), Target: target,
		Decision: scale.Decision{Result: scale.ResultNone, Reason: reason}}}
}

// rejected answers a trigger whose input or receiver is unusable: a 400 the sender should not retry.
func rejected(e *Entry, msg string) Answer {
	e.SetDecision("rejected: " + msg)
	e.Finish(OutcomeRejected, errors.New(msg))
	return errorAnswer(http.StatusBadRequest, e.ID(), "", msg)
}

func (x *Executor) executeScaleService(ctx context.Context, e *Entry, t receivers.Trigger) Answer {
	cfg := t.Receiver.ScaleService
	key := events.Key(cache.KindService, cfg.ServiceID)
	action, skip := x.alertAction(e, t, scale.Action(cfg.Action), cfg.OnResolved)
	if skip != "" {
		return ignored(e, key, skip)
	}
	req := scale.ServiceRequest{Action: action, Amount: int(cfg.Amount), Min: int(cfg.Min), Max: int(cfg.Max),
		Receiver: t.Receiver.ID, CooldownSeconds: int(cfg.CooldownSeconds)}
	if err := scale.ValidateServiceConfig(scale.ServiceConfig{ServiceID: cfg.ServiceID, Action: req.Action,
		Amount: req.Amount, Min: req.Min, Max: req.Max, CooldownSeconds: req.CooldownSeconds}); err != nil {
		return rejected(e, err.Error())
	}
	in := newIntent(key, e)
	in.scaleService = &req
	return x.enqueueAndWait(ctx, in, t.Receiver.ID)
}

func (x *Executor) executeScaleHost(ctx context.Context, e *Entry, t receivers.Trigger) Answer {
	cfg := t.Receiver.ScaleHost
	key := events.Key(hostGroupKind, scale.GroupKey(cfg.HostSelector))
	action, skip := x.alertAction(e, t, scale.Action(cfg.Action), cfg.OnResolved)
	if skip != "" {
		return ignored(e, key, skip)
	}
	req := scale.HostRequest{Action: action, Amount: int(cfg.Amount), Min: int(cfg.Min), Max: int(cfg.Max),
		DeleteOption: scale.DeleteOption(cfg.DeleteOption), Selector: cfg.HostSelector}
	if action != scale.Action(cfg.Action) {
		// Reversed by a resolved notification: a scale-down needs a delete option, a scale-up must not have one.
		req.DeleteOption = ""
		if action == scale.ActionDown {
			req.DeleteOption = scale.DeleteMostRecent
		}
	}
	if err := scale.ValidateHostConfig(req); err != nil {
		return rejected(e, err.Error())
	}
	in := newIntent(key, e)
	in.scaleHost = &req
	return x.enqueueAndWait(ctx, in, t.Receiver.ID)
}

// executeServiceUpgrade authenticates the delivery (when the receiver has a secret), parses the pushes in the
// receiver's format, selects the services each concerns from the cache under the receiver's tag policy and
// queues one upgrade per service; the sender gets 202 once they are queued. Each service's upgrade has its own
// execution record. A forged or unsigned delivery to a receiver with a secret is the one 401 answer.
func (x *Executor) executeServiceUpgrade(ctx context.Context, e *Entry, t receivers.Trigger) Answer {
	cfg := t.Receiver.ServiceUpgrade
	ucfg := cfg.UpgradeConfig()
	if cfg.Secret != "" {
		if err := upgrade.VerifyGitHubSignature(cfg.Secret, t.Body, t.Header.Get(upgrade.GitHubSignatureHeader)); err != nil {
			e.SetInput(fmt.Sprintf("%d-byte body", len(t.Body)))
			e.SetDecision("refused: " + err.Error())
			e.Finish(OutcomeRejected, err)
			x.log.WithField("receiver_id", t.Receiver.ID).WithError(err).Warn("push with a bad signature refused")
			return errorAnswer(http.StatusUnauthorized, e.ID(), "", err.Error())
		}
	}
	policy, err := ucfg.Policy()
	if err != nil {
		return rejected(e, "receiver config: "+err.Error())
	}
	pushes, reason, err := upgrade.Parse(ucfg.ParseOptions(), t.Body)
	if err != nil {
		e.SetInput(fmt.Sprintf("%d-byte %s payload", len(t.Body), formatName(cfg.PayloadFormat)))
		return rejected(e, err.Error())
	}
	if len(pushes) == 0 {
		e.SetInput("no push")
		return ignored(e, "", reason)
	}
	images := make([]string, len(pushes))
	for i, p := range pushes {
		images[i] = p.Repository + ":" + p.Tag
	}
	e.SetInput(fmt.Sprintf("push %s (%s)", strings.Join(images, ", "), pushes[0].Source))
	strategy := ucfg.Strategy()
	s := safetyOf(cfg)
	now := x.now()
	var queued, ids, skipped []string
	for _, p := range pushes {
		if ok, why := policy.Admits(p.Tag); !ok {
			skipped = append(skipped, why)
			continue
		}
		for _, svc := range x.cache.ServicesWithRepository(p.Repository) {
			w := workloadOf(svc)
			if _, ok, why := upgrade.PlanPolicy(w, cfg.ServiceSelector, p, policy); !ok {
				if selected(w, cfg.ServiceSelector) {
					// Say why a service the receiver selects is left alone (a semver policy refusing the tag);
					// services it does not select are not its business.
					skipped = append(skipped, svc.ID+": "+why)
				}
				continue
			}
			dedupe := upgrade.KeyOf(svc.ID, p)
			if x.pushes.Seen(dedupe, now) {
				skipped = append(skipped, fmt.Sprintf("%s: repeat delivery of %s@%s, already applied", svc.ID, p.Image, p.Digest))
				continue
			}
			child := x.history.Start(t.Receiver.ID, t.Receiver.Name, t.Receiver.Driver, t.Received)
			child.SetInput(fmt.Sprintf("push %s:%s (trigger %s)", p.Repository, p.Tag, e.ID()))
			child.Step("queued by trigger " + e.ID())
			in := newIntent(events.Key(cache.KindService, svc.ID), child)
			in.upgrade = &upgradeWork{push: p, selector: cfg.ServiceSelector, policy: policy, strategy: strategy,
				safety: s, receiverID: t.Receiver.ID, dedupe: dedupe}
			if err := x.submit(ctx, in, t.Receiver.ID); err != nil {
				x.pushes.Forget(dedupe)
				child.Finish(OutcomeRejected, err)
				e.SetDecision("queue upgrades: " + err.Error())
				e.Finish(OutcomeFailed, err)
				// Upgrades queued so far stay queued; the sender's retry queues the rest (a push supersedes a
				// pending one on the same service).
				return errorAnswer(http.StatusServiceUnavailable, e.ID(), "", err.Error())
			}
			queued = append(queued, svc.ID)
			ids = append(ids, child.ID())
		}
	}
	if len(queued) == 0 {
		why := "no service matches the selector and runs the pushed repository"
		if len(skipped) > 0 {
			why = strings.Join(skipped, "; ")
		}
		return ignored(e, "", why)
	}
	sort.Strings(queued)
	e.SetDecision(fmt.Sprintf("upgrade queued for %s (executions %s)", strings.Join(queued, ", "), strings.Join(ids, ", ")))
	e.Finish(OutcomeAccepted, nil)
	return Answer{Status: http.StatusAccepted, Body: reply{ExecutionID: e.ID(),
		Decision: scale.Decision{Result: "accepted"}, Targets: queued,
		Message: "upgrades queued; each finishes once its new containers are healthy, or is rolled back"}}
}

// selected reports whether a launch config of w matches the receiver's selector.
func selected(w upgrade.Workload, selector map[string]string) bool {
	for _, lc := range w.LaunchConfigs {
		if upgrade.MatchLabels(selector, lc.Labels) {
			return true
		}
	}
	return false
}

func formatName(f string) string {
	if f == "" {
		return upgrade.FormatDockerHub
	}
	return f
}
