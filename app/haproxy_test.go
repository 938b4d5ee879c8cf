package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

// TestHAProxyFollowsCattle runs the health checker Rancher 1.x puts in front of a service, a real HAProxy with
// `option httpchk GET /healthcheck`, against the whole service subscribed to cattlesim. The backend must be UP
// once the service is subscribed and synced, DOWN when cattlesim stops (listener closed, websockets dropped) and
// UP again, without any help, when cattlesim comes back on the same address.
//
// HAProxy is required in CI (.ci/run installs Debian's haproxy); elsewhere the test skips when it is missing.
func TestHAProxyFollowsCattle(t *testing.T) {
	haproxy := simtest.HAProxyPath(t)
	sim := simtest.StartSim(t, simtest.SimOptions{})
	svc := startE2EApp(t, sim, nil)
	// Checked every 100 ms, fall 2 / rise 2, so one lost probe does not flap it.
	stats := simtest.StartHAProxy(t, haproxy, simtest.HAProxyOptions{HTTPCheck: "GET /healthcheck",
		ExpectStatus: http.StatusOK, Server: strings.TrimPrefix(svc.HealthURL, "http://"),
		Check: "inter 100 fastinter 100 downinter 100 rise 2 fall 2", Timeout: e2eTimeout})
	health := func() (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
		defer cancel()
		a, err := svc.CheckHealth(ctx)
		if err != nil {
			return 0, err.Error()
		}
		return a.Status, string(a.Body)
	}

	steps := []struct {
		name   string
		before func()
		status string
		code   string
	}{
		{name: "subscribed and synced", status: "UP", code: "200"},
		{name: "cattlesim stopped", before: sim.Stop, status: "DOWN", code: "503"},
		{name: "cattlesim back", before: sim.Start, status: "UP", code: "200"},
	}
	for _, step := range steps {
		if step.before != nil {
			step.before()
		}
		var row map[string]string
		err := simtest.Until(e2eTimeout, simtest.PollInterval, func() bool {
			stats.CheckRunning(t)
			row = stats.Server()
			return row["status"] == step.status && row["check_code"] == step.code
		})
		if err != nil {
			code, body := health()
			t.Fatalf("step %q: %v: haproxy server row status=%q check_code=%q check_status=%q, want %s/%s; "+
				"/healthcheck now %d %s\nhaproxy stderr:\n%s", step.name, err, row["status"], row["check_code"],
				row["check_status"], step.status, step.code, code, body, stats.Stderr.String())
		}
		// HAProxy's view must agree with what the service says about itself, and the service must say why: a
		// lost subscription, not merely a ping grown old.
		code, body := health()
		var report struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		if err := json.Unmarshal([]byte(body), &report); err != nil {
			t.Fatalf("step %q: /healthcheck body %q: %v", step.name, body, err)
		}
		switch step.status {
		case "UP":
			if code != http.StatusOK || report.Checks["subscription"] != "ok" || report.Checks["sync"] != "ok" {
				t.Fatalf("step %q: /healthcheck %d %s, want 200 with subscription and sync ok", step.name, code, body)
			}
		case "DOWN":
			if code != http.StatusServiceUnavailable || !strings.HasPrefix(report.Checks["subscription"], "disconnected") {
				t.Fatalf("step %q: /healthcheck %d %s, want 503 with the subscription disconnected", step.name, code, body)
			}
		}
	}
	// Coming back went through a new subscription: the reconnect is visible in the metrics.
	if n := svc.Metric(t, "scale_subscriber_websocket_reconnects_total", nil); n < 1 {
		t.Fatalf("scale_subscriber_websocket_reconnects_total = %v after cattlesim came back, want >= 1", n)
	}
}
