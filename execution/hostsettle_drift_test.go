package execution

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/scale"
)

// The group changes by other hands between a trigger's first write and its retry: its template or the hosts
// it planned to remove leave the group, another client grows or shrinks it, or creates hosts with the planned
// hostnames. The retry still does only what is left of its own plan, within the bounds, and says why it did not
// do the rest.

// When the planned template leaves the group before the rest of the plan is sent, the retry clones the host the
// planner would pick now, with the labels the planner would give its clones (not the old template's).
func TestScaleHostTemplateFallback(t *testing.T) {
	f := newHostFixture(t)
	w1, w2 := f.c.idOf("worker-01"), f.c.idOf("worker-02")
	f.c.setHost(w1, func(h *cattle.Host) { h.Labels = map[string]string{"pool": "workers", "zone": "a"} })
	f.c.setHost(w2, func(h *cattle.Host) { h.Labels = map[string]string{"POOL": "Workers", "zone": "b"} })
	f.c.set(func(c *hostCattle) { c.faults = []string{faultLost} })
	in := f.trigger(hostUp(2, 10))
	if err := f.process(); err == nil {
		t.Fatal("first processing did not fail")
	}
	f.c.setHost(w1, func(h *cattle.Host) { h.State = scale.HostStateError })
	if err := f.process(); err != nil {
		t.Fatalf("retry: %v", err)
	}
	r := f.mustAnswer(in)
	if r.From != 3 || r.To != 5 || !slices.Equal(r.Targets, []string{"worker-03", "worker-04"}) {
		t.Errorf("answer %+v, want 3 → 5 creating worker-03 and worker-04", r)
	}
	made := f.c.named("worker-04")
	if len(made) != 1 {
		t.Fatalf("cattle has %d hosts named worker-04, want 1", len(made))
	}
	labels := maps.Clone(made[0].Labels)
	delete(labels, HostMarkerLabel)
	want := map[string]string{"POOL": "Workers", "zone": "b"}
	if !maps.Equal(labels, want) {
		t.Errorf("worker-04 labels %v (marker aside), want worker-02's %v", labels, want)
	}
	if rec := in.entry.Snapshot(); !recordHasStep(rec, "template host "+w1+" left the group: cloning "+w2) {
		t.Errorf("record %+v does not say the template changed", rec)
	}
}

// When another client shrinks the group while an evacuation is unsettled, the evacuations not sent yet stop at
// min; the sent one is completed.
func TestScaleHostRetryKeepsMin(t *testing.T) {
	f := newHostFixture(t)
	in := downByTwoRetried(t, f, scale.ReasonClampedToMin, func() {
		f.c.setHost(f.c.idOf("worker-01"), func(h *cattle.Host) { h.State = "removing" })
	})
	rec := in.entry.Snapshot()
	if !recordHasStep(rec, "[worker-02] dropped from the plan, its evacuation would pass min 1") ||
		!strings.Contains(rec.Decision, "[worker-02] not removed (clamped to min)") {
		t.Errorf("record %+v, want worker-02 dropped at min", rec)
	}
}

// downByTwoRetried triggers "down by 2, min 1" on the pool (plan: custom-01, then worker-02) with the first
// evacuation's answer lost, runs change, retries, and checks that the trigger removed custom-01 only (3 → 2,
// for reason) and that Cattle was asked to evacuate custom-01 alone.
func downByTwoRetried(t *testing.T, f *hostFixture, reason string, change func()) *intent {
	t.Helper()
	c1, w2 := f.c.idOf("custom-01"), f.c.idOf("worker-02")
	f.c.set(func(c *hostCattle) { c.faults = []string{faultLost} })
	in := f.trigger(hostDown(2, 1))
	if err := f.process(); err == nil {
		t.Fatal("first processing did not fail")
	}
	change()
	if err := f.process(); err != nil {
		t.Fatalf("retry: %v", err)
	}
	r := f.mustAnswer(in)
	want := scale.Decision{Result: scale.ResultScaled, From: 3, To: 2, Reason: reason}
	if r.Decision != want || !slices.Equal(r.Targets, []string{"custom-01"}) {
		t.Errorf("answer %+v, want %+v removing custom-01 only", r, want)
	}
	if got := f.c.evacuations(); !slices.Equal(got, []string{c1}) {
		t.Errorf("cattle evacuated %v, want custom-01 (%s) only, not worker-02 (%s)", got, c1, w2)
	}
	return in
}

// A host a scale-down planned to remove that left the group by other hands before its evacuation was sent
// (removed, in error, relabelled) is not evacuated, and the answer says why it was not removed.
func TestScaleHostDropsHostsThatLeftTheGroup(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leave func(h *cattle.Host)
	}{
		{"purged", func(h *cattle.Host) { h.State = "purged" }},
		{"removing", func(h *cattle.Host) { h.State = "removing" }},
		{"error", func(h *cattle.Host) { h.State = scale.HostStateError }},
		{"relabelled", func(h *cattle.Host) { h.Labels = map[string]string{"pool": "drain"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHostFixture(t)
			in := downByTwoRetried(t, f, scale.ReasonLeftGroup, func() { f.c.setHost(f.c.idOf("worker-02"), tc.leave) })
			rec := in.entry.Snapshot()
			if !recordHasStep(rec, "it left the group by other hands") ||
				!strings.Contains(rec.Decision, "[worker-02] not removed (left the group by other hands)") {
				t.Errorf("record %+v, want worker-02 dropped as gone by other hands", rec)
			}
		})
	}
}

// A drop for the bound and one by other hands are both named in the answer's reason and the record.
func TestScaleHostDropReasons(t *testing.T) {
	f := newHostFixture(t)
	w4 := f.c.add("worker-04", "amazonec2", "active", workers())
	c1, w1, w2 := f.c.idOf("custom-01"), f.c.idOf("worker-01"), f.c.idOf("worker-02")
	// Plan: worker-04, custom-01, worker-02. custom-01's evacuation is refused before it is sent.
	f.c.set(func(c *hostCattle) { c.faults = []string{faultNone, faultRefused} })
	in := f.trigger(hostDown(3, 1))
	if err := f.process(); err == nil {
		t.Fatal("first processing did not fail")
	}
	f.c.setHost(w2, func(h *cattle.Host) { h.State = scale.HostStateError })
	f.c.setHost(w1, func(h *cattle.Host) { h.State = "removing" })
	if err := f.process(); err != nil {
		t.Fatalf("retry: %v", err)
	}
	r := f.mustAnswer(in)
	want := scale.Decision{Result: scale.ResultScaled, From: 4, To: 3,
		Reason: scale.ReasonClampedToMin + "; " + scale.ReasonLeftGroup}
	if r.Decision != want || !slices.Equal(r.Targets, []string{"worker-04"}) {
		t.Errorf("answer %+v, want %+v removing worker-04 only", r, want)
	}
	if got := f.c.evacuations(); !slices.Equal(got, []string{w4}) {
		t.Errorf("cattle evacuated %v, want worker-04 (%s) only, not custom-01 (%s)", got, w4, c1)
	}
	rec := in.entry.Snapshot()
	if !strings.Contains(rec.Decision, "[worker-02] not removed (left the group by other hands)") ||
		!strings.Contains(rec.Decision, "[custom-01] not removed (clamped to min)") {
		t.Errorf("record decision %q, want each drop with its reason", rec.Decision)
	}
}

// A create settled as not applied that another client's growth then keeps from being sent again: nothing was
// done, "none" at max.
func TestScaleHostNothingDoneAtMax(t *testing.T) {
	f := newHostFixture(t)
	f.c.set(func(c *hostCattle) { c.faults = []string{faultCut} })
	in := f.trigger(hostUp(1, 4))
	if err := f.process(); err == nil {
		t.Fatal("first processing did not fail")
	}
	f.c.set(func(c *hostCattle) { c.add("other-01", "amazonec2", "active", workers()) })
	f.c.advance(testCattleTimeout)
	if err := f.process(); err != nil {
		t.Fatalf("retry: %v", err)
	}
	r := f.mustAnswer(in)
	want := scale.Decision{Result: scale.ResultNone, From: 3, To: 3, Reason: scale.ReasonAtMax}
	if r.Decision != want || len(r.Targets) != 0 {
		t.Errorf("answer %+v, want %+v", r, want)
	}
	if got := f.c.createdNames(); len(got) != 0 {
		t.Errorf("cattle created %v, want nothing", got)
	}
	if rec := in.entry.Snapshot(); rec.Outcome != OutcomeIgnored ||
		!strings.Contains(rec.Decision, "[worker-03] not created (clamped to max)") {
		t.Errorf("record %+v, want ignored with worker-03 dropped at max", rec)
	}
}

// Another client's host with a planned hostname never settles our create: only our marker does. Not in the
// group (in error, present when the plan was made; another group's) the create taken for not applied is sent
// again under its name; when another client created a host of that name in the group meanwhile, it is sent
// under the next free hostname, with the same marker, and a step says so.
func TestScaleHostSameHostnameElsewhere(t *testing.T) {
	for _, tc := range []struct {
		name string
		// before adds a host before the plan is made; after one between the lost create and the retry.
		before, after func(c *hostCattle)
		// sentAs is the hostname of the create sent again.
		sentAs string
	}{
		{name: "error host with the planned hostname", before: func(c *hostCattle) {
			c.add("worker-03", "amazonec2", scale.HostStateError, workers())
		}, sentAs: "worker-03"},
		{name: "another client creates the planned hostname", after: func(c *hostCattle) {
			c.add("worker-03", "amazonec2", "active", workers())
		}, sentAs: "worker-04"},
		{name: "another group's host with the planned hostname", after: func(c *hostCattle) {
			c.add("worker-03", "amazonec2", "active", map[string]string{"pool": "other"})
		}, sentAs: "worker-03"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHostFixture(t)
			if tc.before != nil {
				f.c.set(tc.before)
			}
			f.c.set(func(c *hostCattle) { c.faults = []string{faultCut} })
			in := f.trigger(hostUp(1, 10))
			if err := f.process(); err == nil {
				t.Fatal("first processing did not fail")
			}
			if tc.after != nil {
				f.c.set(tc.after)
			}
			f.c.advance(testCattleTimeout)
			if err := f.process(); err != nil {
				t.Fatalf("retry: %v", err)
			}
			r := f.mustAnswer(in)
			if r.Result != scale.ResultScaled || r.To != 4 || !slices.Equal(r.Targets, []string{tc.sentAs}) {
				t.Errorf("answer %+v, want scaled 3 → 4 creating %s", r, tc.sentAs)
			}
			if got := f.c.createdNames(); !slices.Equal(got, []string{tc.sentAs}) {
				t.Errorf("cattle created %v, want %s sent again (the first was not applied)", got, tc.sentAs)
			}
			rec := in.entry.Snapshot()
			if !recordHasStep(rec, "taken for not applied") {
				t.Errorf("record %+v, want the create settled as not applied", rec)
			}
			renamed := recordHasStep(rec, "hostname worker-03 is now taken by")
			if renamed != (tc.sentAs != "worker-03") {
				t.Errorf("record %+v: a step about the rename: %v, want %v", rec, renamed, !renamed)
			}
			made := f.c.named(tc.sentAs)
			if len(made) == 0 || !strings.HasSuffix(made[len(made)-1].Labels[HostMarkerLabel], ".1") {
				t.Errorf("hosts named %s: %+v, want the last one carrying the write's marker", tc.sentAs, made)
			}
		})
	}
}

// Two hosts carrying one create's marker (it was applied twice): the record says so and names both.
func TestScaleHostDuplicateCreateReported(t *testing.T) {
	f := newHostFixture(t)
	f.c.set(func(c *hostCattle) { c.faults = []string{faultLost} })
	in := f.trigger(hostUp(1, 10))
	if err := f.process(); err == nil {
		t.Fatal("first processing did not fail")
	}
	first := f.c.named("worker-03")
	if len(first) != 1 {
		t.Fatalf("cattle has %d hosts named worker-03, want 1", len(first))
	}
	f.c.set(func(c *hostCattle) { c.add("worker-03", "amazonec2", "provisioning", maps.Clone(first[0].Labels)) })
	if err := f.process(); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if r := f.mustAnswer(in); r.To != 4 {
		t.Errorf("answer %+v, want 3 → 4", r)
	}
	if rec := in.entry.Snapshot(); !recordHasStep(rec, "applied more than once") {
		t.Errorf("record %+v does not report the duplicate", rec)
	}
}

// Outside shutdown a host that went deactivating or inactive after an unanswered evacuation proves nothing
// (another client may have deactivated it): the evacuation is sent again, to that host only.
func TestScaleHostDeactivatedHostEvacuatedAgain(t *testing.T) {
	for _, state := range []string{scale.HostStateDeactivating, scale.HostStateInactive} {
		t.Run(state, func(t *testing.T) {
			f := newHostFixture(t)
			c1 := f.c.idOf("custom-01")
			f.c.set(func(c *hostCattle) { c.faults = []string{faultQuiet} })
			in := f.trigger(hostDown(1, 1))
			if err := f.process(); err == nil {
				t.Fatal("first processing did not fail")
			}
			f.c.setHost(c1, func(h *cattle.Host) { h.State = state })
			if err := f.process(); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if r := f.mustAnswer(in); r.To != 2 || !slices.Equal(r.Targets, []string{"custom-01"}) {
				t.Errorf("answer %+v, want 3 → 2 removing custom-01", r)
			}
			if got := f.c.evacuations(); !slices.Equal(got, []string{c1, c1}) {
				t.Errorf("cattle evacuated %v, want custom-01 (%s) twice", got, c1)
			}
		})
	}
}
