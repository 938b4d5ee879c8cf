package execution

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the executor's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	triggers *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the executor's metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		triggers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scale_subscriber_triggers_total",
			Help: "Receiver triggers by driver, outcome and HTTP status answered.",
		}, []string{"driver", "outcome", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scale_subscriber_trigger_duration_seconds",
			Help:    "Time from a trigger's receipt to its answer, by driver.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"driver"}),
	}
	for _, c := range []prometheus.Collector{m.triggers, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register execution metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) observe(driver, outcome string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if status == 0 {
		status = 200
	}
	m.triggers.WithLabelValues(driver, outcome, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(driver).Observe(d.Seconds())
}
