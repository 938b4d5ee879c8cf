package e2e

// Stopping with triggers in flight (SIGTERM: main cancels the context app.Run runs under): every trigger is
// either finished (2xx and applied) or reported (503, not applied), none is left without an answer or applied
// without saying so, and Run returns nil (main exits 0).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Triggers on a service stalled mid-update wait for it; triggers on a slow (but live) Cattle are being
// executed; then the service is stopped. The waiting ones are answered 503 at once, those in flight finish or
// are answered 503, the stalled service keeps the one change it was given, and every 2xx answer matches a
// change cattlesim applied.
func TestShutdownWithTriggersInFlight(t *testing.T) {
	t.Parallel()
	const waiting, inFlight = 6, 6
	h := startHardened(t, hardenOptions{})
	web := h.id("service/web")
	api := h.createService("stop-api", "docker:nginx:1.13", 1, map[string]string{"app": "stop-api"})
	h.waitCachedServices()
	rWeb := h.scaleReceiver("stop-web", web, "up", 1, 1, 100)
	rAPI := h.scaleReceiver("stop-api", api.ID, "up", 2, 1, 100)
	webScale, apiScale := h.service(web).Scale, api.Scale
	mark := h.callMark()

	// web is stalled mid-update: the first trigger is applied, the next ones wait for the update to end.
	h.stall(web, true)
	a := h.trigger(rWeb.URL, "", nil)
	if rep := decodeReply(t, a); a.status != http.StatusOK || rep.Result != "scaled" {
		t.Fatalf("first trigger on web: %s, want 200 scaled", a)
	}
	webScale++

	type result struct {
		receiver string
		status   int
		rep      reply
		err      error
	}
	results := make(chan result, waiting+inFlight)
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	defer cancel()
	var wg sync.WaitGroup
	fire := func(r receiver) {
		wg.Go(func() {
			a, err := h.fire(ctx, r.URL, "", nil)
			res := result{receiver: r.ID, status: a.status, err: err}
			if err == nil {
				res.err = json.Unmarshal(a.body, &res.rep)
			}
			results <- res
		})
	}
	for range waiting {
		fire(rWeb)
	}
	eventually(t, "web triggers waiting", func() (bool, string) {
		n := 0
		for _, rec := range h.executions("receiverId=" + rWeb.ID) {
			if rec.Outcome == "running" || rec.Outcome == "queued" {
				n++
			}
		}
		return n == waiting, fmt.Sprintf("%d of %d web triggers waiting", n, waiting)
	})
	// Every Cattle call now takes 300 ms, so the api triggers are mid-execution when the stop comes.
	h.faults(0, 0, 300)
	for range inFlight {
		fire(rAPI)
	}
	// Every api trigger has reached the service (a request not yet sent when the listener closes is refused,
	// which is not a trigger in flight), and one is executing.
	eventually(t, "the api triggers received, one executing", func() (bool, string) {
		recs := h.executions("receiverId=" + rAPI.ID)
		running := 0
		for _, rec := range recs {
			if rec.Outcome == "running" {
				running++
			}
		}
		return len(recs) == inFlight && running > 0, fmt.Sprintf("%d of %d api triggers received, %d running",
			len(recs), inFlight, running)
	})

	stopped := time.Now()
	if err := h.stop(); err != nil {
		t.Fatalf("app.Run after cancel: %v, want nil", err)
	}
	took := time.Since(stopped)
	wg.Wait()
	close(results)
	h.faults(0, 0, 0)

	scaledAPI, served := 0, 0
	for res := range results {
		switch {
		case res.err != nil:
			t.Errorf("trigger of %s got no clear answer: %v", res.receiver, res.err)
		case res.status == http.StatusOK && res.rep.Result == "scaled" && res.receiver == rAPI.ID:
			scaledAPI++
			served++
		case res.status == http.StatusServiceUnavailable:
			served++
		default:
			t.Errorf("trigger of %s answered %d %+v, want 200 scaled (api only) or 503", res.receiver, res.status, res.rep)
		}
	}
	if served != waiting+inFlight {
		t.Errorf("%d of %d triggers answered", served, waiting+inFlight)
	}

	// What was answered scaled is what cattlesim applied, and nothing else: web keeps the one change it had,
	// also once released, and api moved by 2 for each trigger answered scaled.
	h.stall(web, false)
	h.waitService(web, "web settled", settled)
	if s := h.waitService(api.ID, "api settled", settled); s.Scale != apiScale+2*scaledAPI {
		t.Errorf("api at %d, want %d + 2 × %d triggers answered scaled", s.Scale, apiScale, scaledAPI)
	}
	calls, _ := h.callsSince(mark)
	if puts := appliedPUTs(t, calls, web); len(puts) != 1 || puts[0] != webScale {
		t.Errorf("cattlesim applied PUTs %v on web, want the first trigger's alone (to %d)", puts, webScale)
	}
	if s := h.service(web); s.Scale != webScale {
		t.Errorf("web at %d, want %d", s.Scale, webScale)
	}
	t.Logf("stopped in %s: %d api triggers finished, %d answered 503", took.Round(time.Millisecond), scaledAPI,
		served-scaledAPI)

	// The stopped service takes no more triggers.
	late, cancelLate := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelLate()
	if a, err := h.fire(late, rAPI.URL, "", nil); err == nil && a.status < 500 {
		t.Errorf("trigger after the stop answered %s", a)
	}
}
