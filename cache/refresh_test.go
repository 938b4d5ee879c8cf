package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

// refreshWorld is 10 hosts and 2 services at v1, relisted once. Host lists after the first (the relist and
// refresh lists of a test) wait at gate, except those fail picks, which fail.
type refreshWorld struct {
	src       *fakeSource
	inf       *Informer
	store     *Store
	log       *changeLog
	gate      *gate
	hostLists atomic.Int32
	fail      func(call int32) bool
}

func newRefreshWorld(t *testing.T, fail func(call int32) bool) *refreshWorld {
	t.Helper()
	w := &refreshWorld{src: newFakeSource(), gate: newGate(), fail: fail}
	for n := 1; n <= 10; n++ {
		id := fmt.Sprintf("1h%d", n)
		w.src.set("host", id, hostJSON(t, id, "v1", nil))
	}
	for _, id := range []string{"1s1", "1s2"} {
		w.src.set("service", id, serviceJSON(t, id, "v1", lc("docker:a", nil)))
	}
	w.inf, w.store, w.log = newTestInformer(t, w.src, nil)
	w.src.hooks(func(ctx context.Context, schema string) error {
		if schema != "host" {
			return nil
		}
		call := w.hostLists.Add(1)
		if call == 1 {
			return nil
		}
		if w.fail(call) {
			return errors.New("503 service unavailable")
		}
		return w.gate.wait(ctx, fmt.Sprintf("host list %d", call))
	}, nil)
	runInformer(t, w.inf)
	waitRelists(t, w.inf, 1)
	return w
}

// change makes version the truth for one object and delivers its event.
func (w *refreshWorld) change(t *testing.T, schema, id, version string) {
	t.Helper()
	raw := hostJSON(t, id, version, nil)
	if schema == "service" {
		raw = serviceJSON(t, id, version, lc("docker:a", nil))
	}
	w.src.set(schema, id, raw)
	apply(t, w.inf, schema, id, raw)
}

func hostVersion(s *Store, id string) string {
	h, ok := s.Host(id)
	if !ok {
		return ""
	}
	return h.Description
}

// TestRefreshListsAKindWhenManyOfItChanged: when events during a relist named most hosts, the refresh reads
// the hosts with one more list instead of a GET each, while a lone service is still read by id. An event that
// arrives while that list is in flight still wins over the list's (older) row: the next round re-reads it.
func TestRefreshListsAKindWhenManyOfItChanged(t *testing.T) {
	w := newRefreshWorld(t, func(int32) bool { return false })
	w.inf.Resync()
	simtest.Recv(t, w.gate.entered, waitFor, "relist's host list in flight")
	for n := 1; n <= 10; n++ {
		w.change(t, "host", fmt.Sprintf("1h%d", n), "v2")
	}
	w.change(t, "service", "1s1", "v2")
	w.gate.open(t)

	simtest.Recv(t, w.gate.entered, waitFor, "refresh's host list in flight") // it has rendered every host at v2
	w.change(t, "host", "1h3", "v3")
	w.gate.open(t)
	waitRelists(t, w.inf, 2)

	for n := 1; n <= 10; n++ {
		id, want := fmt.Sprintf("1h%d", n), "v2"
		if id == "1h3" {
			want = "v3"
		}
		if got := hostVersion(w.store, id); got != want {
			t.Errorf("%s = %q, want %s", id, got, want)
		}
	}
	if got := serviceVersion(w.store, "1s1"); got != "v2" {
		t.Errorf("1s1 = %q, want v2", got)
	}
	if n := w.hostLists.Load(); n != 3 {
		t.Errorf("%d host lists, want 3 (first sync, relist, refresh)", n)
	}
	var hostReads []string
	for _, call := range w.src.byIDCalls() {
		if strings.HasPrefix(call, "host/") {
			hostReads = append(hostReads, call)
		}
	}
	if !slices.Equal(hostReads, []string{"host/1h3"}) {
		t.Errorf("hosts read by id: %v, want only host/1h3 (named during the refresh's list)", hostReads)
	}
	if !slices.Contains(w.src.byIDCalls(), "service/1s1") {
		t.Error("the one changed service was not read by id")
	}
	// Every host is reported at the first sync and at v2 (by the refresh's list), and 1h3 once more at v3.
	counts := map[string]int{}
	for _, c := range w.log.all() {
		if c.Kind == KindHost {
			counts[c.ID]++
		}
	}
	for n := 1; n <= 10; n++ {
		id, want := fmt.Sprintf("1h%d", n), 2
		if id == "1h3" {
			want = 3
		}
		if counts[id] != want {
			t.Errorf("host %s reported changed %d times, want %d", id, counts[id], want)
		}
	}
}

// TestRefreshListFailureKeepsTheRefs: a refresh list that fails fails the relist, which is retried with the
// events' refs still recorded, so no host is left at the relist's older rows.
func TestRefreshListFailureKeepsTheRefs(t *testing.T) {
	w := newRefreshWorld(t, func(call int32) bool { return call == 3 }) // the refresh's list fails
	w.inf.Resync()
	simtest.Recv(t, w.gate.entered, waitFor, "relist's host list in flight")
	for n := 1; n <= 10; n++ {
		w.change(t, "host", fmt.Sprintf("1h%d", n), "v2")
	}
	w.gate.open(t)
	// The retried relist lists hosts again (call 4) and, as the refs were kept, refreshes them (call 5).
	simtest.Recv(t, w.gate.entered, waitFor, "retried relist's host list")
	w.gate.open(t)
	simtest.Recv(t, w.gate.entered, waitFor, "retried refresh's host list")
	w.gate.open(t)
	waitRelists(t, w.inf, 2)
	for n := 1; n <= 10; n++ {
		if id := fmt.Sprintf("1h%d", n); hostVersion(w.store, id) != "v2" {
			t.Errorf("%s = %q, want v2", id, hostVersion(w.store, id))
		}
	}
}
