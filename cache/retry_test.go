package cache

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/internal/simtest"
)

// hostPagesWorld is 10 hosts relisted in pages of 3, so the host listing asks for the ids after "", 1h3, 1h6
// and 1h9. fail decides, by the 1-based number of the host list call, whether it fails and how.
func hostPagesWorld(t *testing.T, fail func(call int32) error,
	mod func(*InformerOptions)) (*fakeSource, *Informer, *Store) {
	t.Helper()
	src := newFakeSource()
	for n := 1; n <= 10; n++ {
		id := "1h" + strconv.Itoa(n)
		src.set("host", id, hostJSON(t, id, "v1", nil))
	}
	var calls atomic.Int32
	src.hooks(func(_ context.Context, schema string) error {
		if schema != "host" {
			return nil
		}
		return fail(calls.Add(1))
	}, nil)
	inf, s, _ := newTestInformer(t, src, func(o *InformerOptions) {
		o.PageSize = 3
		o.RequestRetryInitial = time.Millisecond
		if mod != nil {
			mod(o)
		}
	})
	return src, inf, s
}

// hostPagesAsked returns the id_gt of every host list call, in order.
func hostPagesAsked(src *fakeSource) []string {
	src.mu.Lock()
	defer src.mu.Unlock()
	var afters []string
	for _, o := range src.listOpts["host"] {
		afters = append(afters, o.Filters.Get("id_gt"))
	}
	return afters
}

func unavailable() error { return &cattle.APIError{Status: http.StatusServiceUnavailable} }

// TestRelistRetriesAFailedPageInPlace: a page that fails with a retryable error is asked again (same id_gt)
// instead of starting the relist over; permanent errors and pages that keep failing past RequestRetries still
// start it over, after the relist backoff.
func TestRelistRetriesAFailedPageInPlace(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fail    func(call int32) error
		retries int
		want    []string
		retried int64
		// restarts is how many relists were given up and started over.
		restarts float64
	}{{
		name: "retryable failures are retried in place",
		fail: func(call int32) error {
			if call == 2 || call == 3 {
				return unavailable()
			}
			return nil
		},
		want:    []string{"", "1h3", "1h3", "1h3", "1h6", "1h9"},
		retried: 2,
	}, {
		name: "a page failing past the bound starts the relist over",
		fail: func(call int32) error {
			if call >= 2 && call <= 4 {
				return unavailable()
			}
			return nil
		},
		retries:  2,
		want:     []string{"", "1h3", "1h3", "1h3", "", "1h3", "1h6", "1h9"},
		retried:  2,
		restarts: 1,
	}, {
		name: "a permanent error starts the relist over at once",
		fail: func(call int32) error {
			if call == 2 {
				return &cattle.APIError{Status: http.StatusUnauthorized}
			}
			return nil
		},
		want:     []string{"", "1h3", "", "1h3", "1h6", "1h9"},
		restarts: 1,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			src, inf, s := hostPagesWorld(t, tc.fail, func(o *InformerOptions) {
				o.RequestRetries = tc.retries
				o.Registerer = reg
			})
			runInformer(t, inf)
			waitRelists(t, inf, 1)
			if got := hostPagesAsked(src); !slices.Equal(got, tc.want) {
				t.Errorf("host pages asked after %q, want %q", got, tc.want)
			}
			if got := inf.RetriedRequests(); got != tc.retried {
				t.Errorf("%d requests retried in place, want %d", got, tc.retried)
			}
			if got := s.Len(KindHost); got != 10 {
				t.Errorf("%d hosts cached, want 10", got)
			}
			// The same figures, as an operator scrapes them.
			for name, want := range map[string]float64{
				"scale_subscriber_cache_request_retries_total": float64(tc.retried),
				"scale_subscriber_cache_relist_failures_total": tc.restarts,
				"scale_subscriber_cache_relists_total":         1,
			} {
				if got := simtest.Metric(t, reg, name, nil); got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			if last := simtest.Metric(t, reg, "scale_subscriber_cache_last_sync_timestamp_seconds", nil); last <
				float64(inf.LastSync().Unix()) || last == 0 {
				t.Errorf("last sync timestamp %v, want the relist's time %v", last, inf.LastSync())
			}
		})
	}
}

// TestRefreshRetriesAFailedReadInPlace: the re-read of an object an event named during the relist is retried
// on its own when it fails, instead of starting the relist (and its lists) over, and the event still wins.
func TestRefreshRetriesAFailedReadInPlace(t *testing.T) {
	src := newFakeSource()
	src.set("service", "1s1", serviceJSON(t, "1s1", "v1", lc("docker:a", nil)))
	inf, s, _ := newTestInformer(t, src, func(o *InformerOptions) { o.RequestRetryInitial = time.Millisecond })
	runInformer(t, inf)
	waitRelists(t, inf, 1)

	g := newGate()
	var reads atomic.Int32
	src.hooks(func(ctx context.Context, schema string) error {
		if schema == "service" {
			return g.wait(ctx, "service list")
		}
		return nil
	}, func(context.Context, string, string) error {
		if reads.Add(1) == 1 {
			return unavailable()
		}
		return nil
	})
	src.mu.Lock()
	listsBefore := len(src.listOpts["service"])
	src.mu.Unlock()
	inf.Resync()
	simtest.Recv(t, g.entered, waitFor, "relist's service list in flight")
	v2 := serviceJSON(t, "1s1", "v2", lc("docker:a", nil))
	src.set("service", "1s1", v2)
	apply(t, inf, "service", "1s1", v2)
	g.open(t)
	waitRelists(t, inf, 2)

	if got := src.byIDCalls(); !slices.Equal(got, []string{"service/1s1", "service/1s1"}) {
		t.Errorf("reads by id %q, want the failed read of 1s1 and its retry", got)
	}
	src.mu.Lock()
	lists := len(src.listOpts["service"]) - listsBefore
	src.mu.Unlock()
	if lists != 1 {
		t.Errorf("%d service lists for the relist, want 1 (a failed read must not start the relist over)", lists)
	}
	if v := serviceVersion(s, "1s1"); v != "v2" {
		t.Errorf("1s1 = %q after the relist, want v2", v)
	}
}

// TestInformerRunStopsDuringRequestRetry: a request waiting to be retried gives up as soon as Run's context
// ends.
func TestInformerRunStopsDuringRequestRetry(t *testing.T) {
	_, inf, _ := hostPagesWorld(t, func(int32) error { return unavailable() }, func(o *InformerOptions) {
		o.RequestRetryInitial = time.Hour
		o.RetryMax = time.Hour
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inf.Run(ctx) }()
	eventually(t, waitFor, func() bool { return inf.RetriedRequests() == 1 }, "a request waiting for its retry")
	cancel()
	if err := simtest.Recv(t, done, waitFor, "Run to return"); err != nil {
		t.Fatalf("Run = %v, want nil on cancel", err)
	}
	if inf.Synced() {
		t.Fatal("synced without a completed relist")
	}
}
