package scale

import "slices"

// removalRank orders hosts in a bad state before the others, in the original's order.
var removalRank = map[string]int{
	HostStateInactive:     0,
	HostStateDeactivating: 1,
	HostStateReconnecting: 2,
	HostStateDisconnected: 3,
}

// HostDownPlan lists the hosts a scale-down removes, in removal order.
type HostDownPlan struct {
	Remove   []Host
	Decision Decision
}

// PlanHostScaleDown plans a scale-down of group (the result of Group) by req.Amount hosts, never below req.Min:
// the amount is clamped to len(group) - Min ("clamped to min"), and a group at or below Min is a "none"
// decision "at min" (the original refused with 400 "Cannot scale below provided min scale value").
//
// Hosts are removed in state order inactive, deactivating, reconnecting, disconnected, then the rest; within
// each state newest first (mostRecent) or oldest first (leastRecent). Unlike the original, which removed every
// host in one of those states before counting, at most the clamped amount is removed.
//
// Errors (*Error, the original's messages): an invalid request and an empty group.
func PlanHostScaleDown(group []Host, req HostRequest) (HostDownPlan, error) {
	if err := ValidateHostConfig(req); err != nil {
		return HostDownPlan{}, err
	}
	if req.Action != ActionDown {
		return HostDownPlan{}, errorf("Invalid action %v", req.Action)
	}
	if len(group) == 0 {
		return HostDownPlan{}, noGroupError(req.Selector)
	}
	n := len(group)
	if n <= req.Min {
		return HostDownPlan{Decision: none(n, ReasonAtMin)}, nil
	}
	count, reason := req.Amount, ""
	if n-count < req.Min {
		count, reason = n-req.Min, ReasonClampedToMin
	}
	hosts := append([]Host(nil), group...)
	sortOldestFirst(hosts)
	if req.DeleteOption == DeleteMostRecent {
		slices.Reverse(hosts)
	}
	slices.SortStableFunc(hosts, func(a, b Host) int { return rank(a) - rank(b) })
	return HostDownPlan{
		Remove:   hosts[:count:count],
		Decision: Decision{Result: ResultScaled, From: n, To: n - count, Reason: reason},
	}, nil
}

func rank(h Host) int {
	if r, ok := removalRank[h.State]; ok {
		return r
	}
	return len(removalRank)
}
