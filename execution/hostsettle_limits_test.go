package execution

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/events"
)

// The bounds of settling: how often a trigger is kept for a listing, how often one write is sent, how long a
// create is waited for, and that an evacuation is not waited for at all.

// A trigger kept for a listing maxSettleTries times (each of its creates' 2xx answers did not decode) ends the
// next time with a 200 "failed" saying what it created and which create is unknown, instead of being kept again.
func TestScaleHostSettleTriesRunOut(t *testing.T) {
	f := newHostFixture(t)
	f.c.set(func(c *hostCattle) { c.always = faultBadBody })
	in := f.trigger(hostUp(maxSettleTries+1, 20))
	for i := range maxSettleTries + 1 {
		if _, ok := answered(in); ok {
			t.Fatalf("answered after %d processings, want %d", i, maxSettleTries+1)
		}
		if err := f.process(); err != nil {
			t.Fatalf("processing %d: %v", i+1, err)
		}
	}
	r := f.mustAnswer(in)
	created := []string{"worker-03", "worker-04", "worker-05", "worker-06", "worker-07"}
	if r.Result != "failed" || r.From != 3 || r.To != 8 || !slices.Equal(r.Targets, created) ||
		!strings.Contains(r.Message, "[worker-08] unknown") || !strings.Contains(r.Message, "not repeated") {
		t.Errorf("answer %+v, want failed 3 → 8 naming %v created and worker-08 unknown", r, created)
	}
	if got := f.c.createdNames(); len(got) != maxSettleTries+1 {
		t.Errorf("cattle created %v, want each planned host once", got)
	}
	if rec := in.entry.Snapshot(); rec.Outcome != OutcomeFailed {
		t.Errorf("record outcome %s, want failed", rec.Outcome)
	}
}

// An evacuation whose host keeps showing nothing after a lost answer is sent 3 times in all, to the same host,
// then the trigger ends "failed … unknown".
func TestScaleHostEvacuationSentThreeTimes(t *testing.T) {
	f := newHostFixture(t)
	c1 := f.c.idOf("custom-01")
	f.c.set(func(c *hostCattle) { c.always = faultQuiet })
	in := f.trigger(hostDown(1, 1))
	// Each send fails as retryable; the round after the third answers. Twice that many rounds bound the loop.
	for range 2 * maxHostSends {
		if _, ok := answered(in); ok {
			break
		}
		if err := f.process(); err != nil && !cattle.IsRetryable(err) {
			t.Fatalf("processing: %v, want a retryable error or none", err)
		}
	}
	r := f.mustAnswer(in)
	if r.Result != "failed" || r.To != 3 || !strings.Contains(r.Message, "[custom-01] unknown") ||
		!strings.Contains(r.Message, "check the group") {
		t.Errorf("answer %+v, want failed with custom-01 unknown, check the group", r)
	}
	if got := f.c.evacuations(); !slices.Equal(got, []string{c1, c1, c1}) {
		t.Errorf("cattle evacuated %v, want custom-01 (%s) 3 times", got, c1)
	}
}

// An evacuation that may have been applied is settled by its host's state, which needs no settle window: a
// trigger kept for a listing is looked at again after waitGuard, not after the window.
func TestScaleHostUnsureEvacuationDoesNotWaitTheWindow(t *testing.T) {
	f := newHostFixture(t)
	f.c.set(func(c *hostCattle) { c.faults = []string{faultBadBody} })
	in := f.trigger(hostDown(1, 1))
	if err := f.process(); err != nil {
		t.Fatalf("processing: %v", err)
	}
	if d := f.c.requeued(); !slices.Equal(d, []time.Duration{waitGuard}) {
		t.Errorf("delayed re-adds %v, want [%s] (not the %s window)", d, waitGuard, testCattleTimeout)
	}
	if in.hosts == nil || !in.hosts.writes[0].notBefore.IsZero() {
		t.Errorf("the evacuation has a settle deadline: %+v", in.hosts)
	}
}

// The settle window is the setting, or the Cattle request timeout when that is longer; a minute by default.
func TestHostCreateSettleWindow(t *testing.T) {
	for _, tc := range []struct {
		name             string
		setting, timeout time.Duration
		want             time.Duration
	}{
		{"default", 0, 10 * time.Second, DefaultHostCreateSettleWindow},
		{"setting", 90 * time.Second, 10 * time.Second, 90 * time.Second},
		{"timeout longer", time.Second, 10 * time.Second, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newHostCattle()
			c.set(func(c *hostCattle) { c.timeout = tc.timeout })
			x, err := New(Options{Cattle: c, Cache: c, Queue: c, Router: events.NewRouter(events.RouterOptions{}),
				HostCreateSettleWindow: tc.setting})
			if err != nil {
				t.Fatal(err)
			}
			if x.settleWindow != tc.want {
				t.Errorf("settle window %s, want %s", x.settleWindow, tc.want)
			}
		})
	}
	if DefaultHostCreateSettleWindow != time.Minute {
		t.Errorf("default settle window %s, want 1m (config.Defaults and docs/configuration.md say so)",
			DefaultHostCreateSettleWindow)
	}
}
