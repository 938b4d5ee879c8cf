package app_test

// Helpers of the whole-service tests (package app_test), on top of the shared harness (internal/simtest): the
// App started as main wires it, with debug logs the tests search, and readers of what cattlesim and the App
// recorded.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/app"
	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/cattlesim/eventhub"
	"github.com/rancher/scale-subscriber/internal/simtest"
	"github.com/rancher/scale-subscriber/internal/simtest/apptest"
)

// e2eTimeout bounds every wait of these tests. It is generous because the subscriber's reconnect backoff (0.5 s
// doubling, jittered) decides how fast the service comes back after cattlesim returns.
const e2eTimeout = simtest.DefaultTimeout

// startE2EApp builds the App as main does (config defaults, the demo environment key), lets register add handlers
// and reconcilers before Run, runs it, and stops it at the end of the test, failing if Run did not return nil.
// It logs at debug level: the tests read the log entries.
func startE2EApp(t *testing.T, sim *simtest.Sim, register func(a *app.App)) *apptest.Service {
	t.Helper()
	return apptest.Start(t, sim, apptest.Options{Prepare: register, Level: logrus.DebugLevel, Timeout: e2eTimeout})
}

// e2ePublishes returns the accepted POSTs on a publish endpoint from cattlesim's call log, from index since on,
// decoded as replies.
func e2ePublishes(t *testing.T, sim *cattlesim.Sim, since int) []eventhub.Reply {
	t.Helper()
	calls, _ := sim.CallsSince(since)
	var out []eventhub.Reply
	for _, c := range calls {
		if c.Method != http.MethodPost || !strings.HasSuffix(strings.TrimSuffix(c.Path, "/"), "/publish") {
			continue
		}
		if c.Status != http.StatusCreated {
			t.Errorf("publish answered %d: %s", c.Status, c.Body)
			continue
		}
		var r eventhub.Reply
		if err := json.Unmarshal([]byte(c.Body), &r); err != nil {
			t.Fatalf("decode logged publish body %q: %v", c.Body, err)
		}
		out = append(out, r)
	}
	return out
}

// e2eLogEntries returns the JSON log entries whose msg is msg.
func e2eLogEntries(t *testing.T, logs *simtest.LogBuffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		if m, ok := entry["msg"].(string); ok && m == msg {
			out = append(out, entry)
		}
	}
	return out
}
