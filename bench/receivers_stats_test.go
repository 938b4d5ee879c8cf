package bench

import (
	"slices"
	"testing"
	"time"
)

// rcvLatencies collects per-operation latencies of a benchmark's timed loop; each operation writes its own slot,
// so concurrent senders need no lock.
type rcvLatencies []time.Duration

// percentile returns the p-th percentile (0 < p ≤ 100) by the nearest-rank method; 0 when empty.
func (l rcvLatencies) percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	sorted := slices.Clone(l)
	slices.Sort(sorted)
	rank := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// report reports the median and the 99th percentile in milliseconds under prefix ("" or e.g. "accept-").
func (l rcvLatencies) report(b *testing.B, prefix string) {
	b.ReportMetric(rcvMS(l.percentile(50)), prefix+"p50-ms")
	b.ReportMetric(rcvMS(l.percentile(99)), prefix+"p99-ms")
}

func rcvMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// rcvPerOp reports n per benchmark operation under unit.
func rcvPerOp(b *testing.B, n int, unit string) {
	b.ReportMetric(float64(n)/float64(b.N), unit)
}
