package execution

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/handlers"
	"github.com/rancher/scale-subscriber/scale"
)

// scaleHost triggers driven by the real work queue and workers (events.Queue, events.Workers with GiveUp as
// their OnFailure), on real time, against a Cattle whose every host create gets no answer: the interplay of
// retries (which count towards giving up), delayed re-queues for the settle window (after which the workers
// forget the key's failures) and GiveUp, which the step-by-step tests of hostsettle_test.go drive by hand.

// queueSettleWindow is the settle window of these tests: long beside the queue's retry delays (at most 5 ms),
// so a retry after a failed create finds the window still open.
const queueSettleWindow = 300 * time.Millisecond

// queueWait bounds each wait for an answer.
const queueWait = 20 * time.Second

// queueFixture is an executor on a hostCattle, run by a real queue and workers.
type queueFixture struct {
	c   *hostCattle
	x   *Executor
	q   *events.Queue
	key string
}

func newQueueFixture(t *testing.T, c *hostCattle) *queueFixture {
	t.Helper()
	c.set(func(c *hostCattle) { c.timeout = 10 * time.Millisecond })
	q := events.NewQueue(events.QueueOptions{RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond})
	x, err := New(Options{Cattle: c, Cache: c, Queue: q, Router: events.NewRouter(events.RouterOptions{}),
		HostCreateSettleWindow: queueSettleWindow})
	if err != nil {
		t.Fatal(err)
	}
	d := handlers.NewDispatcher()
	if err := x.Register(d); err != nil {
		t.Fatal(err)
	}
	w, err := events.NewWorkers(events.WorkersOptions{Queue: q, Process: d.Process, Count: 2,
		OnFailure: x.GiveUp, DrainTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ran:
		case <-time.After(queueWait):
			t.Error("the workers did not stop")
		}
	})
	return &queueFixture{c: c, x: x, q: q, key: events.Key(hostGroupKind, scale.GroupKey(workers()))}
}

// file files scaleHost intents on the group, in order, as the webhook.execute handler does, then queues the
// group's key once.
func (f *queueFixture) file(t *testing.T, reqs ...scale.HostRequest) []*intent {
	t.Helper()
	var out []*intent
	for _, req := range reqs {
		in := newIntent(f.key, f.x.history.Start("r1", "workers", "scaleHost", time.Now()))
		in.scaleHost = &req
		if err := f.x.book.park(in); err != nil {
			t.Fatal(err)
		}
		if _, err := f.x.book.file(in.entry.ID()); err != nil {
			t.Fatal(err)
		}
		out = append(out, in)
	}
	f.q.Add(f.key)
	return out
}

// await waits for the intent's answer.
func await(t *testing.T, in *intent, what string) Answer {
	t.Helper()
	select {
	case a := <-in.done:
		in.done <- a
		return a
	case <-time.After(queueWait):
		t.Fatalf("%s: no answer within %s; record %+v", what, queueWait, in.entry.Snapshot())
		return Answer{}
	}
}

// failedUnknown checks a 200 "failed" answer that says the create is unknown and to check the group.
func failedUnknown(t *testing.T, a Answer, what string) {
	t.Helper()
	r, ok := a.Body.(reply)
	if a.Status != http.StatusOK || !ok || r.Result != "failed" || r.To != r.From ||
		!strings.Contains(r.Message, "[worker-03] unknown") || !strings.Contains(r.Message, "check the group") ||
		!strings.Contains(r.Message, "got no answer 3 times") {
		t.Errorf("%s: answer %d %+v, want 200 failed, nothing created, worker-03 unknown after 3 sends, check the group",
			what, a.Status, a.Body)
	}
}

// A create that never gets an answer is sent 3 times in all, then its trigger ends "failed … unknown, check the
// group"; the trigger filed behind it runs then (its own 3 sends), instead of waiting behind an endless resend.
func TestScaleHostQueueUnansweredCreateSentThreeTimes(t *testing.T) {
	c := newHostCattle()
	c.set(func(c *hostCattle) { c.always = faultCut })
	f := newQueueFixture(t, c)
	ins := f.file(t, hostUp(1, 10), hostUp(1, 10))
	failedUnknown(t, await(t, ins[0], "first trigger"), "first trigger")
	if got := c.postCount(); got < 3 {
		t.Errorf("cattle got %d host creates when the first trigger was answered, want 3", got)
	}
	failedUnknown(t, await(t, ins[1], "second trigger"), "second trigger")
	if got := c.postCount(); got != 6 {
		t.Errorf("cattle got %d host creates, want 3 per trigger", got)
	}
	for i, in := range ins {
		if rec := in.entry.Snapshot(); countCalls(rec, http.MethodPost) != 3 || rec.Outcome != OutcomeFailed {
			t.Errorf("trigger %d: record %+v, want failed after 3 POST hosts", i+1, rec)
		}
	}
}

// When the head of a group is blocked more than maxBlockedRounds rounds (its creates get no answer and the
// listing after each fails, so retries and settle waits alternate and the workers never give the key up), the
// trigger behind it that sent nothing gets the 503 GiveUp would have given, and never sends anything.
func TestScaleHostQueueBlockedTriggerGivenUp(t *testing.T) {
	c := newHostCattle()
	c.set(func(c *hostCattle) { c.always, c.failListAfterPost = faultCut, true })
	f := newQueueFixture(t, c)
	ins := f.file(t, hostUp(1, 10), hostUp(1, 10))
	a := await(t, ins[1], "trigger behind the blocked one")
	body, ok := a.Body.(errorReply)
	if a.Status != http.StatusServiceUnavailable || !ok || !strings.Contains(body.Message, "retry later") {
		t.Errorf("trigger behind: answer %d %+v, want 503 retry later", a.Status, a.Body)
	}
	if rec := ins[1].entry.Snapshot(); countCalls(rec, http.MethodPost) != 0 || countCalls(rec, http.MethodGet) != 0 {
		t.Errorf("trigger behind: record %+v, want no call of its own", rec)
	}
	failedUnknown(t, await(t, ins[0], "head"), "head")
	if got := c.postCount(); got != 3 {
		t.Errorf("cattle got %d host creates, want the head's 3", got)
	}
}

// The rounds a trigger waited are counted per trigger ahead of it: when the head ends and the next takes its
// place, the third starts counting afresh, so it is not turned away for the rounds it spent behind the first.
// With every create cut, each of the three triggers makes its own 3 sends and ends "failed … unknown".
func TestScaleHostQueueBlockedRoundsCountPerHead(t *testing.T) {
	c := newHostCattle()
	c.set(func(c *hostCattle) { c.always = faultCut })
	f := newQueueFixture(t, c)
	ins := f.file(t, hostUp(1, 10), hostUp(1, 10), hostUp(1, 10))
	for i, in := range ins {
		what := "trigger " + string(rune('1'+i))
		failedUnknown(t, await(t, in, what), what)
		if rec := in.entry.Snapshot(); countCalls(rec, http.MethodPost) != 3 {
			t.Errorf("%s: %d POST hosts, want its own 3; record %+v", what, countCalls(rec, http.MethodPost), rec)
		}
	}
	if got := c.postCount(); got != 9 {
		t.Errorf("cattle got %d host creates, want 3 per trigger", got)
	}
}
