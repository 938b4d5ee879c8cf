package execution

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/scale"
)

// A scale PUT that gets no answer (our per-request timeout fired, the connection broke, the answer did not
// decode) may have been applied by Cattle or not. The PUT sets an absolute scale, so sending it again would be
// harmless; planning its triggers again from the scale it set would not: every increment would be applied
// twice. So the triggers of such a PUT keep their planned decisions (sentScale) and stay queued, and the next
// read of the service settles them: at the PUT's target it was applied, at its starting scale it was not.

// sentScale is the PUT an intent rode on when that PUT got no answer, and the decision planned for the intent.
type sentScale struct {
	from, target int
	decision     scale.Decision
}

// noAnswer reports whether a failed Cattle call may have been applied: no HTTP status came back (transport
// failure, timeout, cancellation) or a 2xx answer could not be read. Cattle's error answers (*cattle.APIError)
// and the client's own refusals, made without a request, change nothing.
func noAnswer(err error) bool {
	var (
		apiErr       *cattle.APIError
		notAvailable *cattle.ActionNotAvailableError
		notAllowed   *cattle.MethodNotAllowedError
	)
	return err != nil && !errors.As(err, &apiErr) && !errors.As(err, &notAvailable) &&
		!errors.As(err, &notAllowed) && !errors.Is(err, cattle.ErrUnknownSchema)
}

// markSent notes on every intent of a batch that the PUT of plan got no answer.
func markSent(batch []*intent, plan scale.ServicePlan) {
	for i, in := range batch {
		in.sent = &sentScale{from: plan.From, target: plan.Target, decision: plan.Decisions[i]}
		in.entry.Step(fmt.Sprintf("scale PUT %d → %d got no answer; the next read of the service tells whether "+
			"cattle applied it", plan.From, plan.Target))
	}
}

// settleSent compares the service's scale with the unanswered PUT some intents of batch rode on. At the PUT's
// target it was applied: those intents end with their planned decisions. At its starting scale it was not:
// they are planned again with the rest. Anything else means another client changed the scale meanwhile, and
// whether the PUT was applied cannot be known; those intents end as failed rather than risk a second
// application. It returns the intents still to plan.
func (x *Executor) settleSent(id string, current int, batch []*intent) []*intent {
	var sent, rest []*intent
	for _, in := range batch {
		if in.sent != nil {
			sent = append(sent, in)
		} else {
			rest = append(rest, in)
		}
	}
	if len(sent) == 0 {
		return batch
	}
	s := sent[0].sent
	switch current {
	case s.target:
		reqs := make([]scale.ServiceRequest, len(sent))
		plan := scale.ServicePlan{From: s.from, Target: s.target, Changed: true, Decisions: make([]scale.Decision, len(sent))}
		for i, in := range sent {
			reqs[i] = *in.scaleService
			plan.Decisions[i] = in.sent.decision
		}
		now := x.now()
		x.cooldown.Commit(reqs, plan, now)
		x.recent.put(id, int64(s.target), now)
		x.log.WithFields(logFields(sent[0].key, "scaleService")).WithField("from", s.from).WithField("to", s.target).
			WithField("triggers", len(sent)).Info("service scaled (confirmed after an unanswered PUT)")
		for _, in := range sent {
			in.entry.Step(fmt.Sprintf("cattle shows scale %d: the PUT was applied", current))
			x.finishDecided(in, in.sent.decision)
		}
		return rest
	case s.from:
		for _, in := range sent {
			in.entry.Step(fmt.Sprintf("cattle shows scale %d: the PUT was not applied; planning again", current))
			in.sent = nil
		}
		return batch
	}
	for _, in := range sent {
		err := fmt.Errorf("cattle did not answer the scale PUT %d → %d and now shows scale %d: another client "+
			"changed the scale, so whether this trigger was applied is unknown; it is not repeated",
			s.from, s.target, current)
		x.log.WithFields(logFields(in.key, "scaleService")).WithError(err).Error("trigger outcome unknown")
		in.entry.SetDecision("unknown: " + err.Error())
		in.finish(OutcomeFailed, err, Answer{Status: http.StatusOK, Body: reply{ExecutionID: in.entry.ID(),
			Target: in.key, Message: err.Error(), Decision: scale.Decision{Result: "failed", From: s.from, To: current}}})
	}
	return rest
}

// finishDecided ends a scale intent with the decision planned for it, once its PUT (if any) is known applied.
func (x *Executor) finishDecided(in *intent, d scale.Decision) {
	outcome := OutcomeDone
	desc := fmt.Sprintf("scale %d → %d", d.From, d.To)
	if d.Result != scale.ResultScaled {
		outcome = OutcomeIgnored
		desc = fmt.Sprintf("%s: %s", d.Result, d.Reason)
	}
	in.sent = nil
	in.entry.SetDecision(desc)
	in.finish(outcome, nil, okAnswer(in, d, ""))
}
