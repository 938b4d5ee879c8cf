package execution

import (
	"fmt"
	"testing"
	"time"
)

// Calls are capped like steps: the first maxCalls-1 kept in order, the newest always visible in the last place,
// the rest counted as omitted.
func TestCallsCapped(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	h := NewHistory(0, func() time.Time { return now })
	e := h.Start("1go4", "workers", "scaleHost", now)
	for i := range maxCalls + 7 {
		e.AddCall(Call{Method: "GET", Target: fmt.Sprintf("hosts #%d", i)})
	}
	r := e.Snapshot()
	if len(r.Calls) != maxCalls || r.Calls[0].Target != "hosts #0" ||
		r.Calls[maxCalls-2].Target != fmt.Sprintf("hosts #%d", maxCalls-2) ||
		r.Calls[maxCalls-1].Target != fmt.Sprintf("hosts #%d", maxCalls+6) || r.CallsOmitted != 7 {
		t.Fatalf("calls: %d kept, first %q, last %q, %d omitted; want %d kept from #0, the last #%d, 7 omitted",
			len(r.Calls), r.Calls[0].Target, r.Calls[len(r.Calls)-1].Target, r.CallsOmitted, maxCalls, maxCalls+6)
	}
	one := h.Start("1go4", "workers", "scaleHost", now)
	one.AddCall(Call{Method: "GET", Target: "hosts"})
	if r := one.Snapshot(); len(r.Calls) != 1 || r.CallsOmitted != 0 {
		t.Fatalf("one call: %+v, want it kept and none omitted", r)
	}
}
