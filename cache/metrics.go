package cache

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// registerInformerMetrics exposes the informer's counters, read when scraped from the atomics it keeps anyway:
// how often the cache was rebuilt from Cattle, how often that failed and was retried, how many relist requests
// were retried in place, and when the cache last matched Cattle (an operator's "how stale can it be").
func (i *Informer) registerInformerMetrics(reg prometheus.Registerer) error {
	collectors := []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "scale_subscriber_cache_relists_total",
			Help: "Full relists of the cache from Cattle that completed.",
		}, func() float64 { return float64(i.relists.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "scale_subscriber_cache_relist_failures_total",
			Help: "Relists given up after a failed request and started over after a backoff.",
		}, func() float64 { return float64(i.relistFailures.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "scale_subscriber_cache_request_retries_total",
			Help: "Requests of relists (a page, or a re-read by id) retried in place after a retryable failure.",
		}, func() float64 { return float64(i.retries.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "scale_subscriber_cache_last_sync_timestamp_seconds",
			Help: "Unix time when the last relist completed (0 before the first).",
		}, func() float64 { return float64(i.lastSync.Load()) / 1e9 }),
	}
	for n, c := range collectors {
		if err := reg.Register(c); err != nil {
			// All or nothing: a registry left holding some of them would refuse a retried NewInformer.
			for _, done := range collectors[:n] {
				reg.Unregister(done)
			}
			return fmt.Errorf("register cache informer metrics: %w", err)
		}
	}
	return nil
}
