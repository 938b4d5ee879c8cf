package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/internal/simtest"
)

// faultWorld is cattlesim serving a settled populated world over loopback HTTP, with three clients: src, which
// does not retry (GetRetries -1) so every injected fault reaches the informer and the informer's own retries
// are what is measured; retrying, which retries each GET 3 times like the app's client but waits 1 ms instead
// of 100 ms first; and truth, which reads the world with faults cleared.
type faultWorld struct {
	sim                  *cattlesim.Sim
	src, retrying, truth *cattle.Client
}

func newFaultWorld(tb testing.TB, world cattlesim.PopulateOptions) *faultWorld {
	tb.Helper()
	sim := cattlesim.New(cattlesim.Options{RandSeed: 1})
	tb.Cleanup(sim.Close)
	seed, err := sim.Seed(cattlesim.SeedEmpty, cattlesim.SeedOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := sim.Populate(cattlesim.DefaultProjectID, world); err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	tb.Cleanup(srv.Close)
	key := seed.Credentials[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	newClient := func(getRetries int, backoff time.Duration) *cattle.Client {
		c, err := cattle.New(ctx, cattle.Options{URL: srv.URL, AccessKey: key.AccessKey, SecretKey: key.SecretKey,
			GetRetries: getRetries, RetryBackoff: backoff})
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	return &faultWorld{sim: sim, src: newClient(-1, 0), retrying: newClient(3, time.Millisecond),
		truth: newClient(0, 0)}
}

// setErrorRate makes that share of REST answers a 503 (0 clears the faults).
func (w *faultWorld) setErrorRate(tb testing.TB, rate float64) {
	tb.Helper()
	if err := w.sim.SetFaults(cattlesim.Faults{ErrorRate: rate}); err != nil {
		tb.Fatal(err)
	}
}

// listCalls returns the list requests (GETs of a collection) logged since call index since, and the index the
// next call will get.
func (w *faultWorld) listCalls(since int) ([]cattlesim.Call, int) {
	calls, next := w.sim.CallsSince(since)
	var lists []cattlesim.Call
	for _, c := range calls {
		if c.Method == http.MethodGet && strings.Contains(c.Query, "limit=") {
			lists = append(lists, c)
		}
	}
	return lists, next
}

// checkCacheIsTruth fails unless store holds exactly what Cattle lists now, object for object.
func (w *faultWorld) checkCacheIsTruth(t *testing.T, store *Store) {
	t.Helper()
	truth, err := NewStore(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, kind := range Kinds() {
		opts := cattle.ListOptions{PageSize: 1000}
		if kind == KindReceiver {
			opts.Filters = map[string][]string{"kind": {ReceiverKind}}
		}
		var rows []json.RawMessage
		if err := w.truth.List(ctx, schemaOf(kind), opts, &rows); err != nil {
			t.Fatal(err)
		}
		if _, err := truth.Replace(kind, rows); err != nil {
			t.Fatal(err)
		}
		got, want := all[any](store, kind), all[any](truth, kind)
		if len(got) != len(want) {
			t.Errorf("%d %s cached, Cattle lists %d", len(got), kind, len(want))
			continue
		}
		for n := range want {
			if !reflect.DeepEqual(got[n], want[n]) {
				t.Errorf("cached %s #%d differs from Cattle's:\n got %+v\nwant %+v", kind, n, got[n], want[n])
				break
			}
		}
	}
}

// restartCalls is the expected number of requests a relist that starts over at every failure makes to get
// pages successes in a row when each request succeeds with probability p: (1/p^pages - 1) / (1 - p).
func restartCalls(pages int, p float64) float64 {
	return (1/math.Pow(p, float64(pages)) - 1) / (1 - p)
}

// TestRelistUnderRESTFaultsResumesAtTheFailedPage lists a world of 2,000 rows (650 services, 50 hosts, 1,300
// containers) in pages of 50 while a quarter of cattlesim's REST answers are 503s, with a client that does not
// retry. The relist completes, no page is listed successfully twice (every failure was retried in place, the
// relist never started over), it makes exactly one call per page plus one per failure, and the cache then holds
// exactly what Cattle lists. The same faults against a relist that starts over at every failure (no request
// retries) have not produced a sync after as many calls as the resuming relist needed in all.
func TestRelistUnderRESTFaultsResumesAtTheFailedPage(t *testing.T) {
	const pageSize, errorRate = 50, 0.25
	w := newFaultWorld(t, cattlesim.PopulateOptions{Hosts: 50, Services: 650, Scale: 2})
	newInformer := func(requestRetries int) (*Informer, *Store) {
		store, _ := newTestStore(t)
		inf, err := NewInformer(InformerOptions{Store: store, Source: w.src, PageSize: pageSize,
			RetryInitial: time.Millisecond, RetryMax: 5 * time.Millisecond,
			RequestRetries: requestRetries, RequestRetryInitial: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return inf, store
	}
	// Pages per kind: a listing stops at the first page shorter than pageSize (possibly empty).
	pages := 0
	for _, rows := range []int{650, 50, 1300, 0} {
		pages += rows/pageSize + 1
	}

	_, mark := w.sim.CallsSince(0)
	w.setErrorRate(t, errorRate)
	// 20 retries: a page fails 21 times in a row with probability 0.25^21, so the relist never starts over.
	inf, store := newInformer(20)
	runInformer(t, inf)
	eventually(t, time.Minute, inf.Synced, "relist under faults")
	w.setErrorRate(t, 0)
	calls, _ := w.listCalls(mark)

	failed := 0
	listed := map[string]bool{}
	for _, c := range calls {
		if c.Status != http.StatusOK {
			failed++
			continue
		}
		page := c.Path + "?" + c.Query
		if listed[page] {
			t.Errorf("page %s listed successfully twice: the relist started over", page)
		}
		listed[page] = true
	}
	if failed == 0 {
		t.Fatal("no list request failed: the faults were not injected, the test proves nothing")
	}
	if len(listed) != pages || len(calls) != pages+failed {
		t.Errorf("%d calls for %d pages (%d distinct listed) and %d failures, want exactly one call per page "+
			"plus one per failure", len(calls), pages, len(listed), failed)
	}
	if got := inf.RetriedRequests(); got != int64(failed) {
		t.Errorf("informer retried %d requests in place, cattlesim failed %d", got, failed)
	}
	expected := restartCalls(pages, 1-errorRate)
	t.Logf("%d pages healed in %d calls (%d failed); starting over at every failure would need %.3g calls",
		pages, len(calls), failed, expected)
	if float64(len(calls)) >= expected {
		t.Errorf("%d calls, not fewer than the %.3g a relist starting over would need", len(calls), expected)
	}
	w.checkCacheIsTruth(t, store)

	// The same faults, relisting from scratch after every failure, with the same budget of calls.
	_, mark = w.sim.CallsSince(0)
	w.setErrorRate(t, errorRate)
	defer w.setErrorRate(t, 0)
	restart, _ := newInformer(-1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- restart.Run(ctx) }()
	eventually(t, time.Minute, func() bool {
		spent, _ := w.listCalls(mark)
		return len(spent) >= len(calls) || restart.Synced()
	}, fmt.Sprintf("%d calls of the restarting relist", len(calls)))
	synced := restart.Synced()
	cancel()
	if err := simtest.Recv(t, done, waitFor, "restarting informer to stop"); err != nil {
		t.Fatal(err)
	}
	if synced {
		t.Errorf("the relist that starts over synced within %d calls; the faults cannot tell the two apart",
			len(calls))
	}
}

// BenchmarkRelistUnderFaults: one operation is a first sync of a 310-row world (100 services, 10 hosts, 200
// containers) in pages of 50 (10 requests when nothing fails) while cattlesim answers a share of REST requests
// with 503s. restart starts the relist over whenever a request fails (RequestRetries -1: the behaviour before
// retries in place); resume retries the failed request in place. no-retry: a client that does not retry, so
// every fault reaches the informer; get-retries: a client that retries each GET 3 times, as the app's does (so
// a request fails only when 4 answers in a row do). Every backoff is its default divided by 100 (relist 5 ms
// doubling to 300 ms, request retry 1 ms, client retry 1 ms), so ns/op is the time to heal at a hundredth of
// the real scale. calls/op and failed/op count the list requests in cattlesim's call log.
func BenchmarkRelistUnderFaults(b *testing.B) {
	const pageSize = 50
	w := newFaultWorld(b, cattlesim.PopulateOptions{Hosts: 10, Services: 100, Scale: 2})
	for _, tc := range []struct {
		name      string
		client    *cattle.Client
		errorRate float64
	}{
		{"no-retry/errors=0.2", w.src, 0.2},
		{"get-retries/errors=0.2", w.retrying, 0.2},
		{"get-retries/errors=0.5", w.retrying, 0.5},
	} {
		for _, mode := range []struct {
			name    string
			retries int
		}{{"restart", -1}, {"resume", DefaultRequestRetries}} {
			b.Run(tc.name+"/"+mode.name, func(b *testing.B) {
				w.setErrorRate(b, tc.errorRate)
				defer w.setErrorRate(b, 0)
				_, mark := w.sim.CallsSince(0)
				b.ResetTimer()
				for range b.N {
					store, err := NewStore(nil)
					if err != nil {
						b.Fatal(err)
					}
					inf, err := NewInformer(InformerOptions{Store: store, Source: tc.client, PageSize: pageSize,
						RetryInitial: 5 * time.Millisecond, RetryMax: 300 * time.Millisecond,
						RequestRetries: mode.retries, RequestRetryInitial: time.Millisecond})
					if err != nil {
						b.Fatal(err)
					}
					ctx, cancel := context.WithCancel(context.Background())
					done := make(chan error, 1)
					go func() { done <- inf.Run(ctx) }()
					eventually(b, time.Minute, inf.Synced, "sync under faults")
					cancel()
					if err := <-done; err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				calls, _ := w.listCalls(mark)
				failed := 0
				for _, c := range calls {
					if c.Status != http.StatusOK {
						failed++
					}
				}
				b.ReportMetric(float64(len(calls))/float64(b.N), "calls/op")
				b.ReportMetric(float64(failed)/float64(b.N), "failed/op")
			})
		}
	}
}
