package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

func getN(t *testing.T, q *Queue, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for range n {
		k, shutdown := q.Get()
		if shutdown {
			t.Fatalf("unexpected shutdown after %v", out)
		}
		out = append(out, k)
	}
	return out
}

func TestQueueDedupAndFIFO(t *testing.T) {
	q := NewQueue(QueueOptions{})
	for _, k := range []string{"service:1", "host:2", "service:1", "service:3", "host:2", "service:1"} {
		q.Add(k)
	}
	if got := q.Len(); got != 3 {
		t.Fatalf("Len = %d, want 3", got)
	}
	got := getN(t, q, 3)
	want := []string{"service:1", "host:2", "service:3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
	if q.Len() != 0 {
		t.Fatalf("Len after Get = %d", q.Len())
	}
}

func TestQueueDirtyRequeue(t *testing.T) {
	q := NewQueue(QueueOptions{})
	q.Add("service:1")
	k, _ := q.Get()

	// Added twice while in flight: not handed out again, held once.
	q.Add(k)
	q.Add(k)
	if q.Len() != 0 {
		t.Fatalf("key in flight must not wait in the queue, Len = %d", q.Len())
	}
	q.Add("service:2")
	if got := getN(t, q, 1)[0]; got != "service:2" {
		t.Fatalf("Get = %q, want service:2 (service:1 is in flight)", got)
	}

	q.Done(k)
	if q.Len() != 1 {
		t.Fatalf("dirty key must be re-queued on Done, Len = %d", q.Len())
	}
	if got := getN(t, q, 1)[0]; got != k {
		t.Fatalf("Get = %q, want %q", got, k)
	}
	q.Done(k)
	q.Done("service:2")
	if q.Len() != 0 {
		t.Fatalf("key not dirty must not come back, Len = %d", q.Len())
	}
}

// TestQueueNoConcurrentProcessing hammers the queue and checks the two core
// guarantees: a key is never processed by two workers at once, and every Add
// is followed by a processing of its key that started after it.
func TestQueueNoConcurrentProcessing(t *testing.T) {
	const (
		keys      = 10
		producers = 16
		adds      = 2000
		workers   = 8
	)
	q := NewQueue(QueueOptions{})
	var (
		seq       atomic.Int64
		inflight  [keys]atomic.Int32
		maxSeen   atomic.Int32
		mu        sync.Mutex
		lastAdd   = map[string]int64{}
		lastStart = map[string]int64{}
	)
	keyName := func(i int) string { return fmt.Sprintf("service:%d", i) }

	var wwg sync.WaitGroup
	for range workers {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			for {
				k, shutdown := q.Get()
				if shutdown {
					return
				}
				s := seq.Add(1)
				var idx int
				if _, err := fmt.Sscanf(k, "service:%d", &idx); err != nil {
					t.Errorf("bad key %q", k)
				}
				n := inflight[idx].Add(1)
				for {
					m := maxSeen.Load()
					if n <= m || maxSeen.CompareAndSwap(m, n) {
						break
					}
				}
				mu.Lock()
				lastStart[k] = s
				mu.Unlock()
				inflight[idx].Add(-1)
				q.Done(k)
			}
		}()
	}

	var pwg sync.WaitGroup
	for p := range producers {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for i := range adds {
				k := keyName((p + i) % keys)
				s := seq.Add(1)
				q.Add(k)
				mu.Lock()
				if s > lastAdd[k] {
					lastAdd[k] = s
				}
				mu.Unlock()
				if got := q.Len(); got > keys {
					t.Errorf("Len = %d exceeds distinct keys %d", got, keys)
					return
				}
			}
		}()
	}
	pwg.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.ShutDownWithDrain(ctx); err != nil {
		t.Fatalf("drain: %v", err)
	}
	wwg.Wait()

	if m := maxSeen.Load(); m != 1 {
		t.Fatalf("max concurrent processing of one key = %d, want 1", m)
	}
	for i := range keys {
		k := keyName(i)
		if lastStart[k] <= lastAdd[k] {
			t.Errorf("%s: last processing started at %d, before its last add at %d", k, lastStart[k], lastAdd[k])
		}
	}
}

func TestQueueStormIsBounded(t *testing.T) {
	q := NewQueue(QueueOptions{})
	for i := range 100_000 {
		q.Add(fmt.Sprintf("host:%d", i%10))
	}
	if got := q.Len(); got != 10 {
		t.Fatalf("Len = %d after 100k adds on 10 keys, want 10", got)
	}
	for i := range 100_000 {
		q.AddAfter(fmt.Sprintf("host:%d", i%10), time.Hour)
	}
	q.mu.Lock()
	delayed := len(q.delayed)
	q.mu.Unlock()
	if delayed != 10 {
		t.Fatalf("delayed timers = %d, want 10", delayed)
	}
	q.ShutDown()
}

func TestQueueAddAfter(t *testing.T) {
	q := NewQueue(QueueOptions{})
	defer q.ShutDown()

	q.AddAfter("service:1", time.Hour)
	if q.Len() != 0 {
		t.Fatal("delayed key must not be waiting yet")
	}
	// A later schedule does not postpone; an earlier one takes over.
	q.AddAfter("service:1", 2*time.Hour)
	q.AddAfter("service:1", time.Millisecond)
	eventually(t, 2*time.Second, func() bool { return q.Len() == 1 }, "delayed key becomes ready")

	q.AddAfter("service:2", 0)
	if q.Len() != 2 {
		t.Fatalf("AddAfter with no delay must add at once, Len = %d", q.Len())
	}
	if got := getN(t, q, 2); got[0] != "service:1" || got[1] != "service:2" {
		t.Fatalf("order = %v", got)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.delayed) != 0 {
		t.Fatalf("fired timers must be forgotten, have %d", len(q.delayed))
	}
}

func TestQueueRateLimitedBackoff(t *testing.T) {
	q := NewQueue(QueueOptions{RetryBaseDelay: 5 * time.Millisecond, RetryMaxDelay: time.Second})
	defer q.ShutDown()
	tests := []struct {
		n    int
		want time.Duration
	}{
		{1, 5 * time.Millisecond},
		{2, 10 * time.Millisecond},
		{3, 20 * time.Millisecond},
		{8, 640 * time.Millisecond},
		{9, time.Second},
		{200, time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			q.mu.Lock()
			got := q.retryDelayLocked(tt.n)
			q.mu.Unlock()
			if got != tt.want {
				t.Fatalf("delay after %d failures = %v, want %v", tt.n, got, tt.want)
			}
		})
	}
}

func TestQueueAddRateLimitedAndForget(t *testing.T) {
	m, reg := newTestMetrics(t)
	q := NewQueue(QueueOptions{RetryBaseDelay: time.Millisecond, RetryMaxDelay: 4 * time.Millisecond, Metrics: m})
	defer q.ShutDown()

	for i := 1; i <= 3; i++ {
		q.AddRateLimited("service:1")
		if got := q.NumRequeues("service:1"); got != i {
			t.Fatalf("NumRequeues = %d, want %d", got, i)
		}
		k := recvKey(t, q)
		if k != "service:1" {
			t.Fatalf("Get = %q", k)
		}
		q.Done(k)
	}
	if got := simtest.Metric(t, reg, "scale_subscriber_queue_retries_total", nil); got != 3 {
		t.Fatalf("retries metric = %v, want 3", got)
	}
	q.Forget("service:1")
	if got := q.NumRequeues("service:1"); got != 0 {
		t.Fatalf("NumRequeues after Forget = %d", got)
	}
	q.AddRateLimited("service:1")
	if got := q.NumRequeues("service:1"); got != 1 {
		t.Fatalf("NumRequeues after Forget and a new failure = %d, want 1", got)
	}
}

// recvKey Gets with a deadline, for keys that arrive through timers.
func recvKey(t *testing.T, q *Queue) string {
	t.Helper()
	ch := make(chan string, 1)
	go func() {
		k, _ := q.Get()
		ch <- k
	}()
	return simtest.Recv(t, ch, 2*time.Second, "a key from the queue")
}

func TestQueueShutDownWithDrain(t *testing.T) {
	q := NewQueue(QueueOptions{})
	for i := range 5 {
		q.Add(fmt.Sprintf("service:%d", i))
	}
	q.AddAfter("service:late", time.Hour)

	gate := make(chan struct{})
	var processed []string
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		for {
			k, shutdown := q.Get()
			if shutdown {
				return
			}
			<-gate
			processed = append(processed, k)
			q.Done(k)
		}
	}()

	drainErr := make(chan error, 1)
	go func() { drainErr <- q.ShutDownWithDrain(context.Background()) }()
	eventually(t, 2*time.Second, q.ShuttingDown, "queue shutting down")
	q.Add("service:after-shutdown")
	q.AddRateLimited("service:after-shutdown")
	select {
	case err := <-drainErr:
		t.Fatalf("drain returned before the work was done: %v", err)
	default:
	}
	close(gate)
	if err := simtest.Recv(t, drainErr, 2*time.Second, "drain"); err != nil {
		t.Fatalf("drain: %v", err)
	}
	simtest.Recv(t, workerDone, 2*time.Second, "worker exit")
	if len(processed) != 5 {
		t.Fatalf("processed %v, want the 5 keys queued before shutdown", processed)
	}
}

func TestQueueShutDownWithDrainTimeout(t *testing.T) {
	q := NewQueue(QueueOptions{})
	q.Add("service:stuck")
	q.Add("service:waiting")
	if k, _ := q.Get(); k != "service:stuck" {
		t.Fatalf("Get = %q", k)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := q.ShutDownWithDrain(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("drain with a stuck key = %v, want deadline exceeded", err)
	}
	if k, shutdown := q.Get(); !shutdown {
		t.Fatalf("Get after hard shutdown = %q, want shutdown", k)
	}
	q.Done("service:stuck")
}

func TestQueueShutDown(t *testing.T) {
	q := NewQueue(QueueOptions{})
	got := make(chan bool, 1)
	go func() {
		_, shutdown := q.Get()
		got <- shutdown
	}()
	q.ShutDown()
	if !simtest.Recv(t, got, 2*time.Second, "blocked Get to return") {
		t.Fatal("Get must report shutdown")
	}
	q.Add("service:1")
	if q.Len() != 0 {
		t.Fatal("Add after ShutDown must be ignored")
	}
}

func TestQueueShutDownDiscardsWaiting(t *testing.T) {
	m, reg := newTestMetrics(t)
	q := NewQueue(QueueOptions{Metrics: m})
	q.Add("service:1")
	q.Add("service:2")
	if got := simtest.Metric(t, reg, "scale_subscriber_queue_depth", nil); got != 2 {
		t.Fatalf("depth gauge = %v, want 2", got)
	}
	q.ShutDown()
	if q.Len() != 0 {
		t.Fatalf("Len after ShutDown = %d", q.Len())
	}
	if _, shutdown := q.Get(); !shutdown {
		t.Fatal("Get after ShutDown must report shutdown")
	}
	if got := simtest.Metric(t, reg, "scale_subscriber_queue_depth", nil); got != 0 {
		t.Fatalf("depth gauge = %v, want 0", got)
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		key      string
		kind, id string
		ok       bool
	}{
		{key: Key("service", "1s12"), kind: "service", id: "1s12", ok: true},
		{key: "hostgroup:a:b", kind: "hostgroup", id: "a:b", ok: true},
		{key: "nocolon"},
		{key: ":1s1"},
		{key: "service:"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			kind, id, ok := SplitKey(tt.key)
			if kind != tt.kind || id != tt.id || ok != tt.ok {
				t.Fatalf("SplitKey(%q) = %q, %q, %v", tt.key, kind, id, ok)
			}
		})
	}
}
