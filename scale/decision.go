package scale

// Action is the direction of a scale request.
type Action string

// The two actions of the scaleService and scaleHost drivers.
const (
	ActionUp   Action = "up"
	ActionDown Action = "down"
)

// Valid reports whether a is up or down.
func (a Action) Valid() bool { return a == ActionUp || a == ActionDown }

// Reverse returns the opposite action (used when an Alertmanager "resolved" notification undoes a "firing" one);
// an invalid action is returned unchanged.
func (a Action) Reverse() Action {
	switch a {
	case ActionUp:
		return ActionDown
	case ActionDown:
		return ActionUp
	}
	return a
}

// Result says whether a request changed anything.
type Result string

// Results of a decision.
const (
	ResultScaled Result = "scaled"
	ResultNone   Result = "none"
)

// Reasons a Decision carries. A "none" decision always has one; a "scaled" decision has one only when it was
// clamped.
const (
	ReasonAtMax        = "at max"
	ReasonAtMin        = "at min"
	ReasonClampedToMax = "clamped to max"
	ReasonClampedToMin = "clamped to min"
	ReasonCoolingDown  = "cooling down"
	// ReasonLeftGroup: a host a scale-down planned to remove left the group by other hands (removed, in error or
	// relabelled) before its removal was sent.
	ReasonLeftGroup = "left the group by other hands"
)

// Decision is the answer to one trigger: what it changed (From → To) or why it changed nothing. It is shaped to
// be the JSON body answered to the sender, e.g. {"result":"none","from":5,"to":5,"reason":"at max"}.
type Decision struct {
	Result Result `json:"result"`
	From   int    `json:"from"`
	To     int    `json:"to"`
	Reason string `json:"reason,omitempty"`
}

func none(at int, reason string) Decision {
	return Decision{Result: ResultNone, From: at, To: at, Reason: reason}
}
