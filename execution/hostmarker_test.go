package execution

import (
	"bytes"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// labelValue is what a Kubernetes label value may be (Rancher 1.x syncs host labels to node labels): at most 63
// characters of [A-Za-z0-9._-], beginning and ending alphanumeric.
var labelValue = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`)

// A create's marker is a valid node label value whatever the ids, keeps what makes it unique (the execution's
// sequence, the plan time, the write's number) when it has to be cut, differs per write, and is never taken for
// an upgrade's marker.
func TestHostMarkerFormat(t *testing.T) {
	planned := time.UnixMilli(1714564800123)
	long := strings.Repeat("r", 80)
	for _, tc := range []struct {
		name, receiver, execution, want string
	}{
		{"usual", "1go4", "x12", "1go4.x12.1714564800123.2"},
		{"odd characters", "1go/4:", "x12", "1go4.x12.1714564800123.2"},
		{"no receiver", "", "x12", "x12.1714564800123.2"},
		{"long receiver", long, "x12", long[:63-len(".x12.1714564800123.2")] + ".x12.1714564800123.2"},
		{"long execution", "1go4", "y" + strings.Repeat("9", 70), strings.Repeat("9", 63-len(".1714564800123.2")) +
			".1714564800123.2"},
		{"nothing usable", "//", "--", "h.1714564800123.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := hostMarker(tc.receiver, tc.execution, planned, 2)
			if got != tc.want {
				t.Errorf("hostMarker(%q, %q) = %q, want %q", tc.receiver, tc.execution, got, tc.want)
			}
			if !labelValue.MatchString(got) {
				t.Errorf("hostMarker(%q, %q) = %q (%d characters) is not a valid label value", tc.receiver,
					tc.execution, got, len(got))
			}
			if _, _, _, ok := parseMarker(got); ok {
				t.Errorf("hostMarker %q parses as an upgrade marker", got)
			}
		})
	}
	if a, b := hostMarker("1go4", "x12", planned, 1), hostMarker("1go4", "x12", planned, 2); a == b {
		t.Errorf("two writes of a plan share the marker %q", a)
	}
	if HostMarkerLabel == MarkerLabel {
		t.Error("the host create marker must not use the upgrade marker's key")
	}
}

// A create applied twice that its own trigger could not see (it landed after the trigger ended) is noticed by
// the next scaleHost trigger's listing: a step on that trigger and an error log naming both hosts, once.
func TestScaleHostLaterTriggerReportsDuplicate(t *testing.T) {
	f := newHostFixture(t)
	var logs bytes.Buffer
	l := logrus.New()
	l.SetOutput(&logs)
	l.SetFormatter(&logrus.JSONFormatter{})
	f.x.log = l
	first := f.trigger(hostUp(1, 10))
	if err := f.process(); err != nil {
		t.Fatalf("first trigger: %v", err)
	}
	if r := f.mustAnswer(first); r.To != 4 {
		t.Fatalf("first trigger: %+v, want 3 → 4", r)
	}
	made := f.c.named("worker-03")
	if len(made) != 1 || made[0].Labels[HostMarkerLabel] == "" {
		t.Fatalf("hosts named worker-03: %+v, want one carrying a marker", made)
	}
	// The send taken for lost lands now, with the same marker.
	late := f.c.newHost("worker-03", "amazonec2", "provisioning", maps.Clone(made[0].Labels))
	f.c.set(func(c *hostCattle) { c.hosts = append(c.hosts, late) })

	next := f.trigger(hostUp(1, 10))
	if err := f.process(); err != nil {
		t.Fatalf("next trigger: %v", err)
	}
	f.mustAnswer(next)
	rec := next.entry.Snapshot()
	if !recordHasStep(rec, "applied more than once") || !recordHasStep(rec, made[0].ID) || !recordHasStep(rec, late.ID) {
		t.Errorf("next trigger's record %+v, want a step naming %s and %s applied twice", rec, made[0].ID, late.ID)
	}
	if !strings.Contains(logs.String(), "a host create was applied more than once") ||
		!strings.Contains(logs.String(), late.ID) {
		t.Errorf("logs %s, want an error naming the duplicate", logs.String())
	}
	if recordHasStep(first.entry.Snapshot(), "applied more than once") {
		t.Error("the finished trigger's record was changed")
	}

	third := f.trigger(hostUp(1, 10))
	if err := f.process(); err != nil {
		t.Fatalf("third trigger: %v", err)
	}
	if rec := third.entry.Snapshot(); recordHasStep(rec, "applied more than once") {
		t.Errorf("third trigger's record %+v reports the duplicate again", rec)
	}
}
