package execution

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/scale"
)

// waitGuard is how long a batch waiting for a busy target waits at most before it is looked at again.
const waitGuard = 5 * time.Second

// globalLabel marks a service that runs one container per host; scale means nothing for it.
const globalLabel = "io.rancher.scheduler.global"

// applyScale decides every scale trigger waiting on one service together and makes at most one PUT. The scale is
// read from Cattle, not the cache: the cache may not have seen our previous PUT yet, and reading it would lose
// increments.
func (x *Executor) applyScale(ctx context.Context, key, id string, batch []*intent) error {
	entries := entriesOf(batch)
	for _, in := range batch {
		in.entry.Running()
	}
	if cached, ok := x.cache.Service(id); ok {
		if busy(cached) {
			// The cache is enough to know the service is busy: its next change queues the key again.
			x.wait(key, batch, fmt.Sprintf("waiting: service is %s", cached.State))
			return nil
		}
		if x.recent.pending(id, cached.Scale, x.now(), waitGuard) {
			x.wait(key, batch, "waiting: our previous scale change is still being applied")
			return nil
		}
	}
	start := time.Now()
	svc, err := x.cattle.GetService(ctx, id)
	recordCall(entries, http.MethodGet, "services/"+id, start, err)
	if errors.Is(err, cattle.ErrNotFound) {
		x.ignoreAll(batch, fmt.Sprintf("service %s does not exist", id))
		return nil
	}
	if err != nil {
		return x.retryOrFail(ctx, key, batch, err)
	}
	// A PUT of an earlier attempt that got no answer is settled first, from the scale Cattle shows now.
	if batch = x.settleSent(id, int(svc.Scale), batch); len(batch) == 0 {
		return nil
	}
	if err := scale.CheckServiceTarget(serviceTarget(svc)); err != nil {
		x.ignoreAll(batch, err.Error())
		return nil
	}
	if busy(svc) {
		// Cattle answers 409 to an update while another process runs on the service. Wait for the change that
		// ends it (its resource.change queues this key); the triggers keep coalescing meanwhile.
		x.wait(key, batch, fmt.Sprintf("waiting: service is %s", svc.State))
		return nil
	}
	reqs := make([]scale.ServiceRequest, len(batch))
	for i, in := range batch {
		reqs[i] = *in.scaleService
	}
	now := x.now()
	plan := x.cooldown.Plan(int(svc.Scale), reqs, now)
	if plan.Changed {
		start = time.Now()
		_, err = x.cattle.UpdateService(ctx, svc, map[string]any{"scale": plan.Target})
		recordCall(entries, http.MethodPut, "services/"+id, start, err)
		if isConflict(err) {
			// Another process started on the service since our read. Retry with the worker's backoff rather than
			// wait for its resource.change: the retry's read sees the service busy and then waits for that event,
			// and a conflict that ended without one (or that we never hear of) costs milliseconds, not the guard.
			for _, in := range batch {
				in.entry.SetDecision("retrying: cattle answered 409, another process runs on the service")
			}
			return x.retryOrFail(ctx, key, batch, err)
		}
		if noAnswer(err) {
			// Maybe applied: keep the decisions and let the next read of the service tell (unsure.go).
			markSent(batch, plan)
			x.log.WithFields(logFields(key, "scaleService")).WithField("from", plan.From).
				WithField("to", plan.Target).WithError(err).Warn("scale PUT got no answer; checking whether it was applied")
			for _, in := range batch {
				in.attempts++
			}
			x.book.putBack(key, batch)
			return err
		}
		if err != nil {
			return x.retryOrFail(ctx, key, batch, err)
		}
		x.cooldown.Commit(reqs, plan, now)
		x.recent.put(id, int64(plan.Target), x.now())
		x.log.WithFields(logFields(key, "scaleService")).WithField("from", plan.From).WithField("to", plan.Target).
			WithField("triggers", len(batch)).Info("service scaled")
	}
	for i, in := range batch {
		x.finishDecided(in, plan.Decisions[i])
	}
	return nil
}

func serviceTarget(svc *cattle.Service) scale.ServiceTarget {
	t := scale.ServiceTarget{
		ID:      svc.ID,
		Found:   true,
		Removed: svc.IsRemoved(),
		Kind:    svc.Kind,
	}
	if svc.LaunchConfig != nil {
		t.ImageUUID = svc.LaunchConfig.ImageUUID()
		t.Global = svc.LaunchConfig.Labels()[globalLabel] == "true"
	}
	return t
}

// busy reports whether a process runs on the service (Cattle refuses updates and actions with 409 meanwhile).
func busy(svc *cattle.Service) bool { return svc.Transitioning == cattle.TransitioningYes }

// isConflict reports whether err is Cattle's 409: the object is busy with another process.
func isConflict(err error) bool {
	var apiErr *cattle.APIError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict
}

// wait puts a batch back under its key until the target can take it. The target's next resource.change
// queues the key; the delayed re-add is only a guard against a change we never hear of.
func (x *Executor) wait(key string, batch []*intent, reason string) {
	for _, in := range batch {
		in.entry.SetDecision(reason)
	}
	x.book.putBack(key, batch)
	x.queue.AddAfter(key, waitGuard)
}

// ignoreAll answers every intent of a batch "none" with reason: the trigger was valid but there is nothing to do
// (a 2xx, so the sender does not retry what cannot succeed).
func (x *Executor) ignoreAll(batch []*intent, reason string) {
	for _, in := range batch {
		in.entry.SetDecision("none: " + reason)
		in.finish(OutcomeIgnored, nil, okAnswer(in, scale.Decision{Result: scale.ResultNone, Reason: reason}, ""))
	}
}

// retryOrFail handles a failed Cattle call for a batch. A retryable error puts the batch back under its key and
// returns the error, so the worker retries the key with backoff (the senders keep waiting until their deadline).
// So does a call cut by the end of the processing context (shutdown), so Close answers the batch, and so do
// intents whose earlier PUT is still unsettled, which must not be reported as not applied. Anything else fails
// the batch for good.
func (x *Executor) retryOrFail(ctx context.Context, key string, batch []*intent, err error) error {
	if cattle.IsRetryable(err) || ctx.Err() != nil {
		for _, in := range batch {
			in.attempts++
		}
		x.book.putBack(key, batch)
		return err
	}
	var keep, fail []*intent
	for _, in := range batch {
		if in.sent != nil {
			keep = append(keep, in)
		} else {
			fail = append(fail, in)
		}
	}
	x.failAll(fail, err)
	if len(keep) > 0 {
		x.book.putBack(key, keep)
		x.queue.AddAfter(key, waitGuard)
	}
	return nil
}

// failAll ends a batch with a permanent failure (Cattle refused the change, or it failed in a way repeating
// cannot help; failureWording says which). The sender gets a 200 whose body says "failed" and why: a 5xx would
// make Alertmanager or a registry retry in vain, and a 4xx would blame its input. The execution record and the
// error log carry the failure.
func (x *Executor) failAll(batch []*intent, err error) {
	for _, in := range batch {
		x.log.WithFields(logFields(in.key, in.entry.Snapshot().Driver)).WithError(err).Error("trigger failed")
		in.finish(OutcomeFailed, err, Answer{Status: http.StatusOK, Body: reply{
			ExecutionID: in.entry.ID(), Target: in.key, Message: failureWording(err) + ": " + err.Error(),
			Decision: scale.Decision{Result: "failed"},
		}})
	}
}
