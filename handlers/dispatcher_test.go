package handlers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/rancher/scale-subscriber/events"
)

func TestDispatcherRegisterValidates(t *testing.T) {
	d := NewDispatcher()
	ok := func(context.Context, string) error { return nil }
	if err := d.Register("", ok); err == nil {
		t.Error("empty kind: want an error")
	}
	if err := d.Register("service", nil); err == nil {
		t.Error("nil reconciler: want an error")
	}
	if err := d.Register("service", ok); err != nil {
		t.Fatalf("register: %v", err)
	}
	if err := d.Register("service", ok); err == nil {
		t.Error("second reconciler for a kind: want an error")
	}
}

func TestDispatcherRoutesByKind(t *testing.T) {
	d := NewDispatcher()
	type call struct{ kind, id string }
	var mu sync.Mutex
	var calls []call
	type ctxKey struct{}
	for _, kind := range []string{"service", "host"} {
		if err := d.Register(kind, func(ctx context.Context, id string) error {
			if ctx.Value(ctxKey{}) != "v" {
				return errors.New("reconciler did not get the worker's context")
			}
			mu.Lock()
			calls = append(calls, call{kind, id})
			mu.Unlock()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.WithValue(context.Background(), ctxKey{}, "v")
	for _, key := range []string{"service:1s1", "host:1h2", "service:1s3"} {
		if err := d.Process(ctx, key); err != nil {
			t.Fatalf("process %s: %v", key, err)
		}
	}
	want := []call{{"service", "1s1"}, {"host", "1h2"}, {"service", "1s3"}}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("calls = %v, want %v", calls, want)
	}
	// Keys of a kind nobody reacts to (yet) are done at once.
	if err := d.Process(ctx, "receiver:1go1"); err != nil {
		t.Fatalf("unregistered kind: %v, want nil", err)
	}
	if len(calls) != 3 {
		t.Fatalf("an unregistered kind reached a reconciler: %v", calls)
	}
}

func TestDispatcherMalformedKeyIsPermanent(t *testing.T) {
	d := NewDispatcher()
	for _, key := range []string{"", "service", "service:", ":1s1"} {
		err := d.Process(context.Background(), key)
		if err == nil || !events.IsPermanent(err) {
			t.Errorf("Process(%q) = %v, want a permanent error (retrying cannot fix a key)", key, err)
		}
	}
}

func TestDispatcherWrapsReconcilerErrors(t *testing.T) {
	d := NewDispatcher()
	cause := errors.New("cattle said 503")
	perm := events.Permanent(errors.New("service is global"))
	if err := d.Register("service", func(_ context.Context, id string) error {
		if id == "1s2" {
			return perm
		}
		return cause
	}); err != nil {
		t.Fatal(err)
	}
	err := d.Process(context.Background(), "service:1s1")
	if !errors.Is(err, cause) || events.IsPermanent(err) {
		t.Fatalf("error %v: want the retryable cause wrapped", err)
	}
	if got := err.Error(); got != "reconcile service:1s1: cattle said 503" {
		t.Fatalf("error text %q", got)
	}
	if err := d.Process(context.Background(), "service:1s2"); !events.IsPermanent(err) {
		t.Fatalf("error %v: a permanent reconciler error must stay permanent through the wrap", err)
	}
}

// TestDispatcherRegisterWhileProcessing: reconcilers may register (receivers start late) while workers
// process keys; -race proves it is safe.
func TestDispatcherRegisterWhileProcessing(t *testing.T) {
	d := NewDispatcher()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				_ = d.Process(context.Background(), fmt.Sprintf("kind%d:%d", (w+i)%10, i))
			}
		}()
	}
	for k := range 10 {
		if err := d.Register(fmt.Sprintf("kind%d", k), func(context.Context, string) error { return nil }); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}
