package scale

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func withCooldown(r ServiceRequest, receiver string, seconds int) ServiceRequest {
	r.Receiver, r.CooldownSeconds = receiver, seconds
	return r
}

func TestCooldownPlanAndCommit(t *testing.T) {
	c := NewCooldown(0)
	a := withCooldown(up(1, 1, 10), "1go1", 60)
	b := withCooldown(up(1, 1, 10), "1go2", 60)
	plain := up(1, 1, 10)

	// One batch: the first trigger of a receiver scales, its later ones in the same batch cool down; other
	// receivers and receivers without a cooldown are not held back.
	reqs := []ServiceRequest{a, a, b, plain, plain}
	p := c.Plan(2, reqs, t0)
	want := []Decision{scaled(2, 3), none(3, ReasonCoolingDown), scaled(3, 4), scaled(4, 5), scaled(5, 6)}
	if !reflect.DeepEqual(p.Decisions, want) {
		t.Fatalf("decisions = %+v\nwant        %+v", p.Decisions, want)
	}

	// Without Commit (the PUT failed) nothing cools down: the retry acts.
	if p2 := c.Plan(2, []ServiceRequest{a}, t0.Add(time.Second)); p2.Decisions[0].Result != ResultScaled {
		t.Fatalf("uncommitted plan must not start a cooldown: %+v", p2.Decisions[0])
	}
	c.Commit(reqs, p, t0)
	if got := c.Remaining("1go1", t0.Add(20*time.Second)); got != 40*time.Second {
		t.Fatalf("Remaining = %v, want 40s", got)
	}

	tests := []struct {
		at   time.Duration
		req  ServiceRequest
		want Decision
	}{
		{at: 30 * time.Second, req: a, want: none(6, ReasonCoolingDown)},
		{at: 30 * time.Second, req: b, want: none(6, ReasonCoolingDown)},
		{at: 30 * time.Second, req: plain, want: scaled(6, 7)},
		{at: 59 * time.Second, req: a, want: none(6, ReasonCoolingDown)},
		{at: 60 * time.Second, req: a, want: scaled(6, 7)},
		{at: 30 * time.Second, req: withCooldown(up(1, 1, 10), "1go1", 0), want: scaled(6, 7)},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v %s/%d", tt.at, tt.req.Receiver, tt.req.CooldownSeconds), func(t *testing.T) {
			got := c.Plan(6, []ServiceRequest{tt.req}, t0.Add(tt.at))
			if got.Decisions[0] != tt.want {
				t.Fatalf("decision = %+v, want %+v", got.Decisions[0], tt.want)
			}
		})
	}
}

func TestCooldownOnlyStartsWhenScaled(t *testing.T) {
	c := NewCooldown(0)
	a := withCooldown(up(1, 1, 5), "1go1", 60)
	reqs := []ServiceRequest{a}
	p := c.Plan(5, reqs, t0) // at max: changes nothing
	c.Commit(reqs, p, t0)
	if c.Remaining("1go1", t0) != 0 || c.Len() != 0 {
		t.Fatal("a none decision must not start a cooldown")
	}
}

func TestCooldownMemoryIsBounded(t *testing.T) {
	c := NewCooldown(3)
	for i := range 10 {
		r := withCooldown(up(1, 1, 100), fmt.Sprintf("r%d", i), 100+i)
		reqs := []ServiceRequest{r}
		c.Commit(reqs, c.Plan(1, reqs, t0), t0)
		if c.Len() > 3 {
			t.Fatalf("Len = %d after %d commits, want <= 3", c.Len(), i+1)
		}
	}
	// The entries ending last are kept.
	for i, want := range map[int]bool{9: true, 8: true, 7: true, 6: false, 0: false} {
		if got := c.Remaining(fmt.Sprintf("r%d", i), t0) > 0; got != want {
			t.Fatalf("r%d remembered = %v, want %v", i, got, want)
		}
	}
	// Expired entries are dropped at the next commit.
	r := withCooldown(up(1, 1, 100), "late", 10)
	c.Commit([]ServiceRequest{r}, c.Plan(1, []ServiceRequest{r}, t0.Add(time.Hour)), t0.Add(time.Hour))
	if c.Len() != 1 {
		t.Fatalf("Len = %d after the others expired, want 1", c.Len())
	}
}

func TestCooldownConcurrentUse(t *testing.T) {
	c := NewCooldown(8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				r := withCooldown(up(1, 1, 100), fmt.Sprintf("r%d", (g+i)%16), 1)
				reqs := []ServiceRequest{r}
				now := t0.Add(time.Duration(i) * time.Millisecond)
				c.Commit(reqs, c.Plan(1, reqs, now), now)
				_ = c.Remaining(r.Receiver, now)
			}
		}()
	}
	wg.Wait()
	if c.Len() > 8 {
		t.Fatalf("Len = %d, want <= 8", c.Len())
	}
}
