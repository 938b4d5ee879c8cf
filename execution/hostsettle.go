package execution

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/scale"
)

// A scaleHost trigger is relative ("up by 2 within max"), and a host create or evacuation that got no answer may
// have been applied by Cattle or not. Planning such a trigger again from a listing that already shows some of
// its own work would apply that work a second time (2N hosts for "up by N"). So once the first write of a plan
// is sent, the plan is fixed: the hostnames to create, or the hosts to remove, and the fate of each write. A
// retry settles the writes that got no answer from a fresh host listing, then sends only what is still missing:
//
//   - a create is applied when a host with its hostname is listed that was not there when the plan was made;
//     otherwise it was not, and is sent again with the same hostname;
//   - an evacuation is applied when its host is gone or on its way out (removing, removed, purging, purged) or
//     has left the state it was planned in (deactivating, inactive); otherwise it is sent again, to the same
//     host: evacuating one host twice removes that host once, and never another.
//
// The group's bound is checked again before more is sent: when another client grew (or shrank) the group
// meanwhile, the writes beyond max (or min) are dropped rather than sent. A trigger thus adds (removes) exactly
// the hosts of its plan, at most once each.

// writeState is the fate of one host write of a plan.
type writeState int

const (
	// writePending: not sent yet, or settled as not applied.
	writePending writeState = iota
	// writeUnsure: sent, and no answer says whether Cattle applied it.
	writeUnsure
	// writeDone: answered, or seen applied in a listing.
	writeDone
	// writeDropped: not sent, because another client took the group to its bound meanwhile, or (a removal) the
	// host went away by other hands.
	writeDropped
)

// hostWrite is one create or evacuation of a plan.
type hostWrite struct {
	// name is the hostname to create, or the name of the host to remove.
	name string
	// id is the host's id: the host to remove, or the created host once known.
	id string
	// planState is the state of the host to remove when the plan was made (an applied evacuation moves it on).
	planState string
	state     writeState
}

// hostWork is the fixed plan of a scaleHost intent and the fate of its writes.
type hostWork struct {
	action scale.Action
	// decision is the planned decision; the answer's To counts the writes actually done.
	decision scale.Decision
	// templateID and labels make the clones of a scale-up.
	templateID string
	labels     map[string]string
	// before holds the ids of hosts that already carried a planned hostname when the plan was made (a host
	// in error or being removed, which the planner does not count): they never settle a create.
	before map[string]bool
	writes []*hostWrite
}

func newUpWork(plan scale.HostUpPlan, hosts []cattle.Host) *hostWork {
	w := &hostWork{action: scale.ActionUp, decision: plan.Decision, templateID: plan.Template.ID, labels: plan.Labels,
		before: make(map[string]bool)}
	for _, name := range plan.Hostnames {
		w.writes = append(w.writes, &hostWrite{name: name})
		for i := range hosts {
			if strings.EqualFold(hosts[i].Hostname, name) {
				w.before[hosts[i].ID] = true
			}
		}
	}
	return w
}

func newDownWork(plan scale.HostDownPlan) *hostWork {
	w := &hostWork{action: scale.ActionDown, decision: plan.Decision}
	for _, h := range plan.Remove {
		name := h.Hostname
		if h.Name != "" {
			name = h.Name
		}
		w.writes = append(w.writes, &hostWrite{name: name, id: h.ID, planState: h.State})
	}
	return w
}

// sent reports whether a write of the plan was sent: from then on Cattle may have changed, and the plan must
// be completed, not made again.
func (w *hostWork) sent() bool {
	return w != nil && (len(w.names(writeDone)) > 0 || len(w.names(writeUnsure)) > 0)
}

// names lists the names of the writes in state s, in plan order.
func (w *hostWork) names(s writeState) []string {
	var out []string
	for _, wr := range w.writes {
		if wr.state == s {
			out = append(out, wr.name)
		}
	}
	return out
}

// verbs returns how the writes of w are described: "created", "create" or "removed", "removal".
func (w *hostWork) verbs() (done, noun string) {
	if w.action == scale.ActionUp {
		return "created", "create"
	}
	return "removed", "evacuation"
}

// progress describes what the plan has done so far, for answers and steps.
func (w *hostWork) progress() string {
	done, noun := w.verbs()
	parts := []string{fmt.Sprintf("%s %v", done, nonNil(w.names(writeDone)))}
	if u := w.names(writeUnsure); len(u) > 0 {
		parts = append(parts, fmt.Sprintf("%v unknown (the %s got no answer)", u, noun))
	}
	if p := w.names(writePending); len(p) > 0 {
		parts = append(parts, fmt.Sprintf("%v not %s", p, done))
	}
	return strings.Join(parts, ", ")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// markUnsent records a write that failed: when Cattle may have applied it, it is unsure until a listing tells.
func markUnsent(in *intent, wr *hostWrite, err error) {
	if !maybeApplied(err) {
		return
	}
	wr.state = writeUnsure
	what := "POST hosts " + wr.name
	if in.hosts.action == scale.ActionDown {
		what = fmt.Sprintf("host.evacuate of %s (%s)", wr.name, wr.id)
	}
	if noAnswer(err) {
		in.entry.Step(what + " got no answer; the next host listing tells whether cattle applied it")
		return
	}
	in.entry.Step(fmt.Sprintf("%s failed (%v), maybe after a proxy forwarded it; the next host listing tells "+
		"whether cattle applied it", what, err))
}

// maybeApplied reports whether a failed host write may still have been applied: no answer came back (see
// noAnswer), or a retryable error status, which a proxy may answer after it forwarded the write. The listing
// that settles it is exact, so erring on this side costs nothing.
func maybeApplied(err error) bool { return noAnswer(err) || cattle.IsRetryable(err) }

// removedState reports whether a host in state s is on its way out: an evacuation with deleteHost reached its
// removal.
func removedState(s string) bool {
	switch s {
	case "removing", "removed", "purging", "purged":
		return true
	}
	return false
}

// settleHostWrites settles the unsure writes of in from a fresh listing (hosts, and group the selected hosts
// among them), records each settlement as a step, and drops the writes that would take the group beyond its
// bound. final is set at shutdown, where nothing is sent again: an evacuation whose host shows no sign of it
// stays unsure there.
func (x *Executor) settleHostWrites(in *intent, hosts []cattle.Host, group []scale.Host, final bool) {
	w := in.hosts
	if w.action == scale.ActionUp {
		for _, wr := range w.writes {
			if wr.state != writeUnsure {
				continue
			}
			if h := w.findCreated(hosts, wr.name); h != nil {
				wr.state, wr.id = writeDone, h.ID
				in.entry.Step(fmt.Sprintf("cattle lists %s (%s, %s): the create was applied", wr.name, h.ID, h.State))
				continue
			}
			wr.state = writePending
			in.entry.Step(fmt.Sprintf("cattle does not list %s: the create was not applied", wr.name))
		}
		x.boundHostWrites(in, len(group), in.scaleHost.Max-len(group))
		return
	}
	byID := make(map[string]*cattle.Host, len(hosts))
	for i := range hosts {
		byID[hosts[i].ID] = &hosts[i]
	}
	inGroup := make(map[string]bool, len(group))
	for _, h := range group {
		inGroup[h.ID] = true
	}
	for _, wr := range w.writes {
		if wr.state != writeUnsure && wr.state != writePending {
			continue
		}
		h := byID[wr.id]
		gone := h == nil || removedState(h.State)
		shows := fmt.Sprintf("cattle no longer lists %s (%s)", wr.name, wr.id)
		if h != nil {
			shows = fmt.Sprintf("cattle shows %s (%s) %s", wr.name, wr.id, h.State)
		}
		switch {
		case wr.state == writePending && gone:
			wr.state = writeDropped
			in.entry.Step(shows + ": gone by other hands, not removed by this trigger")
		case wr.state == writePending:
		case gone || (h.State != wr.planState &&
			(h.State == scale.HostStateDeactivating || h.State == scale.HostStateInactive)):
			wr.state = writeDone
			in.entry.Step(shows + ": the evacuation was applied")
		case final:
			in.entry.Step(fmt.Sprintf("cattle still shows %s (%s) %s: whether the evacuation was applied is unknown",
				wr.name, wr.id, h.State))
		default:
			wr.state = writePending
			in.entry.Step(fmt.Sprintf("cattle still shows %s (%s) %s: sending the evacuation again, to the same host "+
				"(evacuating it twice removes it once, and no other)", wr.name, wr.id, h.State))
		}
	}
	// Hosts whose evacuation is done may still be counted in the group (deactivating, inactive): they leave it.
	size := len(group)
	for _, wr := range w.writes {
		if (wr.state == writeDone || wr.state == writeUnsure) && inGroup[wr.id] {
			size--
		}
	}
	x.boundHostWrites(in, size, size-in.scaleHost.Min)
}

// findCreated returns the listed host that a create of hostname made: one with that hostname that was not
// there when the plan was made.
func (w *hostWork) findCreated(hosts []cattle.Host, hostname string) *cattle.Host {
	for i := range hosts {
		if strings.EqualFold(hosts[i].Hostname, hostname) && !w.before[hosts[i].ID] {
			return &hosts[i]
		}
	}
	return nil
}

// boundHostWrites drops the pending writes beyond room (the hosts the group can still gain or lose), the last
// ones first, when another client changed the group since the plan was made; size is the group's size now.
func (x *Executor) boundHostWrites(in *intent, size, room int) {
	w := in.hosts
	var pending []*hostWrite
	for _, wr := range w.writes {
		if wr.state == writePending {
			pending = append(pending, wr)
		}
	}
	if len(pending) <= room {
		return
	}
	room = max(room, 0)
	var dropped []string
	for _, wr := range pending[room:] {
		wr.state = writeDropped
		dropped = append(dropped, wr.name)
	}
	bound := fmt.Sprintf("max %d", in.scaleHost.Max)
	if w.action == scale.ActionDown {
		bound = fmt.Sprintf("min %d", in.scaleHost.Min)
	}
	_, noun := w.verbs()
	in.entry.Step(fmt.Sprintf("the group has %d hosts now (another client changed it): %v dropped from the plan, "+
		"its %s would pass %s", size, dropped, noun, bound))
}

// hostDecision is the decision a finished plan answers: the planned one, its To moved by the writes actually
// done, "clamped" when some were dropped and "none" when nothing was done.
func (w *hostWork) hostDecision() scale.Decision {
	d := w.decision
	done := len(w.names(writeDone))
	if len(w.names(writeDropped)) == 0 {
		return d
	}
	reason, none := scale.ReasonClampedToMax, scale.ReasonAtMax
	d.To = d.From + done
	if w.action == scale.ActionDown {
		reason, none = scale.ReasonClampedToMin, scale.ReasonAtMin
		d.To = d.From - done
	}
	if done == 0 {
		return scale.Decision{Result: scale.ResultNone, From: d.From, To: d.From, Reason: none}
	}
	d.Reason = reason
	return d
}

// finishHostWork answers a plan whose every write is done or dropped.
func (x *Executor) finishHostWork(in *intent) {
	w := in.hosts
	d := w.hostDecision()
	done := w.names(writeDone)
	outcome := OutcomeDone
	if d.Result != scale.ResultScaled {
		outcome = OutcomeIgnored
	}
	if dropped := w.names(writeDropped); len(dropped) > 0 {
		verb, _ := w.verbs()
		in.entry.SetDecision(fmt.Sprintf("%s %v; %v not %s (%s)", verb, nonNil(done), dropped, verb, d.Reason))
	}
	verb, _ := w.verbs()
	x.log.WithFields(logFields(in.key, "scaleHost")).WithField(verb, len(done)).Info("hosts " + verb)
	in.hosts = nil
	in.finish(outcome, nil, Answer{Status: http.StatusOK, Body: reply{
		ExecutionID: in.entry.ID(), Decision: d, Target: in.key, Targets: done}})
}

// failHost ends a scaleHost intent on an error retrying cannot cure. When some of its writes were sent, the
// answer says which hosts changed and which may have: the sender must not simply send the trigger again.
func (x *Executor) failHost(in *intent, err error) {
	w := in.hosts
	if !w.sent() {
		x.failAll([]*intent{in}, err)
		return
	}
	msg := fmt.Sprintf("cattle refused the change: %v; so far %s; not repeated", err, w.progress())
	x.log.WithFields(logFields(in.key, "scaleHost")).WithError(err).Error("trigger failed part way")
	x.finishHostPartial(in, err, msg)
}

// finishHostPartial ends a plan that did not complete with a 200 "failed" answer saying what it did.
func (x *Executor) finishHostPartial(in *intent, err error, msg string) {
	w := in.hosts
	d := w.decision
	done := len(w.names(writeDone))
	d.Result, d.Reason, d.To = "failed", "", d.From+done
	if w.action == scale.ActionDown {
		d.To = d.From - done
	}
	in.entry.SetDecision("failed: " + msg)
	in.hosts = nil
	in.finish(OutcomeFailed, err, Answer{Status: http.StatusOK, Body: reply{ExecutionID: in.entry.ID(),
		Target: in.key, Message: msg, Decision: d, Targets: w.names(writeDone)}})
}

// keepHostWork reports whether GiveUp must keep in rather than answer "retry later": some of its writes were
// sent, so the sender's retry would apply them a second time. It records why as a step.
func keepHostWork(in *intent, err error) bool {
	if !in.hosts.sent() {
		return false
	}
	in.entry.Step(fmt.Sprintf("cattle kept failing: %v; so far %s; kept until cattle answers", err, in.hosts.progress()))
	return true
}
