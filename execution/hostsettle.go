package execution

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/scale"
)

// A scaleHost trigger is relative ("up by 2 within max"), and a host create or evacuation that got no answer may
// have been applied by Cattle or not. Planning such a trigger again from a listing that already shows some of
// its own work would apply that work a second time (2N hosts for "up by N"). So once the first write of a plan
// may have reached Cattle, the plan is fixed: the hostnames to create, or the hosts to remove, and the fate of
// each write. A retry settles the writes that got no answer from a fresh host listing, then sends only what is
// still missing. This holds within one run of the service: the plan lives in memory, and a crash part way
// loses it.
//
//   - each create gives its host a marker label (HostMarkerLabel, hostmarker.go) whose value is unique to that
//     write: a listed host carrying it is the create applied. The hostname is only shown, since another group
//     or client may create the same one. Two hosts carrying it mean the create was applied twice: the trigger's
//     listing, or any later scaleHost trigger's, says so (a step and an error log).
//   - a create no listing shows is settled as not applied at once when the connection to Cattle was refused
//     (nothing was sent). Otherwise (timeout, broken connection, a proxy's 5xx) a proxy or a busy Cattle may
//     still be working on it, for a time nothing tells: the settle window (Options.HostCreateSettleWindow, at
//     least the Cattle request timeout) is a guess at it. Within the window the trigger, and those after it on
//     the group, wait (a delayed re-queue); past it the create is taken for not applied and sent again with the
//     same marker (and the same hostname, unless another host of the group took it meanwhile). A send that
//     lands after the window anyway makes a second host with the marker, reported as above.
//   - an evacuation is applied when its host left the group (gone, removing or removed, or out of the group by
//     other hands: either way the group lost it). A host still in the group gets the evacuation again: it
//     works from any state, and evacuating one host twice removes that host once, and never another. At
//     shutdown nothing is sent again: there a host that went deactivating or inactive since the plan counts as
//     evacuated, and any other keeps the evacuation's outcome unknown.
//   - a write is sent at most maxHostSends times without an answer. Past that it stays unknown and the trigger
//     ends with a 200 "failed" saying so ("check the group"): a Cattle that never answers must not get the same
//     write without end, nor hold the triggers behind it for good. Those wait at most maxBlockedRounds rounds
//     (hostblocked.go).
//
// Writes not sent yet are checked again before they go: a host to remove that left the group meanwhile is
// dropped (another client removed it), and when another client grew (or shrank) the group, the writes beyond
// max (or min) are dropped rather than sent. A trigger thus adds (removes) at most the hosts of its plan, each
// at most once as far as the settle window holds, and its answer says why any was not.
//
// Close settles the same way from one listing, without sending: a create not listed is unknown within the
// window and not applied past it.

// writeState is the fate of one host write of a plan.
type writeState int

const (
	// writePending: not sent yet, or settled as not applied (a create), or to be sent again (an evacuation).
	writePending writeState = iota
	// writeUnsure: sent, and no answer or listing says yet whether Cattle applied it.
	writeUnsure
	// writeDone: answered, or seen applied in a listing.
	writeDone
	// writeDropped: never sent, for the reason in hostWrite.dropped.
	writeDropped
)

// Why a write of a plan was dropped before it was sent.
const (
	// dropBound: another client took the group to the trigger's max (min) meanwhile.
	dropBound = "bound"
	// dropLeft: the host to remove left the group by other hands.
	dropLeft = "left"
)

// maxSettleTries bounds how often a trigger whose processing failed for good is kept for a listing to settle its
// unsure writes, before it ends saying which writes are unknown.
const maxSettleTries = 5

// maxHostSends bounds the sends of one host write that may have reached Cattle without an answer.
const maxHostSends = 3

// DefaultHostCreateSettleWindow is the settle window of a host create that got no answer when
// Options.HostCreateSettleWindow is zero.
const DefaultHostCreateSettleWindow = time.Minute

// hostWrite is one create or evacuation of a plan.
type hostWrite struct {
	// name is the hostname to create, or the name of the host to remove.
	name string
	// id is the host's id: the host to remove, or the created host once known.
	id string
	// marker is the HostMarkerLabel value the created host carries (creates only): what a listing settles it by.
	marker string
	// planState is the state of the host to remove when the plan was made.
	planState string
	state     writeState
	// tried is set once the write may have reached Cattle (answered, or failed without proof it was not sent).
	tried bool
	// sends counts the sends that failed without proof they were not applied (see maxHostSends).
	sends int
	// exhausted is set when an unsure write would be sent again but was sent maxHostSends times already.
	exhausted bool
	// notBefore is when a listing without the host of an unsure create may settle it as not applied (creates
	// only: the settle window after the send failed).
	notBefore time.Time
	// waitNoted is set once a step said the settlement waits for notBefore.
	waitNoted bool
	// dropped is why a dropped write was dropped (dropBound, dropLeft).
	dropped string
}

// hostWork is the fixed plan of a scaleHost intent and the fate of its writes.
type hostWork struct {
	action scale.Action
	// decision is the planned decision; the answer's To counts the writes actually done.
	decision scale.Decision
	// templateID and labels make the clones of a scale-up (each also carries its write's marker).
	templateID string
	labels     map[string]string
	writes     []*hostWrite
	// settleTries counts the processings that failed for good while writes were unsure (see settleLater).
	settleTries int
}

func newUpWork(plan scale.HostUpPlan, marker func(n int) string) *hostWork {
	w := &hostWork{action: scale.ActionUp, decision: plan.Decision, templateID: plan.Template.ID, labels: plan.Labels}
	for i, name := range plan.Hostnames {
		w.writes = append(w.writes, &hostWrite{name: name, marker: marker(i + 1)})
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

// sent reports whether a write of the plan may have reached Cattle: from then on Cattle may have changed, and
// the plan must be completed, not made again.
func (w *hostWork) sent() bool {
	return w != nil && slices.ContainsFunc(w.writes, func(wr *hostWrite) bool { return wr.tried })
}

// stalls counts the rounds in which the plan could not go on for its unsure writes: the waits for a settle window
// noted, and the keeps of settleLater. A round that only waits out a wait already noted (the key woke early)
// does not count. Zero for no plan.
func (w *hostWork) stalls() int {
	if w == nil {
		return 0
	}
	n := w.settleTries
	for _, wr := range w.writes {
		if wr.waitNoted {
			n++
		}
	}
	return n
}

// exhaustedNames lists the writes that reached maxHostSends and are still unsettled, in plan order (a write a
// later listing settled is no longer exhausted, whatever its count).
func (w *hostWork) exhaustedNames() []string {
	var out []string
	for _, wr := range w.writes {
		if wr.exhausted && wr.state == writeUnsure {
			out = append(out, wr.name)
		}
	}
	return out
}

// count is the number of writes in state s.
func (w *hostWork) count(s writeState) int {
	n := 0
	for _, wr := range w.writes {
		if wr.state == s {
			n++
		}
	}
	return n
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

// verbs returns how the writes of w are described: "created", "create" or "removed", "evacuation".
func (w *hostWork) verbs() (done, noun string) {
	if w.action == scale.ActionUp {
		return "created", "create"
	}
	return "removed", "evacuation"
}

// dropReason is the answer's wording of why a write was dropped.
func (w *hostWork) dropReason(why string) string {
	switch {
	case why == dropLeft:
		return scale.ReasonLeftGroup
	case w.action == scale.ActionUp:
		return scale.ReasonClampedToMax
	}
	return scale.ReasonClampedToMin
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
	for _, why := range []string{dropLeft, dropBound} {
		var names []string
		for _, wr := range w.writes {
			if wr.state == writeDropped && wr.dropped == why {
				names = append(names, wr.name)
			}
		}
		if len(names) > 0 {
			parts = append(parts, fmt.Sprintf("%v not %s (%s)", names, done, w.dropReason(why)))
		}
	}
	return strings.Join(parts, ", ")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeFailed records a write that failed. One that was not sent stays pending; one Cattle may have applied is
// unsure until a listing tells, counts as a send, and a create is not settled as not applied before notBefore
// (an evacuation's host tells at once: nothing to wait for).
func (x *Executor) writeFailed(in *intent, wr *hostWrite, err error) {
	what := "POST hosts " + wr.name
	if in.hosts.action == scale.ActionDown {
		what = fmt.Sprintf("host.evacuate of %s (%s)", wr.name, wr.id)
	}
	if notSent(err) {
		in.entry.Step(fmt.Sprintf("%s was not sent (%v): nothing was applied", what, err))
		return
	}
	if !maybeApplied(err) {
		return
	}
	wr.state, wr.tried, wr.waitNoted = writeUnsure, true, false
	wr.sends++
	if in.hosts.action == scale.ActionUp {
		wr.notBefore = x.now().Add(x.settleWindow)
	}
	if noAnswer(err) {
		in.entry.Step(what + " got no answer; a host listing tells whether cattle applied it")
		return
	}
	in.entry.Step(fmt.Sprintf("%s failed (%v), maybe after a proxy forwarded it; a host listing tells "+
		"whether cattle applied it", what, err))
}

// notSent reports whether a write failed before any of it left: the connection to Cattle (or to the proxy in
// front of it) could not be made. The client wraps the dialer's *net.OpError ("dial": refused, unreachable, a
// name that does not resolve) in its *cattle.TransportError. A timeout or cancellation during the dial is not
// told apart from one after the request went out, and so counts as maybe sent.
func notSent(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// maybeApplied reports whether a failed host write may still have been applied: it was sent and no answer came
// back (see noAnswer), or a 5xx answer, which a proxy may give after it forwarded the write or Cattle after it
// stored part of it. Cattle's 4xx answers (409 and 429 included) refuse the write.
func maybeApplied(err error) bool {
	if notSent(err) {
		return false
	}
	var apiErr *cattle.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status >= http.StatusInternalServerError
	}
	return noAnswer(err)
}

// settleHostWrites settles the writes of in that may have reached Cattle from a fresh listing (hosts, and group
// the selected hosts among them), records each settlement as a step, and drops the writes not sent that can no
// longer go. final is set at shutdown, where nothing is sent again. It returns how long to wait before a listing
// may settle the creates still unsure (zero when none is: the plan can go on, unless a write is exhausted).
func (x *Executor) settleHostWrites(in *intent, hosts []cattle.Host, group []scale.Host, final bool) time.Duration {
	if in.hosts.action == scale.ActionUp {
		return x.settleCreates(in, hosts, group, final)
	}
	x.settleEvacuations(in, hosts, group, final)
	return 0
}

// settleCreates settles the creates that may have reached Cattle by their markers; see settleHostWrites.
func (x *Executor) settleCreates(in *intent, hosts []cattle.Host, group []scale.Host, final bool) time.Duration {
	w := in.hosts
	now := x.now()
	var wait time.Duration
	for _, wr := range w.writes {
		if wr.state != writeUnsure && (wr.state != writePending || !wr.tried) {
			continue
		}
		if made := carrying(hosts, wr.marker); len(made) > 0 {
			x.createApplied(in, wr, made)
			continue
		}
		notListed := fmt.Sprintf("cattle does not list %s (%s=%s)", wr.name, HostMarkerLabel, wr.marker)
		switch {
		case wr.state == writePending:
			// Settled as not applied before (its send since was refused), and still not listed: sent again.
		case now.Before(wr.notBefore) && final:
			// The sender's retry would plan afresh, blind to this create should it land later: unknown.
			in.entry.Step(fmt.Sprintf("%s, and the create that got no answer may still reach it (the settle "+
				"window of %s ends at %s): whether it was applied is unknown", notListed, x.settleWindow,
				wr.notBefore.UTC().Format(time.RFC3339Nano)))
		case now.Before(wr.notBefore):
			wait = max(wait, wr.notBefore.Sub(now))
			if !wr.waitNoted {
				wr.waitNoted = true
				in.entry.Step(fmt.Sprintf("%s yet; the create may still reach it, so it is settled after the "+
					"settle window (%s) since it failed, at %s", notListed, x.settleWindow,
					wr.notBefore.UTC().Format(time.RFC3339Nano)))
			}
		case wr.sends >= maxHostSends:
			wr.exhausted = true
			in.entry.Step(fmt.Sprintf("%s a settle window after the last of %d sends that got no answer: it is "+
				"not sent again, and whether it was applied is unknown", notListed, wr.sends))
		default:
			wr.state = writePending
			again := "; it is sent again"
			if final {
				again = ""
			}
			in.entry.Step(fmt.Sprintf("%s a settle window (%s) after it failed: taken for not applied%s",
				notListed, x.settleWindow, again))
		}
	}
	if wait > 0 || len(w.exhaustedNames()) > 0 {
		return wait
	}
	x.boundHostWrites(in, len(group), in.scaleHost.Max-len(group), w.writes)
	return 0
}

// createApplied settles a create whose marker the listing shows on made (oldest first). The write takes the
// host's name: a send made under an earlier name may be the one that landed. A second host carrying the marker
// is reported by reportDuplicates.
func (x *Executor) createApplied(in *intent, wr *hostWrite, made []cattle.Host) {
	h := made[0]
	wr.state, wr.id = writeDone, h.ID
	if h.Hostname != "" {
		wr.name = h.Hostname
	}
	in.entry.Step(fmt.Sprintf("cattle lists %s (%s, %s) carrying %s=%s: the create was applied", h.Hostname, h.ID,
		h.State, HostMarkerLabel, wr.marker))
}

// carrying returns the listed hosts whose HostMarkerLabel is marker, in listing order.
func carrying(hosts []cattle.Host, marker string) []cattle.Host {
	var out []cattle.Host
	for i := range hosts {
		if marker != "" && hosts[i].Labels[HostMarkerLabel] == marker {
			out = append(out, hosts[i])
		}
	}
	return out
}

// settleEvacuations settles the evacuations of in by their hosts' membership of the group and drops those not
// sent whose host left it; see settleHostWrites.
func (x *Executor) settleEvacuations(in *intent, hosts []cattle.Host, group []scale.Host, final bool) {
	w := in.hosts
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
		shows := fmt.Sprintf("cattle no longer lists %s (%s)", wr.name, wr.id)
		if h != nil {
			shows = fmt.Sprintf("cattle shows %s (%s) %s", wr.name, wr.id, h.State)
			if !inGroup[wr.id] && !scale.OutOfGroup(h.State) {
				shows += " without the group's labels"
			}
		}
		switch {
		case !inGroup[wr.id] && !wr.tried:
			wr.state, wr.dropped = writeDropped, dropLeft
			in.entry.Step(shows + ": it left the group by other hands; not removed by this trigger")
		case !inGroup[wr.id]:
			wr.state = writeDone
			in.entry.Step(shows + ": it left the group, so the evacuation was applied (or another client " +
				"took the host out first)")
		case !wr.tried:
			// Never sent: it goes, unless the bound drops it.
		case final && h.State != wr.planState &&
			(h.State == scale.HostStateDeactivating || h.State == scale.HostStateInactive):
			// Only at shutdown, where nothing can be sent again to make sure: the likely reading, though
			// another client's deactivation would look the same.
			wr.state = writeDone
			in.entry.Step(shows + ": the evacuation was applied")
		case final:
			wr.state = writeUnsure
			in.entry.Step(shows + ": whether the evacuation was applied is unknown")
		case wr.state == writeUnsure && wr.sends >= maxHostSends:
			wr.exhausted = true
			in.entry.Step(fmt.Sprintf("%s after %d sends of the evacuation that got no answer: it is not sent "+
				"again, and whether it was applied is unknown", shows, wr.sends))
		case wr.state == writeUnsure:
			wr.state = writePending
			in.entry.Step(shows + ": sending the evacuation again, to the same host (an evacuation works from " +
				"any state; evacuating a host twice removes it once, and no other)")
		}
	}
	// The hosts of evacuations that may have reached Cattle leave the group (a deactivating or inactive host is
	// still counted): only the writes never sent can take it below min, and only they are dropped for it.
	size := len(group)
	var untried []*hostWrite
	for _, wr := range w.writes {
		if wr.tried && inGroup[wr.id] {
			size--
		}
		if !wr.tried {
			untried = append(untried, wr)
		}
	}
	x.boundHostWrites(in, size, size-in.scaleHost.Min, untried)
}

// boundHostWrites drops the pending writes among candidates beyond room (the hosts the group can still gain or
// lose), the last ones first, when another client changed the group since the plan was made; size is the
// group's size now.
func (x *Executor) boundHostWrites(in *intent, size, room int, candidates []*hostWrite) {
	w := in.hosts
	var pending []*hostWrite
	for _, wr := range candidates {
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
		wr.state, wr.dropped = writeDropped, dropBound
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
// done and its reason saying why writes were dropped ("none" when nothing was done).
func (w *hostWork) hostDecision() scale.Decision {
	d := w.decision
	if w.count(writeDropped) == 0 {
		return d
	}
	done := w.count(writeDone)
	d.To = d.From + done
	if w.action == scale.ActionDown {
		d.To = d.From - done
	}
	var reasons []string
	if d.Reason != "" {
		reasons = append(reasons, d.Reason)
	}
	for _, wr := range w.writes {
		if wr.state != writeDropped {
			continue
		}
		r := w.dropReason(wr.dropped)
		if done == 0 && r == scale.ReasonClampedToMax {
			r = scale.ReasonAtMax
		} else if done == 0 && r == scale.ReasonClampedToMin {
			r = scale.ReasonAtMin
		}
		if !slices.Contains(reasons, r) {
			reasons = append(reasons, r)
		}
	}
	if done == 0 {
		// A planned clamp is beside the point when nothing was done.
		reasons = slices.DeleteFunc(reasons, func(r string) bool {
			return r == scale.ReasonClampedToMax || r == scale.ReasonClampedToMin
		})
		return scale.Decision{Result: scale.ResultNone, From: d.From, To: d.From, Reason: strings.Join(reasons, "; ")}
	}
	d.Reason = strings.Join(reasons, "; ")
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
	if w.count(writeDropped) > 0 {
		in.entry.SetDecision(w.progress())
	}
	verb, _ := w.verbs()
	x.log.WithFields(logFields(in.key, "scaleHost")).WithField(verb, len(done)).Info("hosts " + verb)
	in.hosts = nil
	in.finish(outcome, nil, Answer{Status: http.StatusOK, Body: reply{
		ExecutionID: in.entry.ID(), Decision: d, Target: in.key, Targets: done}})
}

// failureWording is how an answer introduces an error retrying cannot cure: Cattle's own refusal (an error
// answer, or the client's refusal from the schema), or any other failure (an answer that did not decode, a
// name that does not resolve, a template that left the group).
func failureWording(err error) string {
	if err != nil && !noAnswer(err) {
		return "cattle refused the change"
	}
	return "the change failed"
}

// failHost ends a scaleHost intent on an error retrying cannot cure. When some of its writes were sent, the
// answer says which hosts changed and which may have: the sender must not simply send the trigger again.
func (x *Executor) failHost(in *intent, err error) {
	w := in.hosts
	if !w.sent() {
		x.failAll([]*intent{in}, err)
		return
	}
	msg := fmt.Sprintf("%s: %v; so far %s; not repeated", failureWording(err), err, w.progress())
	x.log.WithFields(logFields(in.key, "scaleHost")).WithError(err).Error("trigger failed part way")
	x.finishHostPartial(in, err, msg)
}

// finishExhausted ends a scaleHost intent one of whose writes was sent maxHostSends times without an answer and
// still does not show applied: a 200 "failed" saying which hosts changed and which may have.
func (x *Executor) finishExhausted(in *intent) {
	w := in.hosts
	_, noun := w.verbs()
	err := fmt.Errorf("the %s of %v got no answer %d times and cattle does not show it applied", noun,
		w.exhaustedNames(), maxHostSends)
	msg := fmt.Sprintf("%s: %v; so far %s; not repeated, check the group before sending this trigger again",
		failureWording(err), err, w.progress())
	x.log.WithFields(logFields(in.key, "scaleHost")).WithError(err).Error("trigger failed part way")
	x.finishHostPartial(in, err, msg)
}

// settleLater decides whether a scaleHost intent whose processing failed for good (err) is kept instead, for a
// later listing to settle its unsure writes, and returns how long to wait for it (zero: fail it). It is kept at
// most maxSettleTries times; each time a step says why.
func (x *Executor) settleLater(in *intent, err error) time.Duration {
	w := in.hosts
	if w == nil || w.count(writeUnsure) == 0 || w.settleTries >= maxSettleTries {
		return 0
	}
	w.settleTries++
	in.entry.Step(fmt.Sprintf("%s: %v; so far %s; kept until a host listing settles the writes that may have "+
		"been applied", failureWording(err), err, w.progress()))
	wait := time.Duration(0)
	now := x.now()
	for _, wr := range w.writes {
		if wr.state == writeUnsure {
			wait = max(wait, wr.notBefore.Sub(now))
		}
	}
	if wait <= 0 {
		wait = waitGuard
	}
	return wait
}

// finishHostPartial ends a plan that did not complete with a 200 "failed" answer saying what it did.
func (x *Executor) finishHostPartial(in *intent, err error, msg string) {
	w := in.hosts
	d := w.decision
	done := w.count(writeDone)
	d.Result, d.Reason, d.To = "failed", "", d.From+done
	if w.action == scale.ActionDown {
		d.To = d.From - done
	}
	in.entry.SetDecision("failed: " + msg)
	in.hosts = nil
	in.finish(OutcomeFailed, err, Answer{Status: http.StatusOK, Body: reply{ExecutionID: in.entry.ID(),
		Target: in.key, Message: msg, Decision: d, Targets: w.names(writeDone)}})
}

// noteHostWorkKept records on a scaleHost intent with writes sent that GiveUp keeps it although Cattle kept
// failing (err): the sender's retry would apply its writes a second time.
func noteHostWorkKept(in *intent, err error) {
	in.entry.Step(fmt.Sprintf("cattle kept failing: %v; so far %s; kept until cattle answers", err, in.hosts.progress()))
}
