package scale

import (
	"maps"
	"strconv"
	"strings"
)

// HostUpPlan says how to grow a host group: create one host per entry of Hostnames, each a clone of Template
// (its machine driver and driver config) with that hostname, an empty name and Labels.
type HostUpPlan struct {
	Template  Host
	Hostnames []string
	// Labels for the new hosts: the template's labels plus any selector pair the template matched only
	// case-insensitively, so the clones are certainly in the group. A new map.
	Labels   map[string]string
	Decision Decision
}

// PlanHostScaleUp plans a scale-up of group (the result of Group) by req.Amount hosts, never beyond req.Max:
// the amount is clamped to Max - len(group) ("clamped to max"), and a group already at or beyond Max is a "none"
// decision "at max" (the original refused with 400 "Cannot scale above provided max scale value").
//
// The template is the oldest clonable host; custom hosts are never templates. New hostnames are
// <prefix><suffix>: the prefix is the template's name (else hostname) cut at the first '.' with its trailing
// digits removed; the last suffix is the trailing number of the newest group member whose name contains the
// prefix, and each new host takes the next number, zero-padded to the width of that suffix ("node09" →
// "node10", "node009"; no suffix → "node2", "node3", ...). Unlike the original, a number wider than the padding
// does not hang ("node9" → "node10") and names already used in the group are skipped.
//
// Errors (*Error, the original's messages): an invalid request, an empty group ("No host with label map[..]
// exists") and a group without a clonable host ("Cannot use custom hosts for scaling up").
func PlanHostScaleUp(group []Host, req HostRequest) (HostUpPlan, error) {
	if err := ValidateHostConfig(req); err != nil {
		return HostUpPlan{}, err
	}
	if req.Action != ActionUp {
		return HostUpPlan{}, errorf("Invalid action %v", req.Action)
	}
	if len(group) == 0 {
		return HostUpPlan{}, noGroupError(req.Selector)
	}
	hosts := append([]Host(nil), group...)
	sortOldestFirst(hosts)
	n := len(hosts)
	if n >= req.Max {
		return HostUpPlan{Decision: none(n, ReasonAtMax)}, nil
	}
	count, reason := req.Amount, ""
	if n+count > req.Max {
		count, reason = req.Max-n, ReasonClampedToMax
	}
	template, found := templateOf(hosts)
	if !found {
		return HostUpPlan{}, errorf("Cannot use custom hosts for scaling up")
	}
	return HostUpPlan{
		Template:  template,
		Hostnames: cloneNames(hosts, template, count),
		Labels:    CloneLabels(template.Labels, req.Selector),
		Decision:  Decision{Result: ResultScaled, From: n, To: n + count, Reason: reason},
	}, nil
}

// Template returns the host a scale-up of group clones: its oldest clonable host (custom hosts are never
// templates). ok is false when the group has none. An executor whose planned template left the group before its
// creates were sent picks the next one with it.
func Template(group []Host) (template Host, ok bool) {
	hosts := append([]Host(nil), group...)
	sortOldestFirst(hosts)
	return templateOf(hosts)
}

// templateOf is Template of hosts already sorted oldest first.
func templateOf(sorted []Host) (template Host, ok bool) {
	for _, h := range sorted {
		if h.Clonable() {
			return h, true
		}
	}
	return Host{}, false
}

// FreeHostname checks a planned hostname against group when its create is about to be sent: when no host of
// group uses it (its short name, in any case, as Name or Hostname), it returns name. Otherwise holder is the
// host that took it, and free the next hostname the planner would give a clone of template that neither group
// nor reserved (the plan's other hostnames) uses.
func FreeHostname(group []Host, template Host, name string, reserved []string) (free string, holder Host, taken bool) {
	short := strings.ToLower(shortName(name))
	for _, h := range group {
		if strings.ToLower(shortName(h.Name)) == short || strings.ToLower(shortName(h.Hostname)) == short {
			holder, taken = h, true
			break
		}
	}
	if !taken {
		return name, Host{}, false
	}
	hosts := append([]Host(nil), group...)
	sortOldestFirst(hosts)
	return cloneNames(hosts, template, 1, append([]string{name}, reserved...)...)[0], holder, true
}

// cloneNames returns count new hostnames for the group hosts (oldest first) cloned from template, none of them
// in reserved either.
func cloneNames(hosts []Host, template Host, count int, reserved ...string) []string {
	prefix := strings.TrimRight(shortName(template.displayName()), "0123456789")
	used := make(map[string]bool, 2*len(hosts)+len(reserved))
	for _, h := range hosts {
		used[strings.ToLower(shortName(h.Name))] = true
		used[strings.ToLower(shortName(h.Hostname))] = true
	}
	for _, r := range reserved {
		used[strings.ToLower(shortName(r))] = true
	}
	last, width, hasLast := 0, 0, false
	for i := len(hosts) - 1; i >= 0; i-- {
		name := hosts[i].displayName()
		if !strings.Contains(name, prefix) {
			continue
		}
		short := shortName(name)
		digits := short[len(strings.TrimRight(short, "0123456789")):]
		if digits != "" {
			if v, err := strconv.Atoi(digits); err == nil {
				last, width, hasLast = v, len(digits), true
			}
		}
		break
	}
	if !hasLast {
		// The original named the first clone of "node" "node2" (the template being node 1).
		last = 1
	}
	names := make([]string, 0, count)
	for len(names) < count {
		last++
		suffix := strconv.Itoa(last)
		if len(suffix) < width {
			suffix = strings.Repeat("0", width-len(suffix)) + suffix
		}
		name := prefix + suffix
		if used[strings.ToLower(name)] {
			continue
		}
		used[strings.ToLower(name)] = true
		names = append(names, name)
	}
	return names
}

// shortName cuts a host name at its first '.' ("node12.example.com" → "node12").
func shortName(name string) string {
	short, _, _ := strings.Cut(name, ".")
	return short
}

// CloneLabels returns the labels of a clone of a template carrying labels, for the group of selector: a copy of
// labels plus each selector pair that no label matches case-insensitively, so the clone is certainly in the group.
func CloneLabels(labels, selector map[string]string) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = make(map[string]string, len(selector))
	}
	for k, v := range selector {
		if !labelsMatch(out, map[string]string{k: v}) {
			out[k] = v
		}
	}
	return out
}
