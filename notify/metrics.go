package notify

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Channel names, the "channel" label of the metrics and the Channel of a Result.
const (
	ChannelWebhook = "webhook"
	ChannelEmail   = "email"
)

// Results of one notification on one channel (the "result" label).
const (
	resultSent      = "sent"
	resultFailed    = "failed"
	resultAbandoned = "abandoned"
)

// Reasons a notification was dropped without any attempt (the "reason" label).
const (
	dropQueueFull = "queue_full"
	dropStopped   = "stopped"
)

// Metrics are the notifier's Prometheus metrics; labels are bounded sets (channel, result, reason), never a
// receiver or a URL. A nil *Metrics records nothing.
type Metrics struct {
	notifications *prometheus.CounterVec
	retries       *prometheus.CounterVec
	dropped       *prometheus.CounterVec
	queued        prometheus.Gauge
}

// NewMetrics registers the notifier's metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scale_subscriber_notifications_total",
			Help: "Outcome notifications by channel and result (sent, failed after retries, abandoned at shutdown).",
		}, []string{"channel", "result"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scale_subscriber_notification_retries_total",
			Help: "Notification attempts that failed and were retried, by channel.",
		}, []string{"channel"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scale_subscriber_notifications_dropped_total",
			Help: "Notifications dropped without an attempt: the oldest when the queue was full, or after the notifier stopped.",
		}, []string{"channel", "reason"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scale_subscriber_notification_queue_length",
			Help: "Notifications waiting for a worker.",
		}),
	}
	for _, c := range []prometheus.Collector{m.notifications, m.retries, m.dropped, m.queued} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register notify metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) result(channel, result string) {
	if m != nil {
		m.notifications.WithLabelValues(channel, result).Inc()
	}
}

func (m *Metrics) retried(channel string) {
	if m != nil {
		m.retries.WithLabelValues(channel).Inc()
	}
}

func (m *Metrics) drop(channel, reason string) {
	if m != nil {
		m.dropped.WithLabelValues(channel, reason).Inc()
	}
}

func (m *Metrics) queueLength(n int) {
	if m != nil {
		m.queued.Set(float64(n))
	}
}
