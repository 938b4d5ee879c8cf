package alertmanager

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks what the trigger endpoint relies on for any body: a recognised notification has version
// "4", status firing or resolved and at least one alert, and Firing counts at most its alerts; encoding a
// recognised notification and parsing it again gives the same notification; and the Deduper takes an identical
// re-send for a repeat, and not after Forget. Plain `go test` runs the seeds only; scripts/fuzz runs it for a
// while.
func FuzzParse(f *testing.F) {
	resolved := strings.ReplaceAll(firingBody, `"status": "firing"`, `"status": "resolved"`)
	for _, s := range []string{
		firingBody, resolved,
		// peers.md §2.1: labels but no fingerprint (before Alertmanager 0.19), a time zone, a truncated group.
		`{"version":"4","groupKey":"{}:{alertname=\"A\"}","status":"firing","receiver":"r","truncatedAlerts":3,
		  "alerts":[{"status":"firing","labels":{"alertname":"A","b":"c"},"startsAt":"2024-05-01T13:58:30+02:00",
		  "endsAt":"0001-01-01T00:00:00Z"}],"groupLabels":{},"commonLabels":null,"commonAnnotations":{}}`,
		`{"version":"4","groupKey":"k","status":"resolved","alerts":[{"status":"resolved","fingerprint":"f",
		  "startsAt":"2024-05-01T11:58:30.123456789Z","endsAt":"2024-05-01T12:03:30Z"}]}`,
		`{"version":"3","groupKey":12,"status":"firing","alerts":[{}]}`,
		`{"version":"4","groupKey":"k","status":"pending","alerts":[{}]}`,
		`{"version":"4","groupKey":"k","status":"firing","alerts":[]}`,
		`{"version":"4","groupKey":"k","status":"firing","alerts":[null]}`,
		`{"push_data":{"tag":"1"},"repository":{"repo_name":"a/b"}}`,
		`[{"version":"4"}]`, `{}`, `null`, ``, `scale please`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		n, ok := Parse(body)
		if !ok {
			if !reflect.DeepEqual(n, Notification{}) {
				t.Fatalf("an unrecognised body gave %+v", n)
			}
			return
		}
		if n.Version != Version || (n.Status != StatusFiring && n.Status != StatusResolved) || len(n.Alerts) == 0 {
			t.Fatalf("recognised %+v", n)
		}
		if firing := n.Firing(); firing < 0 || firing > len(n.Alerts) {
			t.Fatalf("Firing() = %d of %d alerts", firing, len(n.Alerts))
		}
		if d := Decide(n, OnResolvedIgnore); d.Act != (n.Status == StatusFiring) || d.Reverse {
			t.Fatalf("Decide(%s, ignore) = %+v", n.Status, d)
		}

		b, err := json.Marshal(n)
		if err != nil {
			t.Fatalf("a recognised notification does not encode: %v (%+v)", err, n)
		}
		again, ok := Parse(b)
		if !ok {
			t.Fatalf("the encoding of a recognised notification is not recognised: %s", b)
		}
		if !sameNotification(n, again) {
			t.Fatalf("encode and parse changed the notification:\n%+v\n%+v", n, again)
		}

		d := NewDeduper(DeduperOptions{})
		if d.Seen("r1", n, now) {
			t.Fatal("the first notification was taken for a repeat")
		}
		if !d.Seen("r1", again, now.Add(time.Minute)) {
			t.Fatal("an identical re-send was not taken for a repeat")
		}
		if d.Seen("r2", n, now.Add(time.Minute)) {
			t.Fatal("another receiver's notification was taken for a repeat")
		}
		d.Forget("r1", n)
		if d.Seen("r1", n, now.Add(2*time.Minute)) {
			t.Fatal("a forgotten notification was taken for a repeat")
		}
		if d.Len() < 1 || d.Len() > 2*len(n.Alerts) {
			t.Fatalf("Deduper remembers %d alerts for two receivers of %d alerts", d.Len(), len(n.Alerts))
		}
	})
}

// sameNotification compares notifications with times compared as instants (a parsed time keeps its zone).
func sameNotification(a, b Notification) bool {
	if len(a.Alerts) != len(b.Alerts) {
		return false
	}
	for i := range a.Alerts {
		x, y := a.Alerts[i], b.Alerts[i]
		if !x.StartsAt.Equal(y.StartsAt) || !x.EndsAt.Equal(y.EndsAt) {
			return false
		}
		x.StartsAt, x.EndsAt, y.StartsAt, y.EndsAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	a.Alerts, b.Alerts = nil, nil
	return reflect.DeepEqual(a, b)
}
