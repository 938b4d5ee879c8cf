package events

import (
	"fmt"
	"sort"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

func TestMetricsNames(t *testing.T) {
	m, reg := newTestMetrics(t)
	// Touch every collector so vectors appear in Gather.
	m.eventReceived("resource.change;account=5")
	m.invalidFrame()
	m.unhandledEvent()
	m.reconnect()
	m.setQueueDepth(3)
	m.retry()
	m.failure()
	m.panicked()
	m.observeHandler("resource.change", 0.01)
	m.replyFailed()

	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fams {
		got = append(got, f.GetName())
	}
	sort.Strings(got)
	want := []string{
		"scale_subscriber_events_invalid_total",
		"scale_subscriber_events_received_total",
		"scale_subscriber_events_unhandled_total",
		"scale_subscriber_handler_duration_seconds",
		"scale_subscriber_handler_panics_total",
		"scale_subscriber_queue_depth",
		"scale_subscriber_queue_failures_total",
		"scale_subscriber_queue_retries_total",
		"scale_subscriber_reply_failures_total",
		"scale_subscriber_websocket_reconnects_total",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("metric names\n got %v\nwant %v", got, want)
	}
	if v := simtest.Metric(t, reg, "scale_subscriber_events_received_total", map[string]string{"name": "resource.change"}); v != 1 {
		t.Fatalf("received{name=resource.change} = %v, want 1 (qualifier stripped)", v)
	}
}

func TestMetricsDuplicateRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Fatal("registering twice on one registry must fail")
	}
}

func TestMetricsNameLabelsBounded(t *testing.T) {
	m, reg := newTestMetrics(t)
	for i := range maxNameLabels + 50 {
		m.eventReceived(fmt.Sprintf("thing%d.create", i))
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "scale_subscriber_events_received_total" {
			if n := len(f.GetMetric()); n != maxNameLabels+1 {
				t.Fatalf("label values = %d, want %d (+other)", n, maxNameLabels+1)
			}
		}
	}
	if v := simtest.Metric(t, reg, "scale_subscriber_events_received_total", map[string]string{"name": otherLabel}); v != 50 {
		t.Fatalf("other = %v, want 50", v)
	}
}

func TestNilMetricsIsNoop(t *testing.T) {
	var m *Metrics
	m.eventReceived("x")
	m.invalidFrame()
	m.unhandledEvent()
	m.reconnect()
	m.setQueueDepth(1)
	m.retry()
	m.failure()
	m.panicked()
	m.observeHandler("x", 1)
	m.replyFailed()
	if _, err := NewMetrics(nil); err != nil {
		t.Fatalf("NewMetrics(nil) = %v", err)
	}
}
