package execution

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// Steps are kept in order up to maxSteps, the newest always visible; OnFinal hears of each record once, at its
// first Finish, with a copy that includes its steps.
func TestStepsAndOnFinal(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	h := NewHistory(0, func() time.Time { return now })
	var finals []Record
	h.OnFinal(func(r Record) { finals = append(finals, r) })
	e := h.Start("1go4", "web", "serviceUpgrade", now)
	for i := range maxSteps + 5 {
		e.Step(fmt.Sprintf("step %d", i))
	}
	r := e.Snapshot()
	if len(r.Steps) != maxSteps || r.Steps[0].Message != "step 0" || r.Steps[maxSteps-1].Message != fmt.Sprintf("step %d", maxSteps+4) ||
		r.StepsOmitted != 5 {
		t.Fatalf("steps: %d kept, first %q, last %q, %d omitted", len(r.Steps), r.Steps[0].Message,
			r.Steps[len(r.Steps)-1].Message, r.StepsOmitted)
	}
	e.Finish(OutcomeRolledBack, errors.New("unhealthy"))
	e.Finish(OutcomeFailed, nil)
	if len(finals) != 1 || finals[0].Outcome != OutcomeRolledBack || finals[0].Error != "unhealthy" || len(finals[0].Steps) != maxSteps {
		t.Fatalf("OnFinal calls %+v, want one with the rolled-back record", finals)
	}
	finals[0].Steps[0].Message = "changed"
	if e.Snapshot().Steps[0].Message != "step 0" {
		t.Fatal("OnFinal got the history's own steps, not a copy")
	}
	if empty := h.Start("1go4", "web", "scaleService", now).Snapshot(); empty.Steps == nil {
		t.Fatal("a record without steps must list [] (never null)")
	}
}
