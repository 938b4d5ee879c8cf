package events

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

type failure struct {
	key string
	err error
}

// runWorkers starts w in the background and returns a stop function that
// cancels it and waits for Run to return.
func runWorkers(t *testing.T, w *Workers) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := simtest.Recv(t, done, 5*time.Second, "workers to stop"); err != nil {
				t.Errorf("Run = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func fastQueue(m *Metrics) *Queue {
	return NewQueue(QueueOptions{RetryBaseDelay: time.Millisecond, RetryMaxDelay: 4 * time.Millisecond, Metrics: m})
}

func TestWorkersRetryThenGiveUp(t *testing.T) {
	boom := errors.New("cattle 503")
	tests := []struct {
		name       string
		maxRetries int
		err        error
		retryable  func(error) bool
		wantCalls  int32
		wantRetry  float64
	}{
		{name: "retryable until max", maxRetries: 3, err: boom, wantCalls: 4, wantRetry: 3},
		{name: "no retries", maxRetries: -1, err: boom, wantCalls: 1},
		{name: "permanent reported at once", maxRetries: 3, err: Permanent(fmt.Errorf("get service: %w", boom)), wantCalls: 1},
		{
			name: "injected classifier", maxRetries: 3, err: boom, wantCalls: 1,
			retryable: func(err error) bool { return !errors.Is(err, boom) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, reg := newTestMetrics(t)
			q := fastQueue(m)
			var calls atomic.Int32
			failures := make(chan failure, 10)
			w, err := NewWorkers(WorkersOptions{
				Queue:      q,
				Count:      2,
				MaxRetries: tt.maxRetries,
				Retryable:  tt.retryable,
				Process: func(context.Context, string) error {
					calls.Add(1)
					return tt.err
				},
				OnFailure: func(key string, err error) { failures <- failure{key, err} },
				Metrics:   m,
			})
			if err != nil {
				t.Fatal(err)
			}
			stop := runWorkers(t, w)
			q.Add("service:1s1")
			f := simtest.Recv(t, failures, 5*time.Second, "failure report")
			if f.key != "service:1s1" || !errors.Is(f.err, boom) {
				t.Fatalf("failure = %+v", f)
			}
			stop()
			if got := calls.Load(); got != tt.wantCalls {
				t.Fatalf("processor calls = %d, want %d", got, tt.wantCalls)
			}
			select {
			case f := <-failures:
				t.Fatalf("failure reported twice: %+v", f)
			default:
			}
			if got := q.NumRequeues("service:1s1"); got != 0 {
				t.Fatalf("NumRequeues after giving up = %d, want 0 (forgotten)", got)
			}
			if got := simtest.Metric(t, reg, "scale_subscriber_queue_failures_total", nil); got != 1 {
				t.Fatalf("failures metric = %v, want 1", got)
			}
			if got := simtest.Metric(t, reg, "scale_subscriber_queue_retries_total", nil); got != tt.wantRetry {
				t.Fatalf("retries metric = %v, want %v", got, tt.wantRetry)
			}
		})
	}
}

func TestWorkersSuccessForgets(t *testing.T) {
	q := fastQueue(nil)
	var calls atomic.Int32
	succeeded := make(chan struct{})
	w, err := NewWorkers(WorkersOptions{
		Queue: q,
		Process: func(context.Context, string) error {
			if calls.Add(1) < 3 {
				return errors.New("conflict")
			}
			close(succeeded)
			return nil
		},
		OnFailure: func(key string, err error) { t.Errorf("unexpected failure %s: %v", key, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := runWorkers(t, w)
	q.Add("service:1")
	simtest.Recv(t, succeeded, 5*time.Second, "success after two retries")
	stop()
	if got := q.NumRequeues("service:1"); got != 0 {
		t.Fatalf("NumRequeues after success = %d, want 0", got)
	}
}

func TestWorkersRecoverPanic(t *testing.T) {
	m, reg := newTestMetrics(t)
	q := fastQueue(m)
	var calls atomic.Int32
	done := make(chan struct{})
	w, err := NewWorkers(WorkersOptions{
		Queue: q,
		// Panics are retried even when the classifier says nothing is.
		Retryable: func(error) bool { return false },
		Process: func(_ context.Context, key string) error {
			if calls.Add(1) == 1 {
				var m map[string]int
				m[key] = 1 // nil map write panics
			}
			close(done)
			return nil
		},
		OnFailure: func(key string, err error) { t.Errorf("unexpected failure %s: %v", key, err) },
		Metrics:   m,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := runWorkers(t, w)
	q.Add("host:1h1")
	simtest.Recv(t, done, 5*time.Second, "retry after panic")
	stop()
	if got := calls.Load(); got != 2 {
		t.Fatalf("processor calls = %d, want 2", got)
	}
	if got := simtest.Metric(t, reg, "scale_subscriber_handler_panics_total", nil); got != 1 {
		t.Fatalf("panics metric = %v, want 1", got)
	}
	if got := simtest.Metric(t, reg, "scale_subscriber_handler_duration_seconds", map[string]string{"name": "host"}); got != 2 {
		t.Fatalf("duration samples for kind host = %v, want 2", got)
	}
}

func TestWorkersPanicGivesUpAfterMaxRetries(t *testing.T) {
	q := fastQueue(nil)
	failures := make(chan failure, 1)
	w, err := NewWorkers(WorkersOptions{
		Queue:      q,
		MaxRetries: 2,
		Process:    func(context.Context, string) error { panic("always") },
		OnFailure:  func(key string, err error) { failures <- failure{key, err} },
	})
	if err != nil {
		t.Fatal(err)
	}
	runWorkers(t, w)
	q.Add("service:1")
	f := simtest.Recv(t, failures, 5*time.Second, "failure report")
	var pe *PanicError
	if !errors.As(f.err, &pe) || pe.Value != "always" || len(pe.Stack) == 0 {
		t.Fatalf("failure error = %#v, want *PanicError with stack", f.err)
	}
}

func TestWorkersDrainOnCancel(t *testing.T) {
	q := fastQueue(nil)
	gate := make(chan struct{})
	started := make(chan struct{}, 1)
	var mu sync.Mutex
	var processed []string
	w, err := NewWorkers(WorkersOptions{
		Queue: q,
		Count: 1,
		Process: func(ctx context.Context, key string) error {
			select {
			case started <- struct{}{}:
			default:
			}
			<-gate
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("process %s: %w", key, err)
			}
			mu.Lock()
			processed = append(processed, key)
			mu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		q.Add(fmt.Sprintf("service:%d", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	simtest.Recv(t, started, 5*time.Second, "first key to start")
	cancel()
	eventually(t, 5*time.Second, q.ShuttingDown, "queue shut down by Run")
	close(gate)
	if err := simtest.Recv(t, done, 5*time.Second, "Run to return"); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{"service:0", "service:1", "service:2", "service:3", "service:4"}
	if !reflect.DeepEqual(processed, want) {
		t.Fatalf("processed %v, want %v (drained with a live context)", processed, want)
	}
}

func TestWorkersDrainTimeoutCancelsProcessing(t *testing.T) {
	q := fastQueue(nil)
	started := make(chan struct{})
	w, err := NewWorkers(WorkersOptions{
		Queue:        q,
		Count:        1,
		DrainTimeout: 20 * time.Millisecond,
		Process: func(ctx context.Context, _ string) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		},
		OnFailure: func(key string, err error) { t.Errorf("shutdown must not be reported as failure: %s %v", key, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	q.Add("service:slow")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	simtest.Recv(t, started, 5*time.Second, "processing to start")
	cancel()
	if err := simtest.Recv(t, done, 5*time.Second, "Run to return after the drain timeout"); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestWorkersStopWhenQueueShutDown(t *testing.T) {
	q := fastQueue(nil)
	w, err := NewWorkers(WorkersOptions{Queue: q, Process: func(context.Context, string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	q.ShutDown()
	if err := simtest.Recv(t, done, 5*time.Second, "Run to return"); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestNewWorkersValidates(t *testing.T) {
	tests := []struct {
		name string
		opts WorkersOptions
	}{
		{name: "no queue", opts: WorkersOptions{Process: func(context.Context, string) error { return nil }}},
		{name: "no processor", opts: WorkersOptions{Queue: NewQueue(QueueOptions{})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewWorkers(tt.opts); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

// TestWorkersReplies runs request events through Router, EnqueueHandler,
// Pending and Workers and checks who gets which reply.
func TestWorkersReplies(t *testing.T) {
	tests := []struct {
		name       string
		events     []Event
		results    []error // processor results in order; nil after the list
		want       []Reply
		wantCalls  int32
		maxRetries int
	}{
		{
			name:      "success",
			events:    []Event{{ID: "e1", Name: "service.scale", ReplyTo: "reply.1", ResourceID: "1s1", ResourceType: "service"}},
			want:      []Reply{{Name: "reply.1", PreviousIDs: []string{"e1"}, ResourceID: "1s1", ResourceType: "service"}},
			wantCalls: 1,
		},
		{
			name:    "permanent error",
			events:  []Event{{ID: "e2", Name: "service.scale", ReplyTo: "reply.2", ResourceID: "1s1", ResourceType: "service"}},
			results: []error{Permanent(errors.New("service 1s1 not found"))},
			want: []Reply{{Name: "reply.2", PreviousIDs: []string{"e2"}, ResourceID: "1s1", ResourceType: "service",
				Transitioning: TransitioningError, TransitioningMessage: "service 1s1 not found"}},
			wantCalls: 1,
		},
		{
			name:    "retried then success sends keep-alive first",
			events:  []Event{{ID: "e3", Name: "service.scale", ReplyTo: "reply.3", ResourceID: "1s1", ResourceType: "service"}},
			results: []error{errors.New("409 conflict")},
			want: []Reply{
				{Name: "reply.3", PreviousIDs: []string{"e3"}, ResourceID: "1s1", ResourceType: "service",
					Transitioning: TransitioningYes, TransitioningMessage: "retrying: 409 conflict", TransitioningProgress: new(int)},
				{Name: "reply.3", PreviousIDs: []string{"e3"}, ResourceID: "1s1", ResourceType: "service"},
			},
			wantCalls: 2,
		},
		{
			name:      "no replyTo gets no reply",
			events:    []Event{{ID: "e4", Name: "service.scale", ResourceID: "1s1", ResourceType: "service"}},
			results:   []error{Permanent(errors.New("boom"))},
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := newRecordingPublisher()
			replier := newTestReplier(t, pub, nil)
			pending, err := NewPending(PendingOptions{Replier: replier})
			if err != nil {
				t.Fatal(err)
			}
			q := fastQueue(nil)
			router := NewRouter(RouterOptions{Replier: replier})
			keyOf := func(ev Event) (string, bool) { return Key(ev.ResourceType, ev.ResourceID), ev.ResourceID != "" }
			if err := router.Register("service.scale", EnqueueHandler(q, pending, keyOf)); err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int32
			finished := make(chan struct{}, 10)
			w, err := NewWorkers(WorkersOptions{
				Queue:   q,
				Pending: pending,
				Process: func(context.Context, string) error {
					n := int(calls.Add(1))
					var res error
					if n <= len(tt.results) {
						res = tt.results[n-1]
					}
					if res == nil || IsPermanent(res) {
						finished <- struct{}{}
					}
					return res
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range tt.events {
				router.Deliver(context.Background(), ev)
			}
			if len(pub.all()) != 0 {
				t.Fatal("router must not reply to deferred events")
			}
			stop := runWorkers(t, w)
			simtest.Recv(t, finished, 5*time.Second, "final processing")
			eventually(t, 5*time.Second, func() bool { return len(pub.all()) >= len(tt.want) }, "replies")
			stop()
			got := pub.all()
			for i := range got {
				got[i].Time = 0
			}
			if len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
				t.Fatalf("replies\n got %+v\nwant %+v", got, tt.want)
			}
			if c := calls.Load(); c != tt.wantCalls {
				t.Fatalf("processor calls = %d, want %d", c, tt.wantCalls)
			}
			if pending.Len() != 0 {
				t.Fatalf("pending events left: %d", pending.Len())
			}
		})
	}
}

// TestWorkersRepliesCoalesce checks that one processing answers every
// request held for the key when it started, and that a request arriving
// during processing waits for the next round.
func TestWorkersRepliesCoalesce(t *testing.T) {
	pub := newRecordingPublisher()
	replier := newTestReplier(t, pub, nil)
	pending, err := NewPending(PendingOptions{Replier: replier})
	if err != nil {
		t.Fatal(err)
	}
	q := fastQueue(nil)
	h := EnqueueHandler(q, pending, func(ev Event) (string, bool) { return "service:1s1", true })
	req := func(id string) Event { return Event{ID: id, Name: "service.scale", ReplyTo: "reply." + id} }

	ctx := context.Background()
	for _, id := range []string{"a", "b", "a"} { // "a" re-sent by Cattle: held once
		if err := h(ctx, req(id)); !errors.Is(err, ErrDeferred) {
			t.Fatalf("handler = %v, want ErrDeferred", err)
		}
	}
	if pending.Len() != 2 {
		t.Fatalf("pending = %d, want 2", pending.Len())
	}

	inFirst := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int32
	w, err := NewWorkers(WorkersOptions{
		Queue:   q,
		Pending: pending,
		Process: func(context.Context, string) error {
			if calls.Add(1) == 1 {
				close(inFirst)
				<-release
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := runWorkers(t, w)
	simtest.Recv(t, inFirst, 5*time.Second, "first processing")
	if err := h(ctx, req("c")); !errors.Is(err, ErrDeferred) {
		t.Fatalf("handler = %v", err)
	}
	close(release)
	eventually(t, 5*time.Second, func() bool { return len(pub.all()) == 3 }, "three replies")
	eventually(t, 5*time.Second, func() bool { return calls.Load() == 2 }, "second processing for c")
	stop()
	var order []string
	for _, r := range pub.all() {
		order = append(order, r.PreviousIDs[0])
	}
	if !reflect.DeepEqual(order, []string{"a", "b", "c"}) {
		t.Fatalf("reply order = %v, want [a b c]", order)
	}
}

func TestPendingLimits(t *testing.T) {
	pub := newRecordingPublisher()
	pending, err := NewPending(PendingOptions{Replier: newTestReplier(t, pub, nil), MaxEvents: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"1", "2"} {
		if err := pending.Add("k", Event{ID: id, ReplyTo: "reply." + id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pending.Add("k", Event{ID: "3", ReplyTo: "reply.3"}); !errors.Is(err, ErrPendingFull) {
		t.Fatalf("Add beyond MaxEvents = %v, want ErrPendingFull", err)
	}
	if err := pending.Add("k", Event{ID: "4"}); err != nil {
		t.Fatalf("event without replyTo must be ignored, got %v", err)
	}
	if _, err := NewPending(PendingOptions{}); err == nil {
		t.Fatal("NewPending without replier must fail")
	}

	// A full Pending makes the router answer with an error at once.
	q := fastQueue(nil)
	router := NewRouter(RouterOptions{Replier: newTestReplier(t, pub, nil)})
	if err := router.Register("x", EnqueueHandler(q, pending, func(Event) (string, bool) { return "k", true })); err != nil {
		t.Fatal(err)
	}
	router.Deliver(context.Background(), Event{ID: "5", Name: "x", ReplyTo: "reply.5"})
	got := pub.all()
	if len(got) != 1 || got[0].Transitioning != TransitioningError || got[0].PreviousIDs[0] != "5" {
		t.Fatalf("replies = %+v, want one error reply for event 5", got)
	}
	if q.Len() != 0 {
		t.Fatal("refused request must not be queued")
	}
}

func TestEnqueueHandler(t *testing.T) {
	q := NewQueue(QueueOptions{})
	h := EnqueueHandler(q, nil, func(ev Event) (string, bool) {
		if ev.ResourceType != "service" {
			return "", false
		}
		return Key("service", ev.ResourceID), true
	})
	ctx := context.Background()
	for _, ev := range []Event{
		{Name: "resource.change", ResourceType: "service", ResourceID: "1s1"},
		{Name: "resource.change", ResourceType: "container", ResourceID: "1i1"},
		{Name: "resource.change", ResourceType: "service", ResourceID: "1s1"},
		{Name: "x", ResourceType: "service", ResourceID: "1s2", ReplyTo: "reply.1"},
	} {
		if err := h(ctx, ev); err != nil {
			t.Fatalf("handler: %v", err)
		}
	}
	if got := getN(t, q, 2); !reflect.DeepEqual(got, []string{"service:1s1", "service:1s2"}) {
		t.Fatalf("queued %v", got)
	}
	q.ShutDown()
	err := h(ctx, Event{Name: "resource.change", ResourceType: "service", ResourceID: "1s3"})
	if !errors.Is(err, ErrQueueShutDown) {
		t.Fatalf("handler after shutdown = %v, want ErrQueueShutDown", err)
	}
}
