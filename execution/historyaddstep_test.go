package execution

import (
	"testing"
	"time"
)

// AddStep appends to a finished record by id (the "notified" step comes after the execution ended) without
// calling OnFinal again, and reports a record the history no longer keeps.
func TestAddStepAfterFinish(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	h := NewHistory(1, func() time.Time { return now })
	finals := 0
	h.OnFinal(func(Record) { finals++ })
	e := h.Start("1go4", "web", "serviceUpgrade", now)
	e.Step("upgrade started")
	e.Finish(OutcomeRolledBack, nil)
	if !h.AddStep(e.ID(), "notified webhook") {
		t.Fatal("AddStep did not find the record")
	}
	r, _ := h.Get(e.ID())
	if len(r.Steps) != 2 || r.Steps[1].Message != "notified webhook" || !r.Steps[1].Time.Equal(now) || finals != 1 {
		t.Fatalf("steps %+v, OnFinal calls %d; want the notified step appended and one OnFinal call", r.Steps, finals)
	}
	h.Start("1go4", "web", "serviceUpgrade", now) // pushes the first record out of a history of one
	if h.AddStep(e.ID(), "notified email") {
		t.Fatal("AddStep found a record the history no longer keeps")
	}
}
