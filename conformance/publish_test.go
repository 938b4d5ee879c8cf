package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim/eventhub"
)

// §1.8, §7.11: publish. A request event (replyTo, timeoutMillis) is answered by publishing to its replyTo
// with previousIds [its id]; replies are matched by previousIds[0], transitioning "yes" is progress, "error"
// failure, anything else success; POST /publish answers 201; a QUALIFIED key may only publish reply.* names;
// without a final reply the request is re-sent once (same id) after timeoutMillis.

// requestResult is the answer of an asynchronous POST /_sim/requests.
type requestResult struct {
	resp rawResponse
	err  error
}

// requestAsync sends POST /_sim/requests in a goroutine (it blocks until the final reply). The goroutine is
// owned by the test: it stops when the answer comes or the test's context ends, and the returned channel
// (buffered, so it never blocks) delivers its one result; a cleanup waits for it.
func (e *env) requestAsync(body map[string]any) <-chan requestResult {
	out := make(chan requestResult, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r, err := e.send(e.ctx(), http.MethodPost, "/_sim/requests", &e.env5, body)
		out <- requestResult{r, err}
	}()
	e.t.Cleanup(func() { <-done })
	return out
}

// await waits for an asynchronous request's answer.
func await(t *testing.T, ch <-chan requestResult, what string) rawResponse {
	t.Helper()
	select {
	case res := <-ch:
		if res.err != nil {
			t.Fatalf("%s: %v", what, res.err)
		}
		return res.resp
	case <-time.After(settleTimeout):
		t.Fatalf("%s: no answer within %s", what, settleTimeout)
	}
	return rawResponse{}
}

// jsonHas reports whether v is a JSON object whose member key equals want.
func jsonHas(v any, key string, want any) bool {
	m, ok := v.(map[string]any)
	return ok && m[key] == want
}

// publish sends a reply through our client.
func publish(t *testing.T, c *cattle.Client, p cattle.Publish) {
	t.Helper()
	if err := c.Publish(t.Context(), p); err != nil {
		t.Fatalf("publish %s: %v", p.Name, err)
	}
}

func TestPublishReplyMatchedToRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	// Two names in one subscription: resource.change and the request's (repeated eventNames, §1.2).
	sub := subscribeClient(t, c, "resource.change", "conformance.request")
	sub.next(5*time.Second, "the first ping", func(ev wsEvent) bool { return ev.Name == "ping" })
	webID := e.id("1a5/service/web")
	isRequest := func(ev wsEvent) bool { return ev.Name == "conformance.request" }

	pending := e.requestAsync(map[string]any{"name": "conformance.request", "resourceType": "service",
		"resourceId": webID, "data": map[string]any{"n": 1}, "timeoutMillis": 5000})
	req := sub.next(settleTimeout, "the request event", isRequest)
	if !strings.HasPrefix(req.ReplyTo, "reply.") || req.ID == "" {
		t.Fatalf("request event %s: want an id and replyTo reply.<n> (§1.6)", snippet(req.raw))
	}
	if req.resID() != webID || req.ResourceType == nil || *req.ResourceType != "service" || req.TimeoutMillis != 5000 {
		t.Errorf("request event %s: want resource service %s and timeoutMillis 5000", snippet(req.raw), webID)
	}
	if data, err := decodeAny(req.Data); err != nil || !jsonHas(data, "n", float64(1)) {
		t.Errorf("request data %s, want {\"n\":1}", req.Data)
	}

	// A reply naming another event does not match; progress does not end the request; success does.
	publish(t, c, cattle.Publish{Name: req.ReplyTo, PreviousIDs: []string{"not-" + req.ID},
		Data: json.RawMessage(`{"result":"wrong"}`)})
	progress := 50
	publish(t, c, cattle.Publish{Name: req.ReplyTo, PreviousIDs: []string{req.ID}, Transitioning: cattle.TransitioningYes,
		TransitioningMessage: "half way", TransitioningProgress: &progress})
	publish(t, c, cattle.Publish{Name: req.ReplyTo, PreviousIDs: []string{req.ID}, Data: json.RawMessage(`{"result":"done"}`)})
	final := await(t, pending, "the request").expect(t, http.StatusOK, "/_sim/requests")
	prev := arr(final.body, "previousIds")
	if str(final.body, "name") != req.ReplyTo || len(prev) == 0 || prev[0] != req.ID {
		t.Errorf("final reply %s, want name %s and previousIds[0] %s", snippet(final.raw), req.ReplyTo, req.ID)
	}
	if tr := str(final.body, "transitioning"); tr == cattle.TransitioningYes || tr == cattle.TransitioningError {
		t.Errorf("final reply has transitioning %q; progress must not end a request", tr)
	}
	if str(obj(final.body, "data"), "result") != "done" {
		t.Errorf("final reply data %v, want the success reply's {result: done}", final.body["data"])
	}

	// The same subscription gets its other name too.
	marker, err := c.CreateGenericObject(t.Context(), cattle.GenericObject{
		Resource: cattle.Resource{Name: "marker", Kind: "conformance"}, Key: "k"})
	if err != nil {
		t.Fatalf("create marker: %v", err)
	}
	sub.next(settleTimeout, "a resource.change on the two-name subscription", changeOf(marker.ID))

	// An error reply ends the request as a failure (Go API: *eventhub.ReplyError).
	type goResult struct {
		reply eventhub.Reply
		err   error
	}
	goDone := make(chan goResult, 1) // buffered: the goroutine never blocks on it
	ctx, cancel := context.WithTimeout(t.Context(), settleTimeout)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		r, err := e.sim.Request(ctx, "1a5", eventhub.Event{Name: "conformance.request", ResourceType: "service",
			ResourceID: webID, TimeoutMillis: 5000})
		goDone <- goResult{r, err}
	}()
	defer func() { // also on t.Fatal: stop the request and wait for its goroutine
		cancel()
		<-exited
	}()
	req2 := sub.next(settleTimeout, "the second request event", isRequest)
	publish(t, c, cattle.Publish{Name: req2.ReplyTo, PreviousIDs: []string{req2.ID},
		Transitioning: cattle.TransitioningError, TransitioningMessage: "it broke"})
	res := <-goDone
	var re *eventhub.ReplyError
	if !errors.As(res.err, &re) || res.reply.TransitioningMessage != "it broke" {
		t.Errorf("error reply: reply %+v err %v, want a *eventhub.ReplyError carrying the message", res.reply, res.err)
	}

	// Over HTTP the error reply comes back as the final reply.
	pending = e.requestAsync(map[string]any{"name": "conformance.request", "timeoutMillis": 5000})
	req3 := sub.next(settleTimeout, "the third request event", isRequest)
	publish(t, c, cattle.Publish{Name: req3.ReplyTo, PreviousIDs: []string{req3.ID},
		Transitioning: cattle.TransitioningError, TransitioningMessage: "broken again"})
	final = await(t, pending, "the failing request").expect(t, http.StatusOK, "/_sim/requests with an error reply")
	if str(final.body, "transitioning") != cattle.TransitioningError || str(final.body, "transitioningMessage") != "broken again" {
		t.Errorf("error reply over HTTP %s, want transitioning error with the message", snippet(final.raw))
	}
}

func TestPublishStatusAndPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(http.MethodPost, project5+"/publish", &e.env5, map[string]any{"name": "reply.42", "previousIds": []string{"x"}})
	if r.status != http.StatusCreated || str(r.body, "type") != "publish" {
		t.Errorf("POST publish: %d %s, want 201 with the publish resource", r.status, snippet(r.raw))
	}
	// QUALIFIED (environment) keys may only publish reply.* names; RAW (service) keys may publish anything.
	c := e.client(e.env5)
	err := c.Publish(t.Context(), cattle.Publish{Name: "service.conformance"})
	if ae := asAPIError(t, err, "publish of a non-reply name with an environment key"); ae.Status != http.StatusForbidden {
		t.Errorf("environment key publishing service.conformance: %v, want 403", ae)
	}
	r = e.do(http.MethodPost, "/v2-beta/publish", &e.service, map[string]any{"name": "service.conformance"})
	if r.status != http.StatusCreated {
		t.Errorf("service key publishing service.conformance: %d %s, want 201", r.status, snippet(r.raw))
	}
	r = e.do(http.MethodPost, project5+"/publish", &e.env5, map[string]any{"previousIds": []string{"x"}})
	if r.status != http.StatusUnprocessableEntity || str(r.body, "code") != "MissingRequired" {
		t.Errorf("publish without a name: %d %s, want 422 MissingRequired", r.status, snippet(r.raw))
	}
}

func TestPublishRequestResentOnceWithoutReply(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	sub := subscribeClient(t, c, "conformance.request")
	sub.next(5*time.Second, "the first ping", func(ev wsEvent) bool { return ev.Name == "ping" })
	isRequest := func(ev wsEvent) bool { return ev.Name == "conformance.request" }

	pending := e.requestAsync(map[string]any{"name": "conformance.request", "timeoutMillis": 150})
	first := sub.next(settleTimeout, "the request", isRequest)
	again := sub.next(settleTimeout, "the re-sent request", isRequest)
	if again.ID != first.ID || again.ReplyTo != first.ReplyTo {
		t.Errorf("re-sent request id %s replyTo %s, want the same event (%s, %s) again (§1.8 eventing.retry)",
			again.ID, again.ReplyTo, first.ID, first.ReplyTo)
	}
	r := await(t, pending, "the unanswered request")
	if r.status != http.StatusGatewayTimeout {
		t.Errorf("unanswered request: %d %s, want 504", r.status, snippet(r.raw))
	}
	if ev, err := sub.nextErr(50*time.Millisecond, isRequest); err == nil {
		t.Errorf("a third send of the request: %s; Cattle re-sends once", snippet(ev.raw))
	}
}
