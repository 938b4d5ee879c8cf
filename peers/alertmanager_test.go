package peers

// Prometheus scrapes a gauge the test serves, a rule fires when it crosses a threshold, and Alertmanager posts
// the alert group to a scaleService receiver's trigger URL: the path of seed 000's autoscaling example, with the
// real programs and timers shortened to seconds.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

// alertKinds sorts a scale receiver's executions of Alertmanager notifications.
type alertKinds struct {
	scaled, repeats, resolved, other []record
}

func classify(recs []record) alertKinds {
	var k alertKinds
	for _, r := range recs {
		switch {
		case r.Outcome == "done" && strings.HasPrefix(r.Input, "alertmanager firing"):
			k.scaled = append(k.scaled, r)
		case r.Outcome == "ignored" && strings.HasPrefix(r.Input, "alertmanager firing") && strings.Contains(r.Decision, "repeat"):
			k.repeats = append(k.repeats, r)
		case strings.HasPrefix(r.Input, "alertmanager resolved") && r.final():
			k.resolved = append(k.resolved, r)
		default:
			k.other = append(k.other, r)
		}
	}
	return k
}

func (k alertKinds) String() string {
	return fmt.Sprintf("%d scaled, %d repeats, %d resolved, others %v", len(k.scaled), len(k.repeats), len(k.resolved), k.other)
}

// A gauge above the threshold fires HighLoad in Prometheus; Alertmanager posts the group to a scale-up receiver,
// and web is scaled up by exactly 1. Alertmanager's repeats of the unchanged group (repeat_interval) are
// answered 2xx and change nothing; the gauge dropping resolves the alert, and the resolved notification changes
// nothing either. Alertmanager saw no failed delivery, and once it is stopped the call log shows the single
// scale PUT.
func TestAlertmanagerAlertScalesWebOnce(t *testing.T) {
	t.Parallel()
	bins := programs(t, "prometheus", "prometheus-alertmanager")
	e := startService(t)
	web := e.id("service/web")
	r := e.createReceiver(map[string]any{"name": "scale-web-on-alert", "driver": "scaleService",
		"scaleServiceConfig": map[string]any{"serviceId": web, "action": "up", "amount": 1, "min": 1, "max": 5}})
	load := newGauge(t, idleLoad)
	am := launch(t, alertmanagerSpec(bins["prometheus-alertmanager"], r.URL))
	prom := launch(t, prometheusSpec(bins["prometheus"], am.addr(0), strings.TrimPrefix(load.url, "http://")))

	// The clock starts once Prometheus has scraped the idle gauge, so the latency is the alert's alone.
	eventually(t, "Prometheus has scraped the gauge", func() (bool, string) {
		v, ok, why := e.queryValue(prom.addr(0), loadMetric)
		return ok && v == idleLoad, why
	})
	before := e.emulator.Service(e.t, web)
	mark := e.callMark()
	raised := time.Now()
	load.value.Store(highLoad)

	var k alertKinds
	// A notification that ended otherwise ends the wait at once.
	eventually(t, "the firing notification scaled web", func() (bool, string) {
		k = classify(e.executions(r))
		return len(k.scaled) > 0 || slices.ContainsFunc(k.other, record.final), k.String()
	})
	if len(k.scaled) == 0 {
		t.Fatalf("the firing notification did not scale web: %s", k)
	}
	fired := k.scaled[0]
	after := e.emulator.WaitService(e.t, web, "web settled after the scale", simtest.ServiceView.Settled)
	if after.Scale != before.Scale+1 {
		t.Errorf("web went from scale %d to %d, want exactly +1", before.Scale, after.Scale)
	}
	if fired.Finished == nil {
		t.Fatalf("the scale execution has no finish time: %s", fired)
	}
	var startsAt time.Time
	if alerts := e.activeAlerts(am.addr(0)); len(alerts) == 1 {
		startsAt = alerts[0].StartsAt
	} else {
		t.Errorf("Alertmanager holds %d active alerts while the gauge is high, want 1: %+v", len(alerts), alerts)
	}
	t.Logf("timing: alert→scale %s (gauge raised → scale applied; Prometheus fired the alert after %s, "+
		"Alertmanager's POST arrived after %s, the service took %s; scrape and evaluation every 1 s, for 2 s, "+
		"group_wait 1 s)", fired.Finished.Sub(raised).Round(time.Millisecond), startsAt.Sub(raised).Round(time.Millisecond),
		fired.Received.Sub(raised).Round(time.Millisecond), fired.Finished.Sub(fired.Received).Round(time.Millisecond))

	// Alertmanager re-sends the unchanged, still firing group every repeat_interval (2 s). A repeat that
	// scaled ends the wait at once.
	eventually(t, "two repeats of the firing group answered", func() (bool, string) {
		k = classify(e.executions(r))
		return len(k.repeats) >= 2 || len(k.scaled) > 1, k.String()
	})
	if len(k.scaled) > 1 {
		t.Fatalf("a repeat of the firing group scaled again: %s", k)
	}
	if s := e.emulator.Service(e.t, web); s.Scale != after.Scale {
		t.Errorf("web at scale %d after Alertmanager's repeats, want %d", s.Scale, after.Scale)
	}

	load.value.Store(idleLoad)
	eventually(t, "the resolved notification answered", func() (bool, string) {
		k = classify(e.executions(r))
		return len(k.resolved) > 0, k.String()
	})
	if res := k.resolved[0]; res.Outcome != "ignored" {
		t.Fatalf("the resolved notification was not ignored: %s", res)
	}
	eventually(t, "Alertmanager holds no active alert", func() (bool, string) {
		alerts := e.activeAlerts(am.addr(0))
		return len(alerts) == 0, fmt.Sprintf("%+v", alerts)
	})

	sent, failed := e.webhookCounts(am.addr(0))
	if failed != 0 || sent < 4 {
		t.Errorf("Alertmanager sent %g webhook notifications, %g failed; want at least 4 (firing, 2 repeats, "+
			"resolved) and none failed", sent, failed)
	}
	// Nothing Alertmanager sends from here on can reach the service.
	am.terminate(t)
	prom.terminate(t)
	eventually(t, "every notification's execution finished", func() (bool, string) {
		recs := e.executions(r)
		for _, rec := range recs {
			if !rec.final() {
				return false, rec.String()
			}
		}
		return true, ""
	})
	k = classify(e.executions(r))
	if len(k.scaled) != 1 || len(k.other) != 0 || slices.ContainsFunc(k.resolved, func(r record) bool { return r.Outcome != "ignored" }) {
		t.Errorf("executions: %s; want exactly one scale and the rest ignored repeats or resolutions", k)
	}
	if n := len(k.scaled) + len(k.repeats) + len(k.resolved) + len(k.other); float64(n) < sent {
		t.Errorf("the service recorded %d notifications, Alertmanager sent %g", n, sent)
	}
	calls, _ := e.callsSince(mark)
	if got, want := writes(calls), []string{fmt.Sprintf("PUT %s 200", web)}; !slices.Equal(got, want) {
		t.Errorf("service writes %v, want only %v", got, want)
	}
	if s := e.emulator.Service(e.t, web); s.Scale != before.Scale+1 || !s.Settled() {
		t.Errorf("web ends %s, want active at scale %d", s, before.Scale+1)
	}
	t.Logf("Alertmanager sent %g notifications: %s", sent, k)
}
