package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rancher/scale-subscriber/app"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/cattlesim/eventhub"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/internal/simtest"
)

// Request event names registered by these tests; Cattle event names allow only *._0-9a-zA-Z;=.
const (
	replyOKEvent       = "scale.e2e.ok"
	replyFailEvent     = "scale.e2e.fail"
	replyPanicEvent    = "scale.e2e.panic"
	replyDeferredEvent = "scale.e2e.deferred"
	replyGiveUpEvent   = "scale.e2e.giveup"
)

// replyProbe records the ids of the request events the service's handlers saw, so replies can be matched to
// them the way Cattle does (previousIds[0]).
type replyProbe struct {
	ids chan string
}

func newReplyProbe() *replyProbe { return &replyProbe{ids: make(chan string, 16)} }

// wrap records ev.ID before running h. A request Cattle re-sends keeps its id, so a second record is harmless.
func (p *replyProbe) wrap(h events.Handler) events.Handler {
	return func(ctx context.Context, ev events.Event) error {
		select {
		case p.ids <- ev.ID:
		default:
		}
		return h(ctx, ev)
	}
}

// registerReplyHandlers installs one handler per outcome: immediate success, immediate error, panic, and two
// deferred ones answered by the worker that processes their key (one succeeds on its second attempt, one fails
// with an error that is not retryable).
func registerReplyHandlers(t *testing.T, a *app.App, p *replyProbe, deferredAttempts, giveUpAttempts *atomic.Int32) {
	t.Helper()
	keyOf := func(kind string) events.KeyFunc {
		return func(ev events.Event) (string, bool) { return events.Key(kind, ev.ResourceID), true }
	}
	handlers := map[string]events.Handler{
		replyOKEvent: func(context.Context, events.Event) error { return nil },
		replyFailEvent: func(_ context.Context, ev events.Event) error {
			return fmt.Errorf("scale %s %s: %w", ev.ResourceType, ev.ResourceID, errQuotaExceeded)
		},
		replyPanicEvent:    func(context.Context, events.Event) error { panic("handler bug") },
		replyDeferredEvent: events.EnqueueHandler(a.Queue(), a.Pending(), keyOf("e2edeferred")),
		replyGiveUpEvent:   events.EnqueueHandler(a.Queue(), a.Pending(), keyOf("e2egiveup")),
	}
	for name, h := range handlers {
		if err := a.Router().Register(name, p.wrap(h)); err != nil {
			t.Fatalf("register %s: %v", name, err)
		}
	}
	if err := a.Dispatcher().Register("e2edeferred", func(context.Context, string) error {
		if deferredAttempts.Add(1) == 1 {
			// What the cattle client returns for a 503: retryable.
			return &cattle.APIError{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: "cattle is busy"}
		}
		return nil
	}); err != nil {
		t.Fatalf("register e2edeferred reconciler: %v", err)
	}
	if err := a.Dispatcher().Register("e2egiveup", func(context.Context, string) error {
		giveUpAttempts.Add(1)
		// Marked permanent: retrying cannot fix it, so it is given up at once.
		return events.Permanent(errQuotaExceeded)
	}); err != nil {
		t.Fatalf("register e2egiveup reconciler: %v", err)
	}
}

var errQuotaExceeded = errors.New("quota exceeded")

// TestRequestEventsAreAnswered sends request events through cattlesim (POST /_sim/requests's Go form) to the
// running service and checks, in cattlesim's own publish log, that every reply carries the request's replyTo
// as name and its id as previousIds, with the outcome Cattle expects: success, error with the handler's message,
// progress keep-alives while a deferred request is retried.
func TestRequestEventsAreAnswered(t *testing.T) {
	sim := simtest.StartSim(t, simtest.SimOptions{})
	probe := newReplyProbe()
	var deferredAttempts, giveUpAttempts atomic.Int32
	svc := startE2EApp(t, sim, func(a *app.App) {
		registerReplyHandlers(t, a, probe, &deferredAttempts, &giveUpAttempts)
	})
	svc.WaitHealthy(t)
	web := sim.Info.Objects["1a5/service/web"]
	if web == "" {
		t.Fatalf("demo seed has no 1a5/service/web: %v", sim.Info.Objects)
	}

	cases := []struct {
		name string
		// wantErr is a substring of the error reply's message; empty means success.
		wantErr string
		// wantProgress is how many transitioning "yes" replies precede the final one.
		wantProgress int
		attempts     *atomic.Int32
		wantAttempts int32
	}{
		{name: replyOKEvent},
		{name: replyFailEvent, wantErr: "quota exceeded"},
		{name: replyPanicEvent, wantErr: "panic: handler bug"},
		{name: replyDeferredEvent, wantProgress: 1, attempts: &deferredAttempts, wantAttempts: 2},
		{name: replyGiveUpEvent, wantErr: "quota exceeded", attempts: &giveUpAttempts, wantAttempts: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, since := sim.Sim.CallsSince(0)
			ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
			defer cancel()
			final, err := sim.Sim.Request(ctx, cattlesim.DefaultProjectID, eventhub.Event{
				Name: tc.name, ResourceType: "service", ResourceID: web, TimeoutMillis: 10_000,
			})
			id := simtest.Recv(t, probe.ids, e2eTimeout, "request event at the service")

			var replyErr *eventhub.ReplyError
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("request %s: %v, want success", tc.name, err)
			case tc.wantErr != "" && !errors.As(err, &replyErr):
				t.Fatalf("request %s: %v, want an error reply", tc.name, err)
			case tc.wantErr != "" && !strings.Contains(final.TransitioningMessage, tc.wantErr):
				t.Fatalf("error reply message %q, want it to contain %q", final.TransitioningMessage, tc.wantErr)
			}
			if !slices.Equal(final.PreviousIDs, []string{id}) {
				t.Fatalf("final reply previousIds %v, want [%s]", final.PreviousIDs, id)
			}

			// cattlesim logs a publish before answering it, so the final reply is in the log once Request
			// returned; every earlier reply was published (synchronously) before it.
			var mine []eventhub.Reply
			for _, r := range e2ePublishes(t, sim.Sim, since) {
				if r.Name != final.Name || !slices.Equal(r.PreviousIDs, []string{id}) {
					t.Fatalf("publish %+v does not answer request %s (replyTo %s)", r, id, final.Name)
				}
				mine = append(mine, r)
			}
			if len(mine) != tc.wantProgress+1 {
				t.Fatalf("%d replies published for %s, want %d progress + 1 final: %+v", len(mine), id, tc.wantProgress, mine)
			}
			for i, r := range mine[:tc.wantProgress] {
				if r.Transitioning != events.TransitioningYes || !strings.Contains(r.TransitioningMessage, "cattle is busy") {
					t.Fatalf("reply %d = %+v, want a transitioning yes keep-alive naming the retried error", i, r)
				}
			}
			last := mine[len(mine)-1]
			wantTransitioning := []string{"", events.TransitioningNo}
			if tc.wantErr != "" {
				wantTransitioning = []string{events.TransitioningError}
			}
			if !slices.Contains(wantTransitioning, last.Transitioning) {
				t.Fatalf("final reply transitioning %q, want one of %q", last.Transitioning, wantTransitioning)
			}
			if last.ResourceType != "service" || last.ResourceID != web {
				t.Fatalf("final reply is about %s %s, want service %s", last.ResourceType, last.ResourceID, web)
			}
			if tc.attempts != nil {
				if got := tc.attempts.Load(); got != tc.wantAttempts {
					t.Fatalf("reconciler ran %d times, want %d", got, tc.wantAttempts)
				}
			}
			if n := svc.Pending().Len(); n != 0 {
				t.Fatalf("%d request events still pending after their reply", n)
			}
		})
	}
}

// TestEventsWithoutReplyToAreNotAnswered makes cattlesim send resource.change events (a scale-up creates
// containers) and application pings, neither of which carries a replyTo, and checks that the service published
// nothing for them. A request sent afterwards is the barrier: events are delivered in order and replies are
// published before the next event is handled, so once its reply is in, any reply to an earlier event would be too.
func TestEventsWithoutReplyToAreNotAnswered(t *testing.T) {
	sim := simtest.StartSim(t, simtest.SimOptions{})
	probe := newReplyProbe()
	var deferredAttempts, giveUpAttempts atomic.Int32
	svc := startE2EApp(t, sim, func(a *app.App) {
		registerReplyHandlers(t, a, probe, &deferredAttempts, &giveUpAttempts)
	})
	svc.WaitHealthy(t)
	web := sim.Info.Objects["1a5/service/web"]

	changesBefore := svc.Metric(t, "scale_subscriber_events_received_total", map[string]string{"name": "resource.change"})
	pingsBefore := svc.Metric(t, "scale_subscriber_events_received_total", map[string]string{"name": "ping"})
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	var current cattle.Service
	if err := sim.Do(ctx, http.MethodGet, "/v2-beta/projects/1a5/services/"+web, nil, &current); err != nil {
		t.Fatal(err)
	}
	want := current.Scale + 2
	if err := sim.Do(ctx, http.MethodPut, "/v2-beta/projects/1a5/services/"+web, map[string]any{"scale": want}, nil); err != nil {
		t.Fatal(err)
	}
	// The change reached the service through the event stream (the cache shows it) along with pings.
	what := fmt.Sprintf("scale %d of %s in the cache, with events and pings", want, web)
	simtest.Eventually(t, e2eTimeout, what, func() (bool, string) {
		s, ok := svc.Store().Service(web)
		changes := svc.Metric(t, "scale_subscriber_events_received_total", map[string]string{"name": "resource.change"})
		pings := svc.Metric(t, "scale_subscriber_events_received_total", map[string]string{"name": "ping"})
		return ok && s.Scale == want && changes > changesBefore && pings > pingsBefore,
			fmt.Sprintf("cached %t, %v resource.change and %v pings received", ok, changes, pings)
	})

	final, err := sim.Sim.Request(ctx, cattlesim.DefaultProjectID, eventhub.Event{
		Name: replyOKEvent, ResourceType: "service", ResourceID: web, TimeoutMillis: 10_000,
	})
	if err != nil {
		t.Fatalf("barrier request: %v", err)
	}
	id := simtest.Recv(t, probe.ids, e2eTimeout, "barrier request at the service")
	pubs := e2ePublishes(t, sim.Sim, 0)
	if len(pubs) != 1 || !slices.Equal(pubs[0].PreviousIDs, []string{id}) || pubs[0].Name != final.Name {
		t.Fatalf("publishes %+v, want exactly the barrier's reply (previousIds [%s])", pubs, id)
	}
}
