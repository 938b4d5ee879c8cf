package alertmanager

import (
	"strings"
	"testing"
	"time"
)

// firingBody is a notification as Alertmanager's webhook notifier sends it (version 4).
const firingBody = `{
  "receiver": "scale-web",
  "status": "firing",
  "alerts": [
    {"status": "firing", "labels": {"alertname": "HighLoad", "service": "web", "instance": "10.0.0.1:9100"},
     "annotations": {"summary": "load high"}, "startsAt": "2024-05-01T11:58:30.123Z",
     "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
     "fingerprint": "8f2b7e0b1c9d4a31"},
    {"status": "firing", "labels": {"alertname": "HighLoad", "service": "web", "instance": "10.0.0.2:9100"},
     "annotations": {}, "startsAt": "2024-05-01T11:59:00Z", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "", "fingerprint": "03c1d5e7f9a2b4c6"}
  ],
  "groupLabels": {"alertname": "HighLoad"},
  "commonLabels": {"alertname": "HighLoad", "service": "web"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager:9093",
  "version": "4",
  "groupKey": "{}/{service=\"web\"}:{alertname=\"HighLoad\"}",
  "truncatedAlerts": 0
}`

func TestParse(t *testing.T) {
	n, ok := Parse([]byte(firingBody))
	if !ok {
		t.Fatal("a version 4 notification must be recognised")
	}
	if n.Status != StatusFiring || n.Receiver != "scale-web" || len(n.Alerts) != 2 || n.Firing() != 2 ||
		n.GroupKey != `{}/{service="web"}:{alertname="HighLoad"}` || n.CommonLabels["service"] != "web" ||
		n.ExternalURL != "http://alertmanager:9093" || n.Version != "4" {
		t.Fatalf("parsed %+v", n)
	}
	a := n.Alerts[0]
	if a.Fingerprint != "8f2b7e0b1c9d4a31" || a.Labels["instance"] != "10.0.0.1:9100" ||
		!a.StartsAt.Equal(time.Date(2024, 5, 1, 11, 58, 30, 123e6, time.UTC)) || !a.EndsAt.IsZero() {
		t.Fatalf("alert %+v", a)
	}
	resolved := strings.NewReplacer(`"status": "firing"`, `"status": "resolved"`).Replace(firingBody)
	if n, ok := Parse([]byte(resolved)); !ok || n.Status != StatusResolved || n.Firing() != 0 {
		t.Fatalf("resolved: ok %v %+v", ok, n)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ name, body string }{
		{"empty body (a bare POST)", ""},
		{"blank body", "  \n"},
		{"not JSON", "scale please"},
		{"JSON array", `[{"version":"4"}]`},
		{"empty object", `{}`},
		{"docker hub push", `{"push_data":{"tag":"1"},"repository":{"repo_name":"a/b"}}`},
		{"version 3 with a numeric group key",
			`{"version":"3","groupKey":12345,"status":"firing","alerts":[{"status":"firing","labels":{}}]}`},
		{"version 4 with a numeric group key",
			`{"version":"4","groupKey":12345,"status":"firing","alerts":[{"status":"firing","labels":{}}]}`},
		{"numeric version", `{"version":4,"groupKey":"g","status":"firing","alerts":[{"status":"firing"}]}`},
		{"no group key", `{"version":"4","status":"firing","alerts":[{"status":"firing"}]}`},
		{"no alerts", `{"version":"4","groupKey":"g","status":"firing"}`},
		{"null alerts", `{"version":"4","groupKey":"g","status":"firing","alerts":null}`},
		{"empty alerts", `{"version":"4","groupKey":"g","status":"firing","alerts":[]}`},
		{"unknown status", `{"version":"4","groupKey":"g","status":"pending","alerts":[{"status":"firing"}]}`},
		{"bad startsAt", `{"version":"4","groupKey":"g","status":"firing","alerts":[{"status":"firing","startsAt":"yesterday"}]}`},
		{"non-string label", `{"version":"4","groupKey":"g","status":"firing","alerts":[{"status":"firing","labels":{"a":1}}]}`},
		{"truncated", firingBody[:len(firingBody)/2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n, ok := Parse([]byte(tt.body)); ok {
				t.Fatalf("Parse recognised %+v", n)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	firing := Notification{Status: StatusFiring}
	resolved := Notification{Status: StatusResolved}
	tests := []struct {
		name string
		n    Notification
		on   OnResolved
		want Decision
	}{
		{"firing acts", firing, OnResolvedIgnore, Decision{Act: true}},
		{"firing acts forward even with reverse", firing, OnResolvedReverse, Decision{Act: true}},
		{"FixesOriginal resolved is ignored by default", resolved, OnResolvedIgnore, Decision{Reason: "alert resolved"}},
		{"resolved with empty option is ignored", resolved, "", Decision{Reason: "alert resolved"}},
		{"resolved with unknown option is ignored", resolved, "bogus", Decision{Reason: "alert resolved"}},
		{"resolved acts when asked (the original's behaviour)", resolved, OnResolvedAct, Decision{Act: true}},
		{"resolved reverses when asked", resolved, OnResolvedReverse, Decision{Act: true, Reverse: true}},
		{"unknown status does nothing", Notification{Status: "x"}, OnResolvedAct, Decision{Reason: `alertmanager status "x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.n, tt.on); got != tt.want {
				t.Fatalf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseOnResolved(t *testing.T) {
	for in, want := range map[string]OnResolved{"": OnResolvedIgnore, "ignore": OnResolvedIgnore, "act": OnResolvedAct,
		"reverse": OnResolvedReverse} {
		if got, err := ParseOnResolved(in); err != nil || got != want {
			t.Errorf("ParseOnResolved(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"Act", "undo", " "} {
		if _, err := ParseOnResolved(in); err == nil {
			t.Errorf("ParseOnResolved(%q) must fail", in)
		}
	}
}
