package scale

import "time"

// ServiceRequest is one trigger of a scaleService receiver waiting to be applied.
type ServiceRequest struct {
	Action Action
	Amount int
	Min    int
	Max    int
	// Receiver keys the cooldown (normally the receiver id); CooldownSeconds <= 0 means no cooldown. Both are
	// ignored by PlanServiceScale and honoured by Cooldown.Plan.
	Receiver        string
	CooldownSeconds int
}

func (r ServiceRequest) validate() error {
	switch {
	case !r.Action.Valid():
		return errorf("Invalid action %v", r.Action)
	case r.Amount <= 0:
		return errorf("Invalid amount: %v", r.Amount)
	case r.Min < 0:
		return errorf("Minimum scale not provided/invalid")
	case r.Max <= 0:
		return errorf("Maximum scale not provided/invalid")
	case r.Min >= r.Max:
		return errorf("Max must be greater than min")
	}
	return nil
}

// ServicePlan is the outcome of a batch of requests on one service.
type ServicePlan struct {
	// Decisions has one entry per request, in request order.
	Decisions []Decision
	// From is the scale the plan started from, Target the scale to set.
	From   int
	Target int
	// Changed is true when Target differs from From (a PUT is needed).
	Changed bool
}

// PlanServiceScale applies reqs in order to the current scale. Each request moves the scale by its amount,
// clamped to its own [min, max]; a request that cannot move at all (already at or beyond its bound in its
// direction) is a "none" decision with reason "at max" or "at min", never an error, and a request that moves
// less than its amount says "clamped to max"/"clamped to min". A scale outside the bounds is never pushed
// further out, and an "up" request never lowers the scale (nor "down" raises it) even when the service is
// beyond the request's bounds. An invalid request (bad action, amount or bounds) is a "none" decision whose
// reason is the validation message. Cooldowns are not considered; see Cooldown.Plan.
func PlanServiceScale(current int, reqs []ServiceRequest) ServicePlan {
	return planService(current, reqs, nil)
}

// planService does the work of PlanServiceScale; hold, when not nil, says whether a request must wait for
// its cooldown, given the requests of this batch already decided.
func planService(current int, reqs []ServiceRequest, hold func(i int, decided []Decision) bool) ServicePlan {
	scale := max(current, 0)
	p := ServicePlan{Decisions: make([]Decision, len(reqs)), From: scale}
	for i, r := range reqs {
		if err := r.validate(); err != nil {
			p.Decisions[i] = none(scale, err.Error())
			continue
		}
		if hold != nil && hold(i, p.Decisions[:i]) {
			p.Decisions[i] = none(scale, ReasonCoolingDown)
			continue
		}
		d := step(scale, r)
		p.Decisions[i] = d
		scale = d.To
	}
	p.Target = scale
	p.Changed = p.Target != p.From
	return p
}

// step applies one valid request to scale.
func step(scale int, r ServiceRequest) Decision {
	if r.Action == ActionUp {
		if scale >= r.Max {
			return none(scale, ReasonAtMax)
		}
		to := scale + r.Amount
		if to > r.Max {
			return Decision{Result: ResultScaled, From: scale, To: r.Max, Reason: ReasonClampedToMax}
		}
		return Decision{Result: ResultScaled, From: scale, To: to}
	}
	if scale <= r.Min {
		return none(scale, ReasonAtMin)
	}
	to := scale - r.Amount
	if to < r.Min {
		return Decision{Result: ResultScaled, From: scale, To: r.Min, Reason: ReasonClampedToMin}
	}
	return Decision{Result: ResultScaled, From: scale, To: to}
}

func (r ServiceRequest) cooldown() time.Duration {
	if r.Receiver == "" || r.CooldownSeconds <= 0 {
		return 0
	}
	return time.Duration(r.CooldownSeconds) * time.Second
}
