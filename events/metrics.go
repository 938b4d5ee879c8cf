package events

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// maxNameLabels bounds the number of distinct event-name label values. Event
// names come from the server, so without a cap a misbehaving peer could grow
// the metric set without limit; names beyond the cap share otherLabel.
const (
	maxNameLabels = 64
	otherLabel    = "other"
)

// Metrics holds the Prometheus collectors of the events package. A nil
// *Metrics is valid and records nothing, so every component accepts it as an
// optional dependency.
type Metrics struct {
	eventsReceived   *prometheus.CounterVec
	eventsInvalid    prometheus.Counter
	eventsUnhandled  prometheus.Counter
	reconnects       prometheus.Counter
	queueDepth       prometheus.Gauge
	queueRetries     prometheus.Counter
	queueFailures    prometheus.Counter
	handlerPanics    prometheus.Counter
	handlerDuration  *prometheus.HistogramVec
	replyFailures    prometheus.Counter
	mu               sync.Mutex
	knownNameLabels  map[string]struct{}
	maxNameLabelSize int
}

// NewMetrics builds the collectors and registers them on reg. With a nil
// reg the collectors still work but are exported nowhere.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		eventsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scale_subscriber_events_received_total",
			Help: "Events decoded from the Cattle subscription, by event name without qualifiers.",
		}, []string{"name"}),
		eventsInvalid: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scale_subscriber_events_invalid_total",
			Help: "Websocket frames that could not be decoded as a Cattle event.",
		}),
		eventsUnhandled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scale_subscriber_events_unhandled_total",
			Help: "Events whose name has no registered handler.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scale_subscriber_websocket_reconnects_total",
			Help: "Subscription dial attempts after the first one.",
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scale_subscriber_queue_depth",
			Help: "Keys waiting in the work queue (excluding keys in flight or delayed).",
		}),
		queueRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scale_subscriber_queue_retries_total",
			Help: "Keys re-queued with backoff after a retryable failure.",
		}),
		queueFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scale_subscriber_queue_failures_total",
			Help: "Keys given up on after a permanent error or exhausted retries.",
		}),
		handlerPanics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scale_subscriber_handler_panics_total",
			Help: "Panics recovered in event handlers and queue processors.",
		}),
		handlerDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scale_subscriber_handler_duration_seconds",
			Help:    "Time spent in an event handler or queue processor, by handler name or key kind.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}, []string{"name"}),
		replyFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scale_subscriber_reply_failures_total",
			Help: "Replies to Cattle request events that could not be published.",
		}),
		knownNameLabels:  make(map[string]struct{}),
		maxNameLabelSize: maxNameLabels,
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{
		m.eventsReceived, m.eventsInvalid, m.eventsUnhandled, m.reconnects, m.queueDepth,
		m.queueRetries, m.queueFailures, m.handlerPanics, m.handlerDuration, m.replyFailures,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register events metrics: %w", err)
		}
	}
	return m, nil
}

// nameLabel returns a bounded label value for an event or handler name.
func (m *Metrics) nameLabel(name string) string {
	name = BaseName(name)
	if name == "" {
		return otherLabel
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.knownNameLabels[name]; ok {
		return name
	}
	if len(m.knownNameLabels) >= m.maxNameLabelSize {
		return otherLabel
	}
	m.knownNameLabels[name] = struct{}{}
	return name
}

func (m *Metrics) eventReceived(name string) {
	if m == nil {
		return
	}
	m.eventsReceived.WithLabelValues(m.nameLabel(name)).Inc()
}

func (m *Metrics) invalidFrame() {
	if m == nil {
		return
	}
	m.eventsInvalid.Inc()
}

func (m *Metrics) unhandledEvent() {
	if m == nil {
		return
	}
	m.eventsUnhandled.Inc()
}

func (m *Metrics) reconnect() {
	if m == nil {
		return
	}
	m.reconnects.Inc()
}

func (m *Metrics) setQueueDepth(n int) {
	if m == nil {
		return
	}
	m.queueDepth.Set(float64(n))
}

func (m *Metrics) retry() {
	if m == nil {
		return
	}
	m.queueRetries.Inc()
}

func (m *Metrics) failure() {
	if m == nil {
		return
	}
	m.queueFailures.Inc()
}

func (m *Metrics) panicked() {
	if m == nil {
		return
	}
	m.handlerPanics.Inc()
}

func (m *Metrics) observeHandler(name string, seconds float64) {
	if m == nil {
		return
	}
	m.handlerDuration.WithLabelValues(m.nameLabel(name)).Observe(seconds)
}

func (m *Metrics) replyFailed() {
	if m == nil {
		return
	}
	m.replyFailures.Inc()
}
