package scale

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Host states the planners look at (Cattle's displayed v2-beta states, where an active host's agent state
// replaces "active").
const (
	HostStateInactive     = "inactive"
	HostStateDeactivating = "deactivating"
	HostStateReconnecting = "reconnecting"
	HostStateDisconnected = "disconnected"
	HostStateError        = "error"
)

// outOfGroup are the states that keep a host out of its group: in error (as the original) or on the way to it,
// and hosts being or already removed, which would otherwise be counted, cloned or removed a second time.
var outOfGroup = map[string]bool{
	HostStateError: true, "erroring": true, "removing": true, "removed": true, "purging": true, "purged": true,
}

// OutOfGroup reports whether a host in state s is left out of its group whatever its labels (see Group): in
// error or on the way to it, or being or already removed.
func OutOfGroup(state string) bool { return outOfGroup[state] }

// Host is a machine of a host group as the planners see it.
type Host struct {
	ID       string
	Name     string
	Hostname string
	Labels   map[string]string
	State    string
	// Driver is the machine driver that created the host ("amazonec2", "digitalocean", ...); "" for a custom
	// host registered by hand, which cannot be cloned.
	Driver  string
	Created time.Time
}

// Clonable reports whether h can serve as the template of new hosts.
func (h Host) Clonable() bool { return h.Driver != "" }

// displayName is the name the original derived clone names from: the name, else the hostname.
func (h Host) displayName() string {
	if h.Name != "" {
		return h.Name
	}
	return h.Hostname
}

// Group returns the hosts matching every selector pair (label key and value compared case-insensitively),
// except those in error or being removed, oldest first. An empty selector selects no host: the original never
// matched everything, and a scale-down on "every host" must not happen by accident. The result is a new slice;
// the hosts themselves are not copied deeply (callers treat them as read-only).
func Group(hosts []Host, selector map[string]string) []Host {
	if len(selector) == 0 {
		return nil
	}
	var g []Host
	for _, h := range hosts {
		if !outOfGroup[h.State] && labelsMatch(h.Labels, selector) {
			g = append(g, h)
		}
	}
	sortOldestFirst(g)
	return g
}

// labelsMatch reports whether labels has, for every selector pair, a label with an equal key and value
// (case-insensitive). An empty selector value matches only an empty label value, as in the original's host
// driver (unlike serviceSelector, where it means "any value").
func labelsMatch(labels, selector map[string]string) bool {
	for sk, sv := range selector {
		found := false
		for k, v := range labels {
			if strings.EqualFold(k, sk) && strings.EqualFold(v, sv) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// sortOldestFirst orders hosts by creation time, then by id (Cattle ids grow: 1h9 before 1h10).
func sortOldestFirst(hosts []Host) {
	slices.SortStableFunc(hosts, func(a, b Host) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return compareIDs(a.ID, b.ID)
	})
}

// compareIDs orders ids of the same shape numerically ("1h9" < "1h10") by comparing length first.
func compareIDs(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}
