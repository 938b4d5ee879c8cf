package alertmanager

import "fmt"

// OnResolved is a receiver's choice for "resolved" notifications (receiver option onResolved).
type OnResolved string

// The onResolved options.
const (
	// OnResolvedIgnore (the default, also for "") answers a resolved notification without acting.
	OnResolvedIgnore OnResolved = "ignore"
	// OnResolvedAct acts on a resolved notification as on a firing one (the original's behaviour).
	OnResolvedAct OnResolved = "act"
	// OnResolvedReverse acts in the opposite direction (a scale-up receiver scales down): one receiver then
	// follows the alert both ways. Drivers without a direction treat it as OnResolvedIgnore.
	OnResolvedReverse OnResolved = "reverse"
)

// ParseOnResolved validates a stored onResolved value; "" is OnResolvedIgnore.
func ParseOnResolved(s string) (OnResolved, error) {
	switch OnResolved(s) {
	case "", OnResolvedIgnore:
		return OnResolvedIgnore, nil
	case OnResolvedAct:
		return OnResolvedAct, nil
	case OnResolvedReverse:
		return OnResolvedReverse, nil
	}
	return "", fmt.Errorf("invalid onResolved %q: must be ignore, act or reverse", s)
}

// Decision says what to do with a notification.
type Decision struct {
	// Act is true when the receiver's action should run.
	Act bool
	// Reverse is true when it should run in the opposite direction (scale down instead of up).
	Reverse bool
	// Reason explains a decision not to act, for the answer to the sender and the execution record.
	Reason string
}

// Decide applies the firing/resolved rule: firing acts; resolved follows on (an unknown option counts as
// OnResolvedIgnore).
func Decide(n Notification, on OnResolved) Decision {
	switch {
	case n.Status == StatusFiring:
		return Decision{Act: true}
	case n.Status != StatusResolved:
		return Decision{Reason: fmt.Sprintf("alertmanager status %q", n.Status)}
	case on == OnResolvedAct:
		return Decision{Act: true}
	case on == OnResolvedReverse:
		return Decision{Act: true, Reverse: true}
	}
	return Decision{Reason: "alert resolved"}
}
