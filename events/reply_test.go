package events

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

// recordingPublisher records published replies; fail makes Publish fail.
type recordingPublisher struct {
	mu      sync.Mutex
	replies []Reply
	fail    error
	ch      chan Reply
}

func newRecordingPublisher() *recordingPublisher {
	return &recordingPublisher{ch: make(chan Reply, 100)}
}

func (p *recordingPublisher) Publish(ctx context.Context, r Reply) error {
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("publish without deadline")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.replies = append(p.replies, r)
	p.ch <- r
	return nil
}

func (p *recordingPublisher) all() []Reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Reply(nil), p.replies...)
}

func newTestReplier(t *testing.T, pub Publisher, m *Metrics) *Replier {
	t.Helper()
	r, err := NewReplier(ReplierOptions{
		Publisher: pub,
		Metrics:   m,
		Now:       func() time.Time { return time.UnixMilli(1700000000000) },
	})
	if err != nil {
		t.Fatalf("new replier: %v", err)
	}
	return r
}

func TestReplierBodies(t *testing.T) {
	req := Event{ID: "190a", Name: "physicalhost.create;handler=x", ReplyTo: "reply.788", ResourceID: "1ph1", ResourceType: "physicalHost"}
	tests := []struct {
		name string
		send func(context.Context, *Replier) error
		want string
	}{
		{
			name: "success",
			send: func(ctx context.Context, r *Replier) error { return r.Success(ctx, req, nil) },
			want: `{"name":"reply.788","previousIds":["190a"],"resourceId":"1ph1","resourceType":"physicalHost","time":1700000000000}`,
		},
		{
			name: "success with data",
			send: func(ctx context.Context, r *Replier) error {
				return r.Success(ctx, req, json.RawMessage(`{"ok":true}`))
			},
			want: `{"name":"reply.788","previousIds":["190a"],"data":{"ok":true},"resourceId":"1ph1","resourceType":"physicalHost","time":1700000000000}`,
		},
		{
			name: "error",
			send: func(ctx context.Context, r *Replier) error {
				return r.Error(ctx, req, errors.New("machine create failed"))
			},
			want: `{"name":"reply.788","previousIds":["190a"],"transitioning":"error","transitioningMessage":"machine create failed","resourceId":"1ph1","resourceType":"physicalHost","time":1700000000000}`,
		},
		{
			name: "panic error",
			send: func(ctx context.Context, r *Replier) error { return r.Finish(ctx, req, &PanicError{Value: "boom"}) },
			want: `{"name":"reply.788","previousIds":["190a"],"transitioning":"error","transitioningMessage":"panic: boom","transitioningInternalMessage":"panic","resourceId":"1ph1","resourceType":"physicalHost","time":1700000000000}`,
		},
		{
			name: "progress zero percent",
			send: func(ctx context.Context, r *Replier) error { return r.For(req).Progress(ctx, "downloading", 0) },
			want: `{"name":"reply.788","previousIds":["190a"],"transitioning":"yes","transitioningMessage":"downloading","transitioningProgress":0,"resourceId":"1ph1","resourceType":"physicalHost","time":1700000000000}`,
		},
		{
			name: "progress clamped",
			send: func(ctx context.Context, r *Replier) error { return r.Progress(ctx, req, "almost", 250) },
			want: `{"name":"reply.788","previousIds":["190a"],"transitioning":"yes","transitioningMessage":"almost","transitioningProgress":100,"resourceId":"1ph1","resourceType":"physicalHost","time":1700000000000}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := newRecordingPublisher()
			r := newTestReplier(t, pub, nil)
			if err := tt.send(context.Background(), r); err != nil {
				t.Fatalf("send: %v", err)
			}
			got := pub.all()
			if len(got) != 1 {
				t.Fatalf("published %d replies, want 1", len(got))
			}
			b, err := json.Marshal(got[0])
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if string(b) != tt.want {
				t.Fatalf("reply body\n got %s\nwant %s", b, tt.want)
			}
		})
	}
}

func TestReplierSkipsEventsWithoutReplyTo(t *testing.T) {
	pub := newRecordingPublisher()
	r := newTestReplier(t, pub, nil)
	ctx := context.Background()
	for _, ev := range []Event{
		{ID: "1", Name: "resource.change", ResourceType: "service", ResourceID: "1s1"},
		{ID: "2", Name: "ping"},
	} {
		if err := r.Success(ctx, ev, nil); err != nil {
			t.Fatal(err)
		}
		if err := r.Error(ctx, ev, errors.New("x")); err != nil {
			t.Fatal(err)
		}
		if err := r.Progress(ctx, ev, "x", 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(pub.all()); n != 0 {
		t.Fatalf("published %d replies for events without replyTo", n)
	}
}

func TestReplierPublishFailure(t *testing.T) {
	m, reg := newTestMetrics(t)
	pub := newRecordingPublisher()
	pub.fail = errors.New("503 service unavailable")
	r := newTestReplier(t, pub, m)
	err := r.Success(context.Background(), Event{ID: "e1", Name: "x", ReplyTo: "reply.1"}, nil)
	if err == nil || !errors.Is(err, pub.fail) {
		t.Fatalf("Success = %v, want wrapped publish error", err)
	}
	if got := simtest.Metric(t, reg, "scale_subscriber_reply_failures_total", nil); got != 1 {
		t.Fatalf("reply failures metric = %v, want 1", got)
	}
}

func TestNewReplierRequiresPublisher(t *testing.T) {
	if _, err := NewReplier(ReplierOptions{}); err == nil {
		t.Fatal("NewReplier without publisher must fail")
	}
}
