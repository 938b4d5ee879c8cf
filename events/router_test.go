package events

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

func TestRouterDispatch(t *testing.T) {
	m, reg := newTestMetrics(t)
	r := NewRouter(RouterOptions{Metrics: m})
	var mu sync.Mutex
	var calls []string
	record := func(tag string) Handler {
		return func(_ context.Context, ev Event) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, tag+":"+ev.ID)
			return nil
		}
	}
	for name, tag := range map[string]string{
		"resource.change":                   "rc",
		"physicalhost.create":               "phc",
		"service.upgrade;handler=scale-sub": "exact",
	} {
		if err := r.Register(name, record(tag)); err != nil {
			t.Fatalf("register %s: %v", name, err)
		}
	}
	ctx := context.Background()
	for _, ev := range []Event{
		{ID: "1", Name: "resource.change"},
		{ID: "2", Name: "physicalhost.create;handler=goMachineService"},
		{ID: "3", Name: "service.upgrade;handler=scale-sub"},
		{ID: "4", Name: "ping"},
		{ID: "5", Name: "instance.start"},
		{ID: "6", Name: "instance.start"},
		{ID: "7", Name: "service.upgrade"},
	} {
		r.Deliver(ctx, ev)
	}
	want := []string{"rc:1", "phc:2", "exact:3"}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls = %v, want %v", calls, want)
	}
	if got := simtest.Metric(t, reg, "scale_subscriber_events_unhandled_total", nil); got != 3 {
		t.Fatalf("unhandled metric = %v, want 3", got)
	}
	if got := simtest.Metric(t, reg, "scale_subscriber_handler_duration_seconds", map[string]string{"name": "resource.change"}); got != 1 {
		t.Fatalf("duration samples for resource.change = %v, want 1", got)
	}
	if got := r.EventNames(); !reflect.DeepEqual(got, []string{"physicalhost.create", "resource.change", "service.upgrade;handler=scale-sub"}) {
		t.Fatalf("EventNames = %v", got)
	}
}

func TestRouterUnknownNamesLoggedOnce(t *testing.T) {
	r := NewRouter(RouterOptions{})
	for range 3 {
		r.Deliver(context.Background(), Event{ID: "x", Name: "instance.start"})
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.unknown) != 1 {
		t.Fatalf("remembered unknown names = %d, want 1", len(r.unknown))
	}
}

func TestRouterUnknownNamesBounded(t *testing.T) {
	r := NewRouter(RouterOptions{})
	for i := range maxUnknownNames * 2 {
		r.Deliver(context.Background(), Event{ID: "x", Name: fmt.Sprintf("thing%d.create", i)})
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.unknown) != maxUnknownNames {
		t.Fatalf("remembered unknown names = %d, want cap %d", len(r.unknown), maxUnknownNames)
	}
}

func TestRouterRegisterErrors(t *testing.T) {
	r := NewRouter(RouterOptions{})
	noop := func(context.Context, Event) error { return nil }
	if err := r.Register("", noop); err == nil {
		t.Error("empty name must be rejected")
	}
	if err := r.Register("x", nil); err == nil {
		t.Error("nil handler must be rejected")
	}
	if err := r.Register("x", noop); err != nil {
		t.Fatalf("first register: %v", err)
	}
	if err := r.Register("x", noop); err == nil {
		t.Error("duplicate register must be rejected")
	}
	// The built-in ping handler may be replaced, once.
	pinged := false
	if err := r.Register(PingEventName, func(context.Context, Event) error { pinged = true; return nil }); err != nil {
		t.Fatalf("replace ping: %v", err)
	}
	if err := r.Register(PingEventName, noop); err == nil {
		t.Error("second ping register must be rejected")
	}
	r.Deliver(context.Background(), Event{Name: "ping"})
	if !pinged {
		t.Error("replacement ping handler not called")
	}
}

func TestRouterReplies(t *testing.T) {
	boom := errors.New("scale failed")
	tests := []struct {
		name      string
		ev        Event
		handler   Handler
		want      *Reply
		wantPanic float64
	}{
		{
			name:    "success",
			ev:      Event{ID: "e1", Name: "service.scale", ReplyTo: "reply.1"},
			handler: func(context.Context, Event) error { return nil },
			want:    &Reply{Name: "reply.1", PreviousIDs: []string{"e1"}},
		},
		{
			name:    "error",
			ev:      Event{ID: "e2", Name: "service.scale", ReplyTo: "reply.2"},
			handler: func(context.Context, Event) error { return fmt.Errorf("scale 1s1: %w", boom) },
			want: &Reply{Name: "reply.2", PreviousIDs: []string{"e2"}, Transitioning: TransitioningError,
				TransitioningMessage: "scale 1s1: scale failed"},
		},
		{
			name:    "panic",
			ev:      Event{ID: "e3", Name: "service.scale", ReplyTo: "reply.3"},
			handler: func(context.Context, Event) error { panic("nil map") },
			want: &Reply{Name: "reply.3", PreviousIDs: []string{"e3"}, Transitioning: TransitioningError,
				TransitioningMessage: "panic: nil map", TransitioningInternalMessage: "panic"},
			wantPanic: 1,
		},
		{
			name:    "deferred",
			ev:      Event{ID: "e4", Name: "service.scale", ReplyTo: "reply.4"},
			handler: func(context.Context, Event) error { return ErrDeferred },
		},
		{
			name:    "no replyTo success",
			ev:      Event{ID: "e5", Name: "service.scale"},
			handler: func(context.Context, Event) error { return nil },
		},
		{
			name:    "no replyTo error",
			ev:      Event{ID: "e6", Name: "service.scale"},
			handler: func(context.Context, Event) error { return boom },
		},
		{
			name:      "no replyTo panic",
			ev:        Event{ID: "e7", Name: "service.scale"},
			handler:   func(context.Context, Event) error { panic("x") },
			wantPanic: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, reg := newTestMetrics(t)
			pub := newRecordingPublisher()
			r := NewRouter(RouterOptions{Replier: newTestReplier(t, pub, m), Metrics: m})
			if err := r.Register("service.scale", tt.handler); err != nil {
				t.Fatal(err)
			}
			r.Deliver(context.Background(), tt.ev)
			got := pub.all()
			if tt.want == nil {
				if len(got) != 0 {
					t.Fatalf("published %+v, want no reply", got)
				}
			} else {
				if len(got) != 1 {
					t.Fatalf("published %d replies, want 1", len(got))
				}
				g := got[0]
				g.Time = 0
				if !reflect.DeepEqual(g, *tt.want) {
					t.Fatalf("reply = %+v, want %+v", g, *tt.want)
				}
			}
			if got := simtest.Metric(t, reg, "scale_subscriber_handler_panics_total", nil); got != tt.wantPanic {
				t.Fatalf("panics metric = %v, want %v", got, tt.wantPanic)
			}
		})
	}
}

func TestRouterPingNeverReplied(t *testing.T) {
	pub := newRecordingPublisher()
	r := NewRouter(RouterOptions{Replier: newTestReplier(t, pub, nil)})
	r.Deliver(context.Background(), Event{ID: "p1", Name: "ping", Data: []byte(`{"options":{},"resources":[]}`)})
	if n := len(pub.all()); n != 0 {
		t.Fatalf("ping got %d replies", n)
	}
}
