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
// the rounds themselves (intent.blocked) and get the same 503 past maxBlockedRounds.

// maxBlockedRounds bounds the rounds a scaleHost trigger that sent nothing waits behind an earlier one of its
// group: the failed processings after which the workers give a key up (events.DefaultMaxRetries+1).
const maxBlockedRounds = events.DefaultMaxRetries + 1

// holdBehind counts a round in which the triggers of rest waited behind one that could not go on (why), answers
// 503 those that sent nothing and waited more than maxBlockedRounds rounds, and returns the others, in order.
func (x *Executor) holdBehind(key string, rest []*intent, why string) []*intent {
	var keep []*intent
	for _, in := range rest {
		if in.hosts.sent() {
			keep = append(keep, in)
			continue
		}
		in.blocked++
		if in.blocked <= maxBlockedRounds {
			keep = append(keep, in)
			continue
		}
		msg := fmt.Sprintf("not executed: an earlier trigger on this host group could not complete for %d rounds "+
			"(%s); retry later", in.blocked, why)
		x.log.WithFields(logFields(key, "scaleHost")).WithField("execution_id", in.entry.ID()).
			Error("trigger given up behind a blocked one")
		in.entry.SetDecision(msg)
		in.finish(OutcomeFailed, fmt.Errorf("blocked behind an earlier trigger: %s", why),
			errorAnswer(http.StatusServiceUnavailable, in.entry.ID(), key, msg))
	}
	return keep
}
