package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// alertmanagerBody is an Alertmanager v4 webhook notification of one alert group with status firing or resolved.
func alertmanagerBody(status string) []byte {
	endsAt := "0001-01-01T00:00:00Z"
	if status == "resolved" {
		endsAt = "2026-11-30T08:10:00Z"
	}
	return []byte(`{"version":"4","groupKey":"{}:{alertname=\"HighLoad\"}","truncatedAlerts":0,"status":"` + status + `",` +
		`"receiver":"scale-web","groupLabels":{"alertname":"HighLoad"},"commonLabels":{"alertname":"HighLoad","service":"web"},` +
		`"commonAnnotations":{},"externalURL":"http://alertmanager:9093","alerts":[` +
		`{"status":"` + status + `","labels":{"alertname":"HighLoad","service":"web"},"annotations":{},` +
		`"startsAt":"2026-11-30T08:00:00Z","endsAt":"` + endsAt + `","generatorURL":"http://prometheus:9090/graph",` +
		`"fingerprint":"c4e5b0a1f2d3e4f5"}]}`)
}

// An Alertmanager scale-up receiver acts on "firing" only: firing → +1; the same group resolving → 200 and
// unchanged (the original scaled up again on every resolution); the exact firing notification again (a
// repeat_interval re-send, an HA peer's duplicate) → 200 and unchanged.
func TestAlertmanagerFiringResolvedRepeat(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	r := e.scaleReceiver("scale-web-on-alert", web, "up", 1, 1, 5)
	mark := e.callMark()

	a := e.trigger(r.URL, "application/json", alertmanagerBody("firing"))
	if a.status != http.StatusOK {
		t.Fatalf("firing: %s, want 200", a)
	}
	if rep := decodeReply(t, a); rep.Result != "scaled" || rep.From != 2 || rep.To != 3 {
		t.Errorf("firing answered %s, want scaled 2 → 3", a.body)
	}
	e.waitService(web, "web at 3 after firing", func(s serviceView) bool { return s.Scale == 3 && settled(s) })

	for _, step := range []struct {
		name   string
		body   []byte
		reason string
	}{
		{"resolved", alertmanagerBody("resolved"), "resolved"},
		{"repeat of firing", alertmanagerBody("firing"), "repeat"},
	} {
		a := e.trigger(r.URL, "application/json", step.body)
		if a.status != http.StatusOK {
			t.Fatalf("%s: %s, want 200", step.name, a)
		}
		rep := decodeReply(t, a)
		if rep.Result != "none" || !strings.Contains(rep.Reason, step.reason) {
			t.Errorf("%s answered %s, want result none with a reason about %q", step.name, a.body, step.reason)
		}
		rec := e.execution(rep.ExecutionID)
		if rec.Outcome != "ignored" || !strings.Contains(rec.Input, "alertmanager") {
			t.Errorf("%s recorded as %+v, want an ignored alertmanager execution", step.name, rec)
		}
	}

	calls, _ := e.callsSince(mark)
	if puts := scalePUTs(calls, web); len(puts) != 1 || !strings.Contains(puts[0].Body, `"scale":3`) {
		t.Errorf("scale PUTs %v, want exactly the firing one to 3", puts)
	}
	if s := e.service(web); s.Scale != 3 {
		t.Errorf("web ends at scale %d, want 3", s.Scale)
	}
}
