package bench

import (
	"context"
	"testing"
	"time"
)

// The tests below run the receivers benchmarks' machinery on tiny worlds, so that `go test ./bench/` notices when
// it stops measuring what it claims (a trigger that is not answered "scaled", a scale that drifts, a push that
// upgrades the wrong services or lists them, a call count that misses calls). They take a few seconds; the
// benchmarks themselves only run with -bench.

// TestReceiversScaleHarness runs both scale paths on two services with four senders and one direction flip: the
// final scales are exact (run checks them), the direct path makes exactly one PUT per operation and the service
// path at most one.
func TestReceiversScaleHarness(t *testing.T) {
	const ops, phase = 16, 4
	for _, direct := range []bool{false, true} {
		sc, err := rcvNewScaler(t, rcvScaleCase{targets: 2, senders: 4}, direct)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		mark := sc.e.callMark()
		lat, stats, err := sc.run(ctx, ops, phase)
		if err != nil {
			t.Fatalf("direct=%t: %v", direct, err)
		}
		calls, err := sc.e.countCalls(mark, sc.e.callMark(), sc.isScalePUT)
		if err != nil {
			t.Fatal(err)
		}
		if calls.put != calls.matched {
			t.Errorf("direct=%t: %d PUTs, %d of them on the targets: the count misses or mislabels calls", direct,
				calls.put, calls.matched)
		}
		switch {
		case direct && (calls.matched != ops || stats.conflicts != 0):
			t.Errorf("direct path: %d PUTs and %d conflicts for %d operations, want exactly one PUT each", calls.matched,
				stats.conflicts, ops)
		case !direct && (calls.matched == 0 || calls.matched > ops):
			t.Errorf("service path: %d PUTs for %d triggers, want between 1 and %d", calls.matched, ops, ops)
		}
		if len(lat) != ops || lat.percentile(50) <= 0 || lat.percentile(99) < lat.percentile(50) {
			t.Errorf("direct=%t: latencies %v: want one positive latency per operation", direct, lat)
		}
	}
}

// TestReceiversPushHarness pushes twice on a world of 120 services and checks each push upgraded exactly the
// three matching services (push checks the 202's targets and waits for their executions) with an upgrade and a
// finishupgrade each and no read; and that the original's listing takes two pages and finds the four labelled
// services.
func TestReceiversPushHarness(t *testing.T) {
	w, err := rcvNewPushWorld(t, 120)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mark := w.e.callMark()
	for i := range 2 {
		accept, done, err := w.push(ctx)
		if err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
		if accept <= 0 || done < accept {
			t.Errorf("push %d: accepted after %s, done after %s: want 0 < accept ≤ done", i, accept, done)
		}
	}
	calls, err := w.e.countCalls(mark, w.e.callMark(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * 2 * len(w.matches); calls.get != 0 || calls.put != 0 || calls.post != want || calls.total != want {
		t.Errorf("two pushes made %+v, want %d POSTs (upgrade and finishupgrade of each match) and nothing else", calls, want)
	}

	mark = w.e.callMark()
	labelled, err := w.originalListing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if labelled != len(w.matches)+1 {
		t.Errorf("the original's listing found %d labelled services, want %d", labelled, len(w.matches)+1)
	}
	if calls, err = w.e.countCalls(mark, w.e.callMark(), nil); err != nil || calls.get != 2 || calls.total != 2 {
		t.Errorf("the original's listing of 120 services made %+v (%v), want 2 GETs of 100", calls, err)
	}
}

// TestReceiversPercentile checks the nearest-rank percentiles the benchmarks report.
func TestReceiversPercentile(t *testing.T) {
	var l rcvLatencies
	for i := 100; i >= 1; i-- {
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {1, time.Millisecond}} {
		if got := l.percentile(c.p); got != c.want {
			t.Errorf("p%g = %s, want %s", c.p, got, c.want)
		}
	}
	if got := (rcvLatencies{}).percentile(50); got != 0 {
		t.Errorf("p50 of nothing = %s, want 0", got)
	}
	if l[0] != 100*time.Millisecond {
		t.Error("percentile reordered the latencies it was given")
	}
}
