package scale

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

func up(n, lo, hi int) ServiceRequest {
	return ServiceRequest{Action: ActionUp, Amount: n, Min: lo, Max: hi}
}

func down(n, lo, hi int) ServiceRequest {
	return ServiceRequest{Action: ActionDown, Amount: n, Min: lo, Max: hi}
}

func scaled(from, to int) Decision { return Decision{Result: ResultScaled, From: from, To: to} }

func TestPlanServiceScale(t *testing.T) {
	tests := []struct {
		name    string
		current int
		reqs    []ServiceRequest
		want    []Decision
		target  int
	}{
		{name: "single up", current: 2, reqs: []ServiceRequest{up(1, 1, 5)}, want: []Decision{scaled(2, 3)}, target: 3},
		{name: "single down", current: 3, reqs: []ServiceRequest{down(2, 1, 5)}, want: []Decision{scaled(3, 1)}, target: 1},
		{name: "three triggers coalesce into one target", current: 2,
			reqs:   []ServiceRequest{up(1, 1, 10), up(1, 1, 10), up(1, 1, 10)},
			want:   []Decision{scaled(2, 3), scaled(3, 4), scaled(4, 5)},
			target: 5},
		{name: "FixesOriginal at max is a none decision per trigger, not a 400", current: 4,
			reqs:   []ServiceRequest{up(1, 1, 5), up(1, 1, 5), up(1, 1, 5)},
			want:   []Decision{scaled(4, 5), none(5, ReasonAtMax), none(5, ReasonAtMax)},
			target: 5},
		{name: "FixesOriginal up clamped to max instead of refused", current: 3, reqs: []ServiceRequest{up(5, 1, 5)},
			want: []Decision{{Result: ResultScaled, From: 3, To: 5, Reason: ReasonClampedToMax}}, target: 5},
		{name: "FixesOriginal down clamped to min instead of refused", current: 3, reqs: []ServiceRequest{down(5, 2, 5)},
			want: []Decision{{Result: ResultScaled, From: 3, To: 2, Reason: ReasonClampedToMin}}, target: 2},
		{name: "at min", current: 1, reqs: []ServiceRequest{down(1, 1, 5)}, want: []Decision{none(1, ReasonAtMin)}, target: 1},
		{name: "up and down in arrival order", current: 3,
			reqs:   []ServiceRequest{up(2, 1, 5), down(1, 1, 5), up(3, 1, 5)},
			want:   []Decision{scaled(3, 5), scaled(5, 4), {Result: ResultScaled, From: 4, To: 5, Reason: ReasonClampedToMax}},
			target: 5},
		{name: "each request clamps to its own bounds", current: 4,
			reqs:   []ServiceRequest{up(1, 1, 5), up(1, 1, 5), up(2, 1, 10)},
			want:   []Decision{scaled(4, 5), none(5, ReasonAtMax), scaled(5, 7)},
			target: 7},
		{name: "up never lowers a scale beyond max", current: 8, reqs: []ServiceRequest{up(1, 1, 5)},
			want: []Decision{none(8, ReasonAtMax)}, target: 8},
		{name: "down never raises a scale below min", current: 1, reqs: []ServiceRequest{down(1, 3, 5)},
			want: []Decision{none(1, ReasonAtMin)}, target: 1},
		{name: "down from beyond max moves by amount", current: 8, reqs: []ServiceRequest{down(1, 1, 5)},
			want: []Decision{scaled(8, 7)}, target: 7},
		{name: "up from below min moves by amount", current: 0, reqs: []ServiceRequest{up(1, 2, 5)},
			want: []Decision{scaled(0, 1)}, target: 1},
		{name: "min zero allows scale to zero", current: 1, reqs: []ServiceRequest{down(1, 0, 5)},
			want: []Decision{scaled(1, 0)}, target: 0},
		{name: "negative current counts as zero", current: -3, reqs: []ServiceRequest{up(1, 1, 5)},
			want: []Decision{scaled(0, 1)}, target: 1},
		{name: "invalid requests answer none with the validation message and change nothing", current: 2,
			reqs: []ServiceRequest{
				{Action: "sideways", Amount: 1, Min: 1, Max: 5}, up(0, 1, 5), up(1, 5, 5), up(1, -1, 5), up(1, 0, 0), up(1, 1, 5),
			},
			want: []Decision{
				none(2, "Invalid action sideways"), none(2, "Invalid amount: 0"), none(2, "Max must be greater than min"),
				none(2, "Minimum scale not provided/invalid"), none(2, "Maximum scale not provided/invalid"), scaled(2, 3),
			},
			target: 3},
		{name: "no requests", current: 4, want: []Decision{}, target: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PlanServiceScale(tt.current, tt.reqs)
			if !reflect.DeepEqual(p.Decisions, tt.want) {
				t.Fatalf("decisions = %+v\nwant        %+v", p.Decisions, tt.want)
			}
			from := max(tt.current, 0)
			if p.From != from || p.Target != tt.target || p.Changed != (tt.target != from) {
				t.Fatalf("plan From %d Target %d Changed %v, want %d %d %v", p.From, p.Target, p.Changed,
					from, tt.target, tt.target != from)
			}
		})
	}
}

// TestPlanServiceScaleCoalescingIsExact proves that deciding N queued triggers together gives the same answers
// and final scale as applying them one at a time (one PUT per trigger, as the original), so coalescing never
// loses or invents an increment.
func TestPlanServiceScaleCoalescingIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		current := rng.IntN(12)
		reqs := make([]ServiceRequest, 1+rng.IntN(30))
		for i := range reqs {
			lo := 1 + rng.IntN(4)
			r := ServiceRequest{Action: ActionUp, Amount: 1 + rng.IntN(3), Min: lo, Max: lo + 1 + rng.IntN(8)}
			if rng.IntN(2) == 0 {
				r.Action = ActionDown
			}
			reqs[i] = r
		}
		batch := PlanServiceScale(current, reqs)
		scale := current
		for i, r := range reqs {
			one := PlanServiceScale(scale, []ServiceRequest{r})
			if one.Decisions[0] != batch.Decisions[i] {
				t.Fatalf("round %d request %d: batch %+v, one by one %+v", round, i, batch.Decisions[i], one.Decisions[0])
			}
			scale = one.Target
		}
		if scale != batch.Target {
			t.Fatalf("round %d: batch target %d, one by one %d", round, batch.Target, scale)
		}
	}
}

func TestPlanServiceScaleThousandTriggers(t *testing.T) {
	reqs := make([]ServiceRequest, 1000)
	for i := range reqs {
		reqs[i] = up(1, 1, 2000)
	}
	p := PlanServiceScale(1, reqs)
	if p.Target != 1001 {
		t.Fatalf("1000 triggers of +1 from 1: target %d, want 1001", p.Target)
	}
	for i := range reqs {
		reqs[i].Max = 100
	}
	p = PlanServiceScale(1, reqs)
	scaledCount := 0
	for _, d := range p.Decisions {
		if d.Result == ResultScaled {
			scaledCount++
		} else if d.Reason != ReasonAtMax {
			t.Fatalf("unexpected decision %+v", d)
		}
	}
	if p.Target != 100 || scaledCount != 99 {
		t.Fatalf("bounded by max 100: target %d with %d scaled, want 100 and 99", p.Target, scaledCount)
	}
}

func TestActionReverse(t *testing.T) {
	if ActionUp.Reverse() != ActionDown || ActionDown.Reverse() != ActionUp || Action("x").Reverse() != "x" {
		t.Fatal("Reverse must swap up and down and keep anything else")
	}
	if !ActionUp.Valid() || !ActionDown.Valid() || Action("").Valid() || Action("UP").Valid() {
		t.Fatal("Valid must accept exactly up and down")
	}
}
