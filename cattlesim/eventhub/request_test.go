package eventhub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

const handlerEvent = "physicalhost.create;handler=goMachineService"

type result struct {
	reply Reply
	err   error
	took  time.Duration
}

// request runs hub.Request in the background.
func request(ctx context.Context, h *Hub, account string, ev Event) <-chan result {
	out := make(chan result, 1)
	start := time.Now()
	go func() {
		r, err := h.Request(ctx, account, ev)
		out <- result{r, err, time.Since(start)}
	}()
	return out
}

func waitResult(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitTimeout):
		t.Fatal("Request did not return")
		return result{}
	}
}

// publish sends a reply body through HandlePublish.
func publish(t *testing.T, h *Hub, raw bool, body string) {
	t.Helper()
	if err := h.HandlePublish(raw, []byte(body)); err != nil {
		t.Fatalf("publish %s: %v", body, err)
	}
}

func replyBody(req Event, extra string) string {
	return fmt.Sprintf(`{"name":%q,"previousIds":[%q]%s}`, req.ReplyTo, req.ID, extra)
}

func TestRequestProgressThenSuccess(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(query("", true, handlerEvent))
	res := request(context.Background(), e.hub, "1a5", Event{Name: handlerEvent, ResourceID: "1ph1",
		ResourceType: "physicalHost", Data: json.RawMessage(`{"driver":"virtualbox"}`), TimeoutMillis: 5000})

	req := c.nextNonPing().ev
	if req.Name != handlerEvent || req.ResourceID != "1ph1" || req.TimeoutMillis != 5000 {
		t.Fatalf("unexpected request %+v", req)
	}
	if !regexp.MustCompile(`^reply\.[1-9][0-9]*$`).MatchString(req.ReplyTo) {
		t.Fatalf("replyTo %q", req.ReplyTo)
	}
	if !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(req.ID) {
		t.Fatalf("id %q", req.ID)
	}
	publish(t, e.hub, true, replyBody(req, `,"transitioning":"yes","transitioningMessage":"downloading","transitioningProgress":10`))
	publish(t, e.hub, false, replyBody(req, `,"data":{"ok":true}`))

	r := waitResult(t, res)
	if r.err != nil {
		t.Fatalf("Request: %v", r.err)
	}
	if string(r.reply.Data) != `{"ok":true}` || r.reply.PreviousIDs[0] != req.ID {
		t.Fatalf("reply %+v", r.reply)
	}
	pub := e.hub.Published()
	if len(pub) != 2 || pub[0].Transitioning != "yes" || *pub[0].TransitioningProgress != 10 || pub[1].Transitioning != "" {
		t.Fatalf("published log %+v", pub)
	}
}

func TestRequestQualifiedSubscriber(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(query("1a5", false, "instance.start"))
	res := request(context.Background(), e.hub, "1a5", Event{Name: "instance.start", TimeoutMillis: 5000})
	req := c.nextNonPing().ev
	if req.Name != "instance.start" {
		t.Fatalf("got %+v", req)
	}
	publish(t, e.hub, false, replyBody(req, `,"transitioning":"no"`))
	if r := waitResult(t, res); r.err != nil {
		t.Fatalf("Request: %v", r.err)
	}
}

func TestRequestProgressResetsTimeout(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(query("", true, handlerEvent, "sentinel"))
	const timeout = 300 * time.Millisecond
	res := request(context.Background(), e.hub, "", Event{Name: handlerEvent, TimeoutMillis: timeout.Milliseconds()})
	req := c.nextNonPing().ev

	// 8 progress replies 100ms apart: 800ms, beyond the 2*300ms a request
	// without progress would survive (first send plus re-send).
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for range 8 {
		<-tick.C
		publish(t, e.hub, true, replyBody(req, `,"transitioning":"yes"`))
	}
	publish(t, e.hub, true, replyBody(req, ""))
	r := waitResult(t, res)
	if r.err != nil {
		t.Fatalf("Request: %v", r.err)
	}
	if r.took < 2*timeout {
		t.Fatalf("Request returned after %s; the test did not exercise the reset", r.took)
	}
	// Progress kept the request alive: no re-send happened.
	e.hub.Emit("", Event{Name: "sentinel"})
	if f := c.nextNonPing(); f.ev.Name != "sentinel" {
		t.Fatalf("request was re-sent despite progress: %s", f.raw)
	}
}

func TestRequestErrorReply(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(query("", true, handlerEvent))
	res := request(context.Background(), e.hub, "", Event{Name: handlerEvent, TimeoutMillis: 5000})
	req := c.nextNonPing().ev
	publish(t, e.hub, true, replyBody(req, `,"transitioning":"error","transitioningMessage":"machine create failed"`))
	r := waitResult(t, res)
	var re *ReplyError
	if !errors.As(r.err, &re) {
		t.Fatalf("want *ReplyError, got %v", r.err)
	}
	if re.Reply.TransitioningMessage != "machine create failed" || r.reply.Transitioning != "error" || re.EventID != req.ID {
		t.Fatalf("error %+v reply %+v", re, r.reply)
	}
}

func TestRequestIgnoresUnmatchedReplies(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(query("", true, handlerEvent))
	res := request(context.Background(), e.hub, "", Event{Name: handlerEvent, TimeoutMillis: 5000})
	req := c.nextNonPing().ev
	bodies := []string{
		fmt.Sprintf(`{"name":%q}`, req.ReplyTo),                                    // previousIds absent
		fmt.Sprintf(`{"name":%q,"previousIds":null}`, req.ReplyTo),                 // null
		fmt.Sprintf(`{"name":%q,"previousIds":[]}`, req.ReplyTo),                   // empty
		fmt.Sprintf(`{"name":%q,"previousIds":["other",%q]}`, req.ReplyTo, req.ID), // id not first
		fmt.Sprintf(`{"name":"reply.1","previousIds":[%q]}`, req.ID),               // wrong name
	}
	for _, b := range bodies {
		publish(t, e.hub, true, b)
	}
	// Matching is synchronous inside HandlePublish, so the waiter's state
	// tells deterministically whether any of those matched.
	e.hub.waitersMu.Lock()
	w := e.hub.waiters[req.ReplyTo]
	e.hub.waitersMu.Unlock()
	if w == nil {
		t.Fatal("request is no longer waiting")
	}
	if progress, final := w.take(); progress != 0 || final != nil {
		t.Fatalf("unmatched replies were taken: progress %d final %+v", progress, final)
	}
	publish(t, e.hub, true, replyBody(req, `,"data":{"n":1}`))
	if r := waitResult(t, res); r.err != nil || string(r.reply.Data) != `{"n":1}` {
		t.Fatalf("got %+v %v", r.reply, r.err)
	}
	if n := len(e.hub.Published()); n != len(bodies)+1 {
		t.Fatalf("published %d want %d", n, len(bodies)+1)
	}
}

func TestRequestResentOnceAfterTimeout(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(query("", true, handlerEvent))
	res := request(context.Background(), e.hub, "", Event{Name: handlerEvent, TimeoutMillis: 100})
	first := c.nextNonPing().ev
	second := c.nextNonPing().ev // sent again after 100ms without a reply
	if second.ID != first.ID || second.ReplyTo != first.ReplyTo {
		t.Fatalf("re-send changed identity: %+v vs %+v", first, second)
	}
	publish(t, e.hub, true, replyBody(second, ""))
	if r := waitResult(t, res); r.err != nil {
		t.Fatalf("Request: %v", r.err)
	}
}

func TestRequestTimesOut(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(query("", true, handlerEvent))
	res := request(context.Background(), e.hub, "", Event{Name: handlerEvent, TimeoutMillis: 100})
	first := c.nextNonPing().ev
	second := c.nextNonPing().ev
	r := waitResult(t, res)
	var te *TimeoutError
	if !errors.As(r.err, &te) {
		t.Fatalf("want *TimeoutError, got %v", r.err)
	}
	if te.Attempts != 2 || te.EventID != first.ID || second.ID != first.ID {
		t.Fatalf("timeout %+v, ids %s %s", te, first.ID, second.ID)
	}
	if r.took < 200*time.Millisecond {
		t.Fatalf("gave up after %s, want two timeouts", r.took)
	}
	// A late reply is still recorded but matches nothing.
	publish(t, e.hub, true, replyBody(first, ""))
}

func TestRequestContextCancel(t *testing.T) {
	e := newEnv(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	res := request(ctx, e.hub, "", Event{Name: handlerEvent})
	cancel()
	if r := waitResult(t, res); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", r.err)
	}
}

func TestRequestRejectsInvalidData(t *testing.T) {
	h := New(Options{})
	_, err := h.Request(context.Background(), "", Event{Name: "x", Data: json.RawMessage(`{"a":`)})
	if err == nil || !strings.Contains(err.Error(), "not valid json") {
		t.Fatalf("want invalid data error, got %v", err)
	}
}
