package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// scaleReceiver creates a scaleService receiver on service id.
func (e *env) scaleReceiver(name, id, action string, amount, lo, hi int) receiver {
	e.t.Helper()
	return e.createReceiver(fmt.Sprintf(`{"name":%q,"driver":"scaleService","scaleServiceConfig":`+
		`{"serviceId":%q,"action":%q,"amount":%d,"min":%d,"max":%d}}`, name, id, action, amount, lo, hi))
}

// scalePUTs returns the PUTs on service id among calls.
func scalePUTs(calls []call, id string) []call {
	return matching(calls, func(c call) bool { return c.is(http.MethodPut, "services/"+id, "") })
}

// 1,000 triggers fired 50 at a time on one scale-up receiver move the service by exactly +1,000 clamped to max:
// every trigger is answered 2xx with its own decision, exactly max-2 of them scaled and the rest are "at max",
// and the increments that queued up together were applied with far fewer PUTs than triggers. The max (500) is
// what keeps the package within its time budget under -race: cattlesim's cost grows with the square of the
// containers it runs, and at 1,000 containers this test alone takes about 20 s.
func TestConcurrentScaleTriggersGiveExactScale(t *testing.T) {
	t.Parallel()
	const (
		triggers    = 1000
		concurrency = 50
		startScale  = 2 // the demo's web
		maxScale    = 500
	)
	e := start(t)
	web := e.id("service/web")
	// Its own rate limit lets the whole load through (the service-wide default allows 60 at once).
	r := e.createReceiver(fmt.Sprintf(`{"name":"scale-web-load","driver":"scaleService","scaleServiceConfig":`+
		`{"serviceId":%q,"action":"up","amount":1,"min":1,"max":%d},"rateLimit":{"perMinute":600000,"burst":%d}}`,
		web, maxScale, triggers))
	mark := e.callMark()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type result struct {
		status int
		rep    reply
		err    error
	}
	results := make([]result, triggers)
	next := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				a, err := e.fire(ctx, r.URL, "", nil)
				results[i] = result{status: a.status, err: err}
				if err == nil {
					results[i].rep, results[i].err = parseReply(a)
				}
			}
		})
	}
	for i := range triggers {
		next <- i
	}
	close(next)
	wg.Wait()

	scaled, atMax, deferred := 0, 0, 0
	for i, res := range results {
		if res.err == nil && res.status == http.StatusAccepted && res.rep.Result == "accepted" {
			// On a slow machine a trigger can outwait the answer deadline; it is then answered 202 and still
			// executed exactly once. Its decision is read from the execution history.
			deferred++
			res.rep = e.finalDecision(res.rep.ExecutionID)
			res.status = http.StatusOK
		}
		switch {
		case res.err != nil:
			t.Fatalf("trigger %d: %v", i, res.err)
		case res.status < 200 || res.status > 299:
			t.Fatalf("trigger %d answered %d, want 2xx: %+v", i, res.status, res.rep)
		case res.rep.Result == "scaled" && res.rep.To == res.rep.From+1:
			scaled++
		case res.rep.Result == "none" && res.rep.Reason == "at max" && (res.rep.To == maxScale || res.rep.To == -1):
			atMax++
		default:
			t.Errorf("trigger %d: unexpected answer %d %+v", i, res.status, res.rep)
		}
	}
	if want := maxScale - startScale; scaled != want || atMax != triggers-want {
		t.Errorf("%d triggers scaled and %d were at max, want %d and %d", scaled, atMax, want, triggers-want)
	}
	s := e.waitService(web, "web at max and settled", settled)
	if want := min(startScale+triggers, maxScale); s.Scale != want {
		t.Fatalf("web ends at scale %d, want exactly %d", s.Scale, want)
	}

	calls, _ := e.callsSince(mark)
	puts := scalePUTs(calls, web)
	for _, c := range puts {
		if c.Status != http.StatusOK {
			t.Errorf("scale PUT answered %d: %s", c.Status, c.Body)
		}
	}
	if len(puts) == 0 || len(puts) > triggers/5 {
		t.Errorf("%d scale PUTs for %d triggers, want far fewer (at most %d)", len(puts), triggers, triggers/5)
	}
	gets := matching(calls, func(c call) bool { return c.is(http.MethodGet, "services/"+web, "") })
	t.Logf("%d triggers (%d at a time) → %d PUTs and %d GETs of the service (%.1f triggers per PUT); %d answered 202",
		triggers, concurrency, len(puts), len(gets), float64(triggers)/float64(len(puts)), deferred)
}

// finalDecision waits for an execution answered 202 to end and returns its decision in the shape of a trigger
// answer, parsed from the record ("scale 4 → 5" or "none: at max").
func (e *env) finalDecision(id string) reply {
	e.t.Helper()
	var r record
	eventually(e.t, "execution "+id+" finished", func() (bool, string) {
		r = e.execution(id)
		return r.Outcome == "done" || r.Outcome == "ignored" || r.Outcome == "failed", "outcome " + r.Outcome
	})
	var from, to int
	if n, _ := fmt.Sscanf(r.Decision, "scale %d → %d", &from, &to); n == 2 {
		return reply{ExecutionID: id, Result: "scaled", From: from, To: to}
	}
	if r.Decision == "none: at max" {
		return reply{ExecutionID: id, Result: "none", Reason: "at max", From: -1, To: -1}
	}
	return reply{ExecutionID: id, Result: r.Outcome, Reason: r.Decision}
}

// parseReply decodes a trigger answer without failing the test (for load goroutines).
func parseReply(a answer) (reply, error) {
	var r reply
	if err := json.Unmarshal(a.body, &r); err != nil {
		return r, fmt.Errorf("decode trigger answer %s: %w", a, err)
	}
	return r, nil
}

// A scale-up trigger on a service already at the receiver's max is answered 200 with result "none", reason
// "at max" (the original answered 400, which Alertmanager does not retry and users read as a failure), and no
// PUT reaches Cattle.
func TestScaleAtMaxIsNoOp(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	r := e.scaleReceiver("scale-web-capped", web, "up", 1, 1, 2) // web already runs 2
	mark := e.callMark()

	a := e.trigger(r.URL, "", nil)
	if a.status != http.StatusOK {
		t.Fatalf("trigger at max: %s, want 200", a)
	}
	rep := decodeReply(t, a)
	if rep.Result != "none" || rep.Reason != "at max" || rep.From != 2 || rep.To != 2 || rep.ExecutionID == "" {
		t.Errorf("answer %s, want result none, reason at max, 2 → 2, with an execution id", a.body)
	}
	calls, _ := e.callsSince(mark)
	if puts := scalePUTs(calls, web); len(puts) != 0 {
		t.Errorf("a trigger at max made %d PUTs: %v", len(puts), puts)
	}
	if s := e.service(web); s.Scale != 2 {
		t.Errorf("web scale %d after a trigger at max, want 2", s.Scale)
	}
	rec := e.execution(rep.ExecutionID)
	if rec.Outcome != "ignored" || !strings.Contains(rec.Decision, "at max") {
		t.Errorf("execution %+v, want outcome ignored with decision at max", rec)
	}
}

// A receiver with cooldownSeconds scales once, then answers 200 "cooling down" without a PUT until the cooldown
// is over (an hour here, so the test never reaches its end).
func TestScaleCooldown(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	r := e.createReceiver(`{"name":"scale-web-slowly","driver":"scaleService","scaleServiceConfig":` +
		`{"serviceId":"` + web + `","action":"up","amount":1,"min":1,"max":5,"cooldownSeconds":3600}}`)
	if r.ScaleServiceConfig["cooldownSeconds"] != 3600.0 {
		t.Errorf("receiver config %v, want cooldownSeconds 3600", r.ScaleServiceConfig)
	}
	mark := e.callMark()
	if a := e.trigger(r.URL, "", nil); a.status != http.StatusOK || decodeReply(t, a).Result != "scaled" {
		t.Fatalf("first trigger: %s, want scaled", a)
	}
	a := e.trigger(r.URL, "", nil)
	if rep := decodeReply(t, a); a.status != http.StatusOK || rep.Result != "none" || rep.Reason != "cooling down" {
		t.Errorf("second trigger: %s, want 200 none, cooling down", a)
	}
	calls, _ := e.callsSince(mark)
	if puts := scalePUTs(calls, web); len(puts) != 1 {
		t.Errorf("PUTs %v, want only the first trigger's", puts)
	}
}
