package e2e

// Fault injection: cattlesim answering 503 and 409 to a fifth of the REST calls, slowly, dropping the event
// websocket, and a proxy that leaves scale PUTs unanswered (applied or not), while scale triggers arrive. Every
// trigger answered "scaled" is applied exactly once, and nothing answered otherwise is applied: the scale steps
// of the executions chain from the initial scale to the final one without gap or overlap, each by its
// receiver's amount, and cattlesim's log of applied PUTs walks the same chain.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// stepRecord is an execution with its steps, as GET /v1-webhooks/executions serves it.
type stepRecord struct {
	record
	Steps []struct {
		Message string `json:"message"`
	} `json:"steps"`
}

func (r stepRecord) hasStep(s string) bool {
	for _, st := range r.Steps {
		if strings.Contains(st.Message, s) {
			return true
		}
	}
	return false
}

// allExecutions lists every kept execution, newest first.
func (e *env) allExecutions() []stepRecord {
	e.t.Helper()
	a := e.api(http.MethodGet, "/v1-webhooks/executions?limit=100000", nil)
	if a.status != http.StatusOK {
		e.t.Fatalf("list executions: %s", a)
	}
	var c struct {
		Data []stepRecord `json:"data"`
	}
	if err := json.Unmarshal(a.body, &c); err != nil {
		e.t.Fatalf("decode executions: %v: %s", err, a.body)
	}
	return c.Data
}

// scaleStep is one applied step "scale from → to" of an execution.
type scaleStep struct {
	execution string
	from, to  int
}

// parseScaleDecision reads a done execution's decision "scale A → B".
func parseScaleDecision(decision string) (from, to int, ok bool) {
	_, err := fmt.Sscanf(decision, "scale %d → %d", &from, &to)
	return from, to, err == nil
}

// putScale reads the scale a logged PUT set.
func putScale(c call) (int, bool) {
	var b struct {
		Scale *int `json:"scale"`
	}
	if json.Unmarshal([]byte(c.Body), &b) != nil || b.Scale == nil {
		return 0, false
	}
	return *b.Scale, true
}

// appliedPUTs returns the scales the PUTs cattlesim applied (answered 200) on service id set, in order.
func appliedPUTs(t *testing.T, calls []call, id string) []int {
	t.Helper()
	var out []int
	for _, c := range scalePUTs(calls, id) {
		if c.Status != http.StatusOK {
			continue
		}
		n, ok := putScale(c)
		if !ok {
			t.Fatalf("applied PUT without a scale: %s %s", c, c.Body)
		}
		out = append(out, n)
	}
	return out
}

// A scale PUT that gets no answer leaves the trigger's outcome to a read of the service: a PUT applied before
// its answer was lost (held past the client's timeout, or the connection closed after cattlesim applied it) is
// not applied a second time, and one that never reached cattlesim is applied once by the retry. Each trigger
// moves the service by exactly its amount, with one applied PUT, and its record says how it was settled.
func TestFaultUnansweredScalePutAppliedOnce(t *testing.T) {
	t.Parallel()
	h := startHardened(t, hardenOptions{proxy: true, cattleTimeout: 500 * time.Millisecond})
	web := h.id("service/web")
	r := h.scaleReceiver("web-up-3", web, "up", 3, 1, 100)
	scale := h.service(web).Scale

	for _, tc := range []struct{ mode, settledBy string }{
		{putHang, "the PUT was applied"},
		{putDrop, "the PUT was applied"},
		{putCut, "the PUT was not applied"},
	} {
		mark := h.callMark()
		h.proxy.planPUTs(0, tc.mode)
		a := h.trigger(r.URL, "", nil)
		rep := decodeReply(t, a)
		if a.status != http.StatusOK || rep.Result != "scaled" || rep.From != scale || rep.To != scale+3 {
			t.Fatalf("%s: trigger answered %s, want 200 scaled %d → %d", tc.mode, a, scale, scale+3)
		}
		if n := h.proxy.count(tc.mode); n != 1 {
			t.Fatalf("%s: the proxy interfered with %d PUTs, want 1: the test proves nothing", tc.mode, n)
		}
		scale += 3
		h.waitService(web, fmt.Sprintf("web settled at %d", scale), func(s serviceView) bool {
			return settled(s) && s.Scale == scale
		})
		calls, _ := h.callsSince(mark)
		puts := appliedPUTs(t, calls, web)
		if len(puts) != 1 || puts[0] != scale {
			t.Errorf("%s: cattlesim applied PUTs %v, want exactly one to %d", tc.mode, puts, scale)
		}
		// Hang and drop: the unanswered PUT is the applied one and is not sent again. Cut: it never reached
		// cattlesim, and the retry's PUT is the one.
		if n := len(scalePUTs(calls, web)); n != 1 {
			t.Errorf("%s: cattlesim saw %d PUTs on web, want 1", tc.mode, n)
		}
		var rec stepRecord
		for _, x := range h.allExecutions() {
			if x.ID == rep.ExecutionID {
				rec = x
			}
		}
		if rec.Outcome != "done" || rec.Decision != fmt.Sprintf("scale %d → %d", scale-3, scale) ||
			!rec.hasStep("got no answer") || !rec.hasStep(tc.settledBy) {
			t.Errorf("%s: execution %+v, want done with steps saying the PUT got no answer and %q", tc.mode, rec, tc.settledBy)
		}
	}
	// Nothing more happens later: the service stays at the scale of the three triggers.
	if s := h.service(web); s.Scale != scale {
		t.Errorf("web ends at %d, want %d", s.Scale, scale)
	}
}

// While Cattle keeps failing, a scale trigger is reported, not applied: cattlesim answering every call 503
// makes the executor give up after its retries and answer 503 (send it again), with no PUT. But a trigger whose
// PUT was applied and got no answer is not answered "send it again" when Cattle then goes down (the sender's
// retry would apply it twice): it is kept until Cattle is back and a read shows the PUT applied, then answered
// scaled, once.
func TestFaultCattleDownTriggersReportedOrSettled(t *testing.T) {
	t.Parallel()
	h := startHardened(t, hardenOptions{proxy: true, cattleTimeout: 500 * time.Millisecond})
	web := h.id("service/web")
	r := h.scaleReceiver("web-up-2", web, "up", 2, 1, 100)
	scale := h.service(web).Scale

	mark := h.callMark()
	h.faults(1, http.StatusServiceUnavailable, 0)
	a := h.trigger(r.URL, "", nil)
	h.faults(0, 0, 0)
	rep := decodeReply(t, a)
	if a.status != http.StatusServiceUnavailable || rep.ExecutionID == "" || !strings.Contains(rep.Message, "retry later") {
		t.Fatalf("trigger while cattle fails: %s, want 503 with its execution id, saying to retry", a)
	}
	if rec := h.execution(rep.ExecutionID); rec.Outcome != "failed" {
		t.Errorf("execution of the refused trigger is %+v, want failed", rec)
	}
	calls, _ := h.callsSince(mark)
	if puts := scalePUTs(calls, web); len(puts) != 0 {
		t.Errorf("cattlesim saw PUTs %v for a trigger answered 503", puts)
	}
	if s := h.service(web); s.Scale != scale {
		t.Errorf("web at %d after a trigger answered 503, want %d", s.Scale, scale)
	}

	mark = h.callMark()
	h.proxy.planPUTs(0, putHangThenDown)
	answered := make(chan answer, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	var sender sync.WaitGroup
	defer sender.Wait()
	defer cancel() // ends the sender first if the test stops early
	sender.Go(func() {
		a, err := h.fire(ctx, r.URL, "", nil)
		if err != nil {
			a = answer{status: -1, body: []byte(err.Error())}
		}
		answered <- a
	})
	// The workers give up on the key while cattle is down; the trigger stays, waiting to be settled.
	eventually(t, "the executor gives up on cattle but keeps the unsettled trigger", func() (bool, string) {
		for _, rec := range h.allExecutions() {
			if rec.ReceiverID == r.ID && rec.hasStep("still to learn whether the scale PUT was applied") {
				return true, ""
			}
		}
		return false, "no execution says it is kept"
	})
	select {
	case a := <-answered:
		t.Fatalf("trigger answered %s while its PUT was unsettled", a)
	default:
	}
	h.proxy.up()
	var got answer
	select {
	case got = <-answered:
	case <-time.After(2 * waitTimeout):
		t.Fatalf("no answer within %s of cattle coming back", 2*waitTimeout)
	}
	rep = decodeReply(t, got)
	if got.status != http.StatusOK || rep.Result != "scaled" || rep.From != scale || rep.To != scale+2 {
		t.Fatalf("trigger answered %s, want 200 scaled %d → %d", got, scale, scale+2)
	}
	h.waitService(web, "web settled", func(s serviceView) bool { return settled(s) && s.Scale == scale+2 })
	calls, _ = h.callsSince(mark)
	if puts := appliedPUTs(t, calls, web); len(puts) != 1 || puts[0] != scale+2 {
		t.Errorf("cattlesim applied PUTs %v, want one to %d", puts, scale+2)
	}
}

// 200 scale triggers with distinct known increments (1, 2 and 3 on each of two services) from 8 senders, in
// four phases of cattlesim faults: 20% of REST calls answered 503, then 409, then 503 again and 409 again,
// every call delayed by 20 to 100 ms, the event websocket dropped every 50 triggers, and every 7th scale PUT
// left unanswered by the proxy after cattlesim applied it (held past the client's 1 s timeout, or the
// connection closed). Every trigger is answered: 200 "scaled" ones are applied exactly once, 503 and "failed"
// ones not at all. (The websocket is dropped every 50 triggers, not more often: each drop makes the cache
// relist under the same faults, and until it is live again a scale waits up to 5 s for its previous change to
// show, which makes the test slow without testing more.)
func TestFaultInjectionAppliesAcceptedTriggersExactlyOnce(t *testing.T) {
	t.Parallel()
	const (
		triggers = 200
		senders  = 8
		dropEach = 50
	)
	phases := []struct {
		status, latencyMs int
	}{{503, 20}, {409, 50}, {503, 100}, {409, 50}}
	h := startHardened(t, hardenOptions{proxy: true, cattleTimeout: time.Second, simStep: time.Millisecond})
	web := h.id("service/web")
	api := h.createService("fault-api", "docker:nginx:1.13", 1, map[string]string{"app": "fault-api"})
	h.waitCachedServices()

	type target struct {
		r       receiver
		service string
		amount  int
	}
	var targets []target
	byReceiver := map[string]target{}
	for _, svc := range []string{web, api.ID} {
		for amount := 1; amount <= 3; amount++ {
			tg := target{r: h.scaleReceiver(fmt.Sprintf("fault-%s-%d", svc, amount), svc, "up", amount, 1, 10000),
				service: svc, amount: amount}
			targets = append(targets, tg)
			byReceiver[tg.r.ID] = tg
		}
	}
	initial := map[string]int{web: h.service(web).Scale, api.ID: h.service(api.ID).Scale}
	mark := h.callMark()
	h.proxy.planPUTs(7)

	type result struct {
		status int
		rep    reply
		err    error
	}
	results := make([]result, triggers)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for i := range next {
				a, err := h.fire(ctx, targets[i%len(targets)].r.URL, "", nil)
				results[i] = result{status: a.status, err: err}
				if err == nil && len(a.body) > 0 {
					results[i].err = json.Unmarshal(a.body, &results[i].rep)
				}
			}
		})
	}
	dropped := 0
	perPhase := triggers / len(phases)
	for i := range triggers {
		if i%perPhase == 0 {
			p := phases[i/perPhase]
			h.faults(0.2, p.status, p.latencyMs)
		}
		if i > 0 && i%dropEach == 0 {
			dropped += h.dropWebsockets()
		}
		next <- i
	}
	close(next)
	wg.Wait()
	h.faults(0, 0, 0)
	h.proxy.planPUTs(0)

	// Every execution of these receivers reaches its final outcome, and the services settle.
	var recs []stepRecord
	eventually(t, "every execution final", func() (bool, string) {
		recs = recs[:0]
		open := 0
		for _, rec := range h.allExecutions() {
			if _, ok := byReceiver[rec.ReceiverID]; !ok {
				continue
			}
			recs = append(recs, rec)
			if rec.Outcome == "queued" || rec.Outcome == "running" {
				open++
			}
		}
		return open == 0, fmt.Sprintf("%d of %d executions still open", open, len(recs))
	})
	final := map[string]int{}
	for _, svc := range []string{web, api.ID} {
		final[svc] = h.waitService(svc, svc+" settled", settled).Scale
	}

	// The applied steps chain from the initial scale to the final one, each by its receiver's amount.
	recByID := map[string]stepRecord{}
	steps := map[string][]scaleStep{}
	unanswered := 0
	for _, rec := range recs {
		recByID[rec.ID] = rec
		if rec.hasStep("got no answer") {
			unanswered++
		}
		tg := byReceiver[rec.ReceiverID]
		switch rec.Outcome {
		case "done":
			from, to, ok := parseScaleDecision(rec.Decision)
			if !ok || to-from != tg.amount {
				t.Errorf("execution %s of +%d is done with decision %q", rec.ID, tg.amount, rec.Decision)
				continue
			}
			steps[tg.service] = append(steps[tg.service], scaleStep{execution: rec.ID, from: from, to: to})
		case "failed", "rejected":
		default:
			t.Errorf("execution %s ended %s (%s), want done, failed or rejected", rec.ID, rec.Outcome, rec.Decision)
		}
	}
	calls, _ := h.callsSince(mark)
	for _, svc := range []string{web, api.ID} {
		ss := steps[svc]
		sort.Slice(ss, func(i, j int) bool { return ss[i].from < ss[j].from })
		at := initial[svc]
		tos := map[int]bool{}
		for _, s := range ss {
			if s.from != at {
				t.Fatalf("service %s: execution %s applied %d → %d while the scale was %d: a trigger was applied "+
					"twice or lost (steps %v)", svc, s.execution, s.from, s.to, at, ss)
			}
			at = s.to
			tos[s.to] = true
		}
		if at != final[svc] {
			t.Errorf("service %s ends at %d, but its done executions add up to %d (from %d)", svc, final[svc], at, initial[svc])
		}
		puts := appliedPUTs(t, calls, svc)
		last := initial[svc]
		for _, n := range puts {
			if n <= last || !tos[n] {
				t.Errorf("service %s: cattlesim applied PUTs %v; %d is not the next scale of the executions' chain",
					svc, puts, n)
				break
			}
			last = n
		}
		if last != final[svc] {
			t.Errorf("service %s: the last applied PUT set %d, the service is at %d", svc, last, final[svc])
		}
	}

	// Every trigger got an answer that says what happened.
	scaled := 0
	for i, res := range results {
		rec, known := recByID[res.rep.ExecutionID]
		switch {
		case res.err != nil:
			t.Errorf("trigger %d: %v", i, res.err)
		case res.status == http.StatusOK && res.rep.Result == "scaled":
			scaled++
			if !known || rec.Outcome != "done" || rec.Decision != fmt.Sprintf("scale %d → %d", res.rep.From, res.rep.To) {
				t.Errorf("trigger %d answered scaled %d → %d, its execution is %+v", i, res.rep.From, res.rep.To, rec)
			}
		case res.status == http.StatusOK && res.rep.Result == "failed",
			res.status == http.StatusServiceUnavailable && res.rep.ExecutionID != "":
			if !known || rec.Outcome == "done" {
				t.Errorf("trigger %d answered %d %s, but its execution is %+v", i, res.status, res.rep.Message, rec)
			}
		case res.status == http.StatusServiceUnavailable:
			// Refused by the API before any execution (the trigger lookup while the cache resyncs after a drop).
		case res.status == http.StatusAccepted:
			// Still queued at the answer deadline; its execution's outcome is checked above.
		default:
			t.Errorf("trigger %d answered %d %+v", i, res.status, res.rep)
		}
	}

	// The faults happened, and most triggers still got through: the test is not vacuous.
	faulted := map[int]int{}
	for _, c := range calls {
		faulted[c.Status]++
	}
	t.Logf("%d triggers: %d scaled; cattlesim answered 503 %d and 409 %d times; proxy held %d and dropped %d PUTs; "+
		"%d websockets dropped; %d executions saw an unanswered PUT", triggers, scaled, faulted[503], faulted[409],
		h.proxy.count(putHang), h.proxy.count(putDrop), dropped, unanswered)
	if faulted[503] == 0 || faulted[409] == 0 || h.proxy.count(putHang) == 0 || h.proxy.count(putDrop) == 0 ||
		dropped == 0 || unanswered == 0 {
		t.Errorf("a fault did not happen: the test proves less than it claims")
	}
	if scaled < triggers/2 {
		t.Errorf("only %d of %d triggers scaled", scaled, triggers)
	}
}
