package execution

import (
	"errors"

	"github.com/rancher/scale-subscriber/receivers"
)

// RecordRejected records a trigger the receivers API refused before it ran (over its receiver's rate limit),
// so the history shows it as rejected with the reason, and returns the record's id for the answer. It
// implements receivers.RejectionRecorder.
func (x *Executor) RecordRejected(t receivers.Trigger, status int, reason string) string {
	rec := t.Receiver
	e := x.history.Start(rec.ID, rec.Name, rec.Driver, t.Received)
	e.SetInput("refused before reading the body")
	e.SetDecision("rejected: " + reason)
	e.Finish(OutcomeRejected, errors.New(reason))
	x.metrics.observe(rec.Driver, OutcomeRejected, status, x.now().Sub(t.Received))
	return e.ID()
}
