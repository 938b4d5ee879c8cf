package eventhub

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestResourceChangeCoalescedPerTick(t *testing.T) {
	e := newEnv(t, manual(Options{}))
	e.world.setAPIType("service", "1s1", "loadBalancerService")
	c := e.dial(query("1a5", false, "resource.change"))

	for i := range 1000 {
		e.world.set("service", "1s1", map[string]any{"v": i})
		e.hub.ResourceChanged("1a5", "service", "1s1")
	}
	e.hub.flush(nil)

	f := c.nextNonPing()
	if f.ev.Name != "resource.change" || f.ev.ResourceID != "1s1" || f.ev.ResourceType != "loadBalancerService" {
		t.Fatalf("unexpected event %s", f.raw)
	}
	if f.ev.ReplyTo != "" {
		t.Fatalf("resource.change must not carry replyTo: %s", f.raw)
	}
	if v := resourceOf(t, f)["v"]; v != float64(999) {
		t.Fatalf("data.resource.v = %v, want the latest state 999", v)
	}
	if n := e.world.renderCount("service", "1s1"); n != 1 {
		t.Fatalf("rendered %d times, want once per tick", n)
	}

	// A second tick with nothing pending sends nothing; the next event is
	// the one marked afterwards.
	e.hub.flush(nil)
	e.world.set("service", "1s2", map[string]any{})
	e.hub.ResourceChanged("1a5", "service", "1s2")
	e.hub.flush(nil)
	if f := c.nextNonPing(); f.ev.ResourceID != "1s2" {
		t.Fatalf("want only 1s2 next, got %s", f.raw)
	}
}

func TestResourceChangeGoneIsNotSent(t *testing.T) {
	e := newEnv(t, manual(Options{}))
	c := e.dial(query("1a5", false, "resource.change"))
	e.hub.ResourceChanged("1a5", "service", "1s404") // Render says ok=false
	e.hub.flush(nil)
	e.world.set("service", "1s3", map[string]any{})
	e.hub.ResourceChanged("1a5", "service", "1s3")
	e.hub.flush(nil)
	if f := c.nextNonPing(); f.ev.ResourceID != "1s3" {
		t.Fatalf("gone resource produced an event: %s", f.raw)
	}
	if n := e.world.renderCount("service", "1s404"); n != 1 {
		t.Fatalf("gone resource rendered %d times, want 1", n)
	}
}

func TestRenderPanicDoesNotKillHub(t *testing.T) {
	e := newEnv(t, manual(Options{}))
	c := e.dial(query("1a5", false, "resource.change"))
	e.world.set("service", "boom", map[string]any{"panic": true})
	e.hub.ResourceChanged("1a5", "service", "boom")
	e.hub.flush(nil)
	e.world.set("service", "1s4", map[string]any{})
	e.hub.ResourceChanged("1a5", "service", "1s4")
	e.hub.flush(nil)
	if f := c.nextNonPing(); f.ev.ResourceID != "1s4" {
		t.Fatalf("got %s", f.raw)
	}
}

func TestRunFlushesPeriodically(t *testing.T) {
	e := newEnv(t, Options{FlushInterval: 10 * time.Millisecond, PingInterval: time.Hour})
	c := e.dial(query("1a5", false, "resource.change"))

	// Callers mark changes while holding the same lock Render takes: the hub
	// must never call Render while ResourceChanged could be waiting on it.
	var mu sync.Mutex
	state := map[string]int{}
	e.world.mu.Lock()
	e.world.res["service/1s9"] = map[string]any{}
	e.world.mu.Unlock()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				e.world.mu.Lock()
				mu.Lock()
				state[fmt.Sprint(g)] = i
				mu.Unlock()
				e.hub.ResourceChanged("1a5", "service", "1s9")
				e.world.mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("ResourceChanged blocked (deadlock with Render?)")
	}
	f := c.nextNonPing()
	if f.ev.Name != "resource.change" || f.ev.ResourceID != "1s9" {
		t.Fatalf("got %s", f.raw)
	}
	var d map[string]json.RawMessage
	if err := json.Unmarshal(f.ev.Data, &d); err != nil || d["resource"] == nil {
		t.Fatalf("data %s: %v", f.ev.Data, err)
	}
}
