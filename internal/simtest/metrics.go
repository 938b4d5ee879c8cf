package simtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric sums the samples of the family name whose labels include want: counter and gauge values, the sample
// count of a histogram or summary. An absent family sums to 0.
func Metric(tb testing.TB, g prometheus.Gatherer, name string, want map[string]string) float64 {
	tb.Helper()
	fams, err := g.Gather()
	if err != nil {
		tb.Fatalf("gather metrics: %v", err)
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			labels := make(map[string]string, len(m.GetLabel()))
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue samples
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			case m.GetSummary() != nil:
				sum += float64(m.GetSummary().GetSampleCount())
			}
		}
	}
	return sum
}

// SampleValue returns the value of the first sample line of a Prometheus text exposition (what /metrics serves)
// whose series is exactly series: a name, with its labels as the exposition writes them when it has any.
func SampleValue(exposition, series string) (float64, bool) {
	for _, line := range strings.Split(exposition, "\n") {
		rest, ok := strings.CutPrefix(line, series)
		if !ok || !strings.HasPrefix(rest, " ") {
			continue
		}
		var v float64
		if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%g", &v); err == nil {
			return v, true
		}
	}
	return 0, false
}

// Registered builds a package's metrics with newMetrics on a private registry (tests running in parallel share
// no counter) and returns both, failing the test if newMetrics does.
func Registered[M any](tb testing.TB, newMetrics func(prometheus.Registerer) (M, error)) (M, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	if err != nil {
		tb.Fatalf("new metrics: %v", err)
	}
	return m, reg
}
