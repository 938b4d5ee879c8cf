package execution

import (
	"fmt"
	"net/http"

	"github.com/rancher/scale-subscriber/events"
)

// The scaleHost triggers of a group run one after the other, so one that cannot go on (Cattle keeps failing,
// or its unanswered host writes wait out the settle window) holds those behind it. The workers give a key up
// after events.DefaultMaxRetries+1 failed processings in a row, and GiveUp then answers 503 to the triggers
// that sent nothing; but every round that only waits (a delayed re-queue, a processing without error) resets
// that count, so a head alternating failures and waits would hold them without end. The triggers behind count
// the rounds themselves (intent.blocked) and get the same 503 past maxBlockedRounds. The count is per trigger
// ahead: when that one ends and the next takes its place, those behind start counting again, so a trigger is
// only turned away for what the one it waits for did.

// maxBlockedRounds bounds the rounds a scaleHost trigger that sent nothing waits behind an earlier one of its
// group: the failed processings after which the workers give a key up (events.DefaultMaxRetries+1).
const maxBlockedRounds = events.DefaultMaxRetries + 1

// holdBehind counts a round in which the triggers of rest waited behind head, which could not go on (why),
// answers 503 those that sent nothing and waited more than maxBlockedRounds rounds behind head, and returns the
// others, in order.
func (x *Executor) holdBehind(key string, head *intent, rest []*intent, why string) []*intent {
	var keep []*intent
	for _, in := range rest {
		if in.hosts.sent() {
			keep = append(keep, in)
			continue
		}
		if id := head.entry.ID(); in.blockedBy != id {
			in.blocked, in.blockedBy = 0, id
		}
		in.blocked++
		if in.blocked <= maxBlockedRounds {
			keep = append(keep, in)
			continue
		}
		msg := fmt.Sprintf("not executed: an earlier trigger on this host group (%s) could not complete for %d "+
			"rounds (%s); retry later", head.entry.ID(), in.blocked, why)
		x.log.WithFields(logFields(key, "scaleHost")).WithField("execution_id", in.entry.ID()).
			Error("trigger given up behind a blocked one")
		in.entry.SetDecision(msg)
		in.finish(OutcomeFailed, fmt.Errorf("blocked behind an earlier trigger: %s", why),
			errorAnswer(http.StatusServiceUnavailable, in.entry.ID(), key, msg))
	}
	return keep
}
