package scale

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// DeleteOption says which hosts a scale-down removes once the hosts in a bad state are gone.
type DeleteOption string

// The two delete options of the scaleHost driver.
const (
	DeleteMostRecent  DeleteOption = "mostRecent"
	DeleteLeastRecent DeleteOption = "leastRecent"
)

// HostRequest is the configuration of a scaleHost receiver (JSON scaleHostConfig of webhook-service's v1.6
// branch, the one shipped with Rancher 1.6) and so also one trigger's request.
type HostRequest struct {
	Action       Action
	Amount       int
	Min          int
	Max          int
	DeleteOption DeleteOption
	// Selector is hostSelector: the labels that define the group.
	Selector map[string]string
}

// ValidateHostConfig checks r as webhook-service's v1.6 branch did when a receiver was created, in the same
// order and with the same messages. One deliberate difference: an empty selector is refused like a missing one,
// because it would select no host (see Group). The error is an *Error.
func ValidateHostConfig(r HostRequest) error {
	switch {
	case r.Action == "":
		return errorf("Scale action not provided")
	case !r.Action.Valid():
		return errorf("Invalid action %v", r.Action)
	case r.Amount <= 0:
		return errorf("Invalid amount: %v", r.Amount)
	case len(r.Selector) == 0:
		return errorf("HostSelector not provided")
	case r.Min <= 0:
		return errorf("Minimum scale not provided/invalid")
	case r.Max <= 0:
		return errorf("Maximum scale not provided/invalid")
	case r.Min >= r.Max:
		return errorf("Max must be greater than min")
	case r.Action == ActionUp && r.DeleteOption != "":
		return errorf("Delete option not to be provided while scaling up")
	case r.Action == ActionDown && r.DeleteOption == "":
		return errorf("Delete option missing")
	case r.Action == ActionDown && r.DeleteOption != DeleteMostRecent && r.DeleteOption != DeleteLeastRecent:
		return errorf("Invalid delete option %v", r.DeleteOption)
	}
	return nil
}

// GroupKey names the host group of selector for serialising work on it, e.g. "pool=workers" or
// "pool=workers,zone=a": pairs lower-cased (matching is case-insensitive), query-escaped (so "," and "=" in a
// label cannot make two selectors collide) and sorted, so every receiver selecting the same group gets the same
// key.
func GroupKey(selector map[string]string) string {
	pairs := make([]string, 0, len(selector))
	for _, k := range slices.Sorted(maps.Keys(selector)) {
		pairs = append(pairs, url.QueryEscape(strings.ToLower(k))+"="+url.QueryEscape(strings.ToLower(selector[k])))
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ",")
}

// noGroupError is the original's refusal when no host matches the selector.
func noGroupError(selector map[string]string) error {
	return &Error{Message: fmt.Sprintf("No host with label %v exists", selector)}
}
