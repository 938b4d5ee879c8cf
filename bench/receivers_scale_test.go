package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattlesim"
)

// rcvScaleCase is one load shape: senders concurrent closed-loop senders spread round-robin over targets
// services.
type rcvScaleCase struct{ targets, senders int }

// rcvScaleCases: one sender on one service (no coalescing possible: the cost of the path itself), an alert storm
// on one service, and the same storm spread over eight services.
var rcvScaleCases = []rcvScaleCase{{targets: 1, senders: 1}, {targets: 1, senders: 64}, {targets: 8, senders: 64}}

// rcvScalePhase is how many operations go one way before the direction flips (up, then down, ...), so the
// number of running containers stays bounded whatever b.N is: cattlesim rescans a project's instances on every
// container change, and a world that grew with b.N would make later operations slower than earlier ones.
const rcvScalePhase = 100

// rcvScaleMax is the receivers' max: high enough never to be reached.
const rcvScaleMax = 1_000_000

// BenchmarkReceiversScaleService measures scaleService triggers through the running service on cattlesim (a bare
// POST of the trigger URL over HTTP, answered when the scale change is done), beside the limit: PUTs of scale
// sent straight to cattlesim by the same number of senders on the same services, each issued as soon as
// cattlesim accepts one (a service with a scale change in progress answers 409, so a direct client can only
// wait for it to finish, one change at a time per service). Each operation changes one service's scale by one,
// up for rcvScalePhase operations, then down, so the world stays the same size; every run ends by checking the
// services' final scales are exact. Compare triggers/s with puts/s of the same case; puts/op of the service path
// is Cattle PUTs per trigger from cattlesim's call log (the coalescing of triggers queued on one service).
func BenchmarkReceiversScaleService(b *testing.B) {
	for _, c := range rcvScaleCases {
		name := fmt.Sprintf("targets=%d/senders=%d", c.targets, c.senders)
		b.Run("service/"+name, func(b *testing.B) { rcvBenchScale(b, c, false) })
		b.Run("direct/"+name, func(b *testing.B) { rcvBenchScale(b, c, true) })
	}
}

func rcvBenchScale(b *testing.B, c rcvScaleCase, direct bool) {
	ctx := context.Background()
	sc, err := rcvNewScaler(b, c, direct)
	if err != nil {
		b.Fatal(err)
	}
	// Untimed warm-up: every sender's connection is opened and the direction flips once.
	if _, _, err := sc.run(ctx, 2*c.senders, c.senders); err != nil {
		b.Fatalf("warm-up: %v", err)
	}
	mark := sc.e.callMark()
	b.ResetTimer()
	lat, stats, err := sc.run(ctx, b.N, rcvScalePhase)
	b.StopTimer()
	end := sc.e.callMark()
	if err != nil {
		b.Fatal(err)
	}
	calls, err := sc.e.countCalls(mark, end, sc.isScalePUT)
	if err != nil {
		b.Fatal(err)
	}
	lat.report(b, "")
	rcvPerOp(b, calls.total, "calls/op")
	rcvPerOp(b, calls.get, "gets/op")
	rcvPerOp(b, calls.matched, "puts/op")
	if direct {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
		rcvPerOp(b, stats.conflicts, "conflicts/op")
	} else {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "triggers/s")
	}
}

// rcvScaler runs scale operations on its targets, through the service's triggers or straight to cattlesim.
type rcvScaler struct {
	e      *rcvEnv
	c      rcvScaleCase
	direct bool
	// scale[k] is target k's scale once every run so far is applied.
	scale   []int
	targets []*rcvScaleTarget
}

// rcvScaleTarget is one service, its up and down trigger URLs, and the lock that keeps the direct path to one
// change in flight per service.
type rcvScaleTarget struct {
	id       string
	up, down string
	mu       sync.Mutex
}

// rcvNewScaler starts a world of c.targets services whose scale leaves room for every sender's scale-down
// (none may reach min, so every answer is "scaled"), with one up and one down receiver per service.
func rcvNewScaler(tb testing.TB, c rcvScaleCase, direct bool) (*rcvScaler, error) {
	start := c.senders + 2
	e := rcvStart(tb, cattlesim.PopulateOptions{Services: c.targets, Scale: start})
	sc := &rcvScaler{e: e, c: c, direct: direct, scale: make([]int, c.targets)}
	ctx := context.Background()
	for k, id := range e.pop.Services {
		t := &rcvScaleTarget{id: id}
		for _, dir := range []string{"up", "down"} {
			_, url, err := e.createReceiver(ctx, fmt.Sprintf(`{"name":"bench-%s-%s","driver":"scaleService",`+
				`"scaleServiceConfig":{"serviceId":%q,"action":%q,"amount":1,"min":1,"max":%d}}`,
				dir, id, id, dir, rcvScaleMax))
			if err != nil {
				return nil, err
			}
			if dir == "up" {
				t.up = url
			} else {
				t.down = url
			}
		}
		sc.targets = append(sc.targets, t)
		sc.scale[k] = start
	}
	return sc, nil
}

// isScalePUT reports whether a logged call is a PUT on one of the targets.
func (sc *rcvScaler) isScalePUT(c cattlesim.Call) bool {
	if c.Method != http.MethodPut {
		return false
	}
	for _, t := range sc.targets {
		if strings.TrimSuffix(c.Path, "/") == rcvSimPath("services/"+t.id) {
			return true
		}
	}
	return false
}

// rcvScaleStats counts what the direct path had to do besides its PUTs.
type rcvScaleStats struct {
	conflicts int // PUTs answered 409 (none expected: the sender waits for the service to be settled)
}

// up says the direction of operation i: up for the first phase operations, down for the next phase, ...
func rcvScaleUp(i, phase int) bool { return (i/phase)%2 == 0 }

// run makes ops scale changes from c.senders closed-loop senders, operation i on target i % targets, and checks
// every target ends at exactly the scale the operations add up to. It returns each operation's latency.
func (sc *rcvScaler) run(ctx context.Context, ops, phase int) (rcvLatencies, rcvScaleStats, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*rcvTimeout)
	defer cancel()
	lat := make(rcvLatencies, ops)
	conflicts := make([]int, ops)
	jobs := make(chan int)
	errs := make(chan error, sc.c.senders)
	var wg sync.WaitGroup
	for range sc.c.senders {
		wg.Go(func() {
			for i := range jobs {
				t0 := time.Now()
				var err error
				if sc.direct {
					conflicts[i], err = sc.directOp(ctx, sc.targets[i%len(sc.targets)], rcvScaleUp(i, phase))
				} else {
					err = sc.triggerOp(ctx, sc.targets[i%len(sc.targets)], rcvScaleUp(i, phase))
				}
				lat[i] = time.Since(t0)
				if err != nil {
					errs <- fmt.Errorf("operation %d: %w", i, err)
					cancel()
					return
				}
			}
		})
	}
feed:
	for i := range ops {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, rcvScaleStats{}, err
	}
	var stats rcvScaleStats
	for i := range ops {
		stats.conflicts += conflicts[i]
		if rcvScaleUp(i, phase) {
			sc.scale[i%len(sc.targets)]++
		} else {
			sc.scale[i%len(sc.targets)]--
		}
	}
	return lat, stats, sc.checkScales(ctx)
}

// checkScales waits until every target is settled and fails unless its scale is exactly the expected one.
func (sc *rcvScaler) checkScales(ctx context.Context) error {
	for k, t := range sc.targets {
		s, err := sc.e.waitService(ctx, t.id, "settled", rcvService.settled)
		if err != nil {
			return err
		}
		if s.Scale != sc.scale[k] {
			return fmt.Errorf("service %s ends at scale %d, want exactly %d", t.id, s.Scale, sc.scale[k])
		}
	}
	return nil
}

// rcvScaleReply is the part of a trigger's answer the benchmark checks.
type rcvScaleReply struct {
	Result string `json:"result"`
	From   int    `json:"from"`
	To     int    `json:"to"`
	Reason string `json:"reason"`
}

// triggerOp POSTs the target's up or down trigger URL, as Alertmanager would, and checks the answer says the
// service was scaled by one.
func (sc *rcvScaler) triggerOp(ctx context.Context, t *rcvScaleTarget, up bool) error {
	url, step := t.down, -1
	if up {
		url, step = t.up, 1
	}
	a, err := sc.e.do(ctx, http.MethodPost, url, nil, []byte{})
	if err != nil {
		return err
	}
	var r rcvScaleReply
	if err := json.Unmarshal(a.Body, &r); err != nil {
		return fmt.Errorf("decode trigger answer %s: %w", a, err)
	}
	if a.Status != http.StatusOK || r.Result != "scaled" || r.To != r.From+step {
		return fmt.Errorf("trigger answered %s, want 200 scaled by %+d", a, step)
	}
	return nil
}

// directOp changes the target's scale by one with a PUT straight to cattlesim, the fastest a client that talks
// to Cattle can: it holds the service for itself (changes from several senders would overwrite each other), reads
// it until no process runs on it (polling every rcvPoll) and PUTs the read scale ± 1. It returns the PUTs
// cattlesim refused with 409.
func (sc *rcvScaler) directOp(ctx context.Context, t *rcvScaleTarget, up bool) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	step := -1
	if up {
		step = 1
	}
	var tick *time.Ticker
	conflicts := 0
	for {
		s, err := sc.e.service(ctx, t.id)
		if err != nil {
			return conflicts, err
		}
		if s.settled() {
			err := sc.e.simDo(ctx, http.MethodPut, rcvSimPath("services/"+t.id), map[string]any{"scale": s.Scale + step}, nil)
			if err == nil {
				return conflicts, nil
			}
			if !rcvIsStatus(err, http.StatusConflict) {
				return conflicts, err
			}
			conflicts++
		}
		if tick == nil {
			tick = time.NewTicker(rcvPoll)
			defer tick.Stop()
		}
		select {
		case <-ctx.Done():
			return conflicts, fmt.Errorf("service %s never settled: %w", t.id, ctx.Err())
		case <-tick.C:
		}
	}
}
