package events

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

// eventually polls cond every 2 ms (the events under test take microseconds) until it holds or timeout passes,
// then fails the test with msg.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, msg string) {
	t.Helper()
	if err := simtest.Until(timeout, 2*time.Millisecond, cond); err != nil {
		t.Fatalf("%s: %v", msg, err)
	}
}

// newTestMetrics returns Metrics registered on a private registry.
func newTestMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	return simtest.Registered(t, NewMetrics)
}
