package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim/eventhub"
)

// §1, §7.10: the subscribe websocket. An immediate ping (no replyTo, data {options:{},resources:[]}) and then
// one every PingInterval; resource.change with data.resource equal to the REST rendering; repeated eventNames;
// one JSON event per text frame (the reader in ws_test.go rejects anything else); QUALIFIED subscribers see
// their own project only, under stripped names; websocket control pings are answered.

func TestSubscribePingThenResourceChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withPingInterval(50*time.Millisecond))
	c := e.client(e.env5)
	_, since := e.calls(0)
	sub := subscribeClient(t, c, "resource.change", "service.kubernetes.change")
	if got := sub.resp.Header.Get("X-API-Schemas"); got != e.url+project5+"/schemas" {
		t.Errorf("101 answer X-API-Schemas %q, want the project's schemas", got)
	}

	first := sub.next(5*time.Second, "the first frame", nil)
	if first.Name != "ping" {
		t.Fatalf("first frame %s, want a ping (§1.7)", snippet(first.raw))
	}
	checkPing(t, first)

	// The upgrade is logged with both eventNames, each a parameter of its own (§1.2).
	calls, _ := e.calls(since)
	var upgrade *call
	for i := range calls {
		if calls[i].Path == project5+"/subscribe" {
			upgrade = &calls[i]
		}
	}
	if upgrade == nil || upgrade.Status != http.StatusSwitchingProtocols ||
		strings.Count(upgrade.Query, "eventNames=") != 2 {
		t.Errorf("subscribe call %+v, want status 101 with two eventNames parameters", upgrade)
	}

	// A change: the event's data.resource is what a REST GET of the same resource returns.
	watched, err := c.CreateGenericObject(t.Context(), cattle.GenericObject{
		Resource: cattle.Resource{Name: "watched", Kind: "conformance"}, Key: "k"})
	if err != nil {
		t.Fatalf("create generic object: %v", err)
	}
	ev := sub.next(settleTimeout, "resource.change of the new object, settled", func(ev wsEvent) bool {
		if !changeOf(watched.ID)(ev) {
			return false
		}
		res, err := ev.resource()
		return err == nil && str(res, "state") == "active" && str(res, "transitioning") == "no"
	})
	if ev.ReplyTo != "" || ev.ID == "" || ev.Time == 0 {
		t.Errorf("resource.change frame %s: want an id, a time and no replyTo (§1.7)", snippet(ev.raw))
	}
	if ev.ResourceType == nil || *ev.ResourceType != "genericObject" {
		t.Errorf("resource.change resourceType %v, want genericObject (the API type)", ev.ResourceType)
	}
	fromEvent, err := ev.resource()
	if err != nil {
		t.Fatal(err)
	}
	rest := e.do(http.MethodGet, project5+"/genericobjects/"+watched.ID, &e.env5, nil).expect(t, http.StatusOK, "GET object")
	if !reflect.DeepEqual(map[string]any(fromEvent), rest.body) {
		t.Errorf("data.resource differs from the REST rendering (§1.7):\nevent: %v\nREST:  %v", fromEvent, rest.body)
	}
	if self := str(obj(fromEvent, "links"), "self"); self != e.url+project5+"/genericobjects/"+watched.ID {
		t.Errorf("data.resource links.self %q, want the project-scoped URL of the subscriber", self)
	}

	// resourceType is the API type of the rendered resource (a subkind, not the base type), and a removed
	// resource still produces its "removed" snapshot (§1.7).
	lb := getService(t, c, e.id("1a5/service/lb"))
	if _, err := c.UpdateService(t.Context(), lb, map[string]any{"scale": 2}); err != nil {
		t.Fatalf("PUT lb scale 2: %v", err)
	}
	lbEv := sub.next(settleTimeout, "resource.change of lb", changeOf(lb.ID))
	if lbEv.ResourceType == nil || *lbEv.ResourceType != "loadBalancerService" {
		t.Errorf("lb resource.change resourceType %v, want loadBalancerService", lbEv.ResourceType)
	}
	if _, err := c.DeleteGenericObject(t.Context(), watched); err != nil {
		t.Fatalf("delete the watched object: %v", err)
	}
	sub.next(settleTimeout, "the removed snapshot of the watched object", func(ev wsEvent) bool {
		res, err := ev.resource()
		return changeOf(watched.ID)(ev) && err == nil && str(res, "state") == "removed" && str(res, "removed") != ""
	})

	// Pings keep coming, still without replyTo.
	for i := range 2 {
		checkPing(t, sub.next(5*time.Second, fmt.Sprintf("periodic ping %d", i+1), func(ev wsEvent) bool {
			return ev.Name == "ping"
		}))
	}

	// Websocket control pings are answered (the server runs a read loop per connection).
	if err := sub.conn.WriteControl(websocket.PingMessage, []byte("conformance"), time.Now().Add(time.Second)); err != nil {
		t.Fatalf("write control ping: %v", err)
	}
	waitFor(t, 5*time.Second, "a pong", func() (bool, string) {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return sub.pongs > 0, fmt.Sprintf("%d pongs", sub.pongs)
	})
}

// checkPing checks an API ping frame (§1.7, §1.12 a).
func checkPing(t *testing.T, ev wsEvent) {
	t.Helper()
	// Jackson always writes id, name, resourceId, resourceType and data, null when empty (§1.5).
	var members map[string]json.RawMessage
	if err := json.Unmarshal(ev.raw, &members); err != nil {
		t.Fatalf("ping frame %s: %v", snippet(ev.raw), err)
	}
	for _, m := range []string{"resourceId", "resourceType"} {
		if v, ok := members[m]; !ok || string(v) != "null" {
			t.Errorf("ping frame %s: %s must be present and null", snippet(ev.raw), m)
		}
	}
	if ev.ReplyTo != "" {
		t.Errorf("ping carries replyTo %q; API pings expect no reply", ev.ReplyTo)
	}
	if ev.ID == "" || ev.Time == 0 {
		t.Errorf("ping %s: want an id and an epoch-ms time", snippet(ev.raw))
	}
	data, err := decodeAny(ev.Data)
	want := map[string]any{"options": map[string]any{}, "resources": []any{}}
	if err != nil || !reflect.DeepEqual(data, want) {
		t.Errorf("ping data %s, want {\"options\":{},\"resources\":[]}", ev.Data)
	}
}

func TestSubscribeQualifiedProjectIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c5, c7 := e.client(e.env5), e.client(e.env7)
	sub5 := subscribeClient(t, c5, "resource.change")
	// The unscoped URL: an environment key subscribes to its own project (§2.1).
	sub7 := subscribeCred(t, "ws"+strings.TrimPrefix(e.url, "http")+"/v2-beta/subscribe?eventNames=resource.change", e.env7)
	for _, s := range []*subscription{sub5, sub7} {
		s.next(5*time.Second, "the first ping", func(ev wsEvent) bool { return ev.Name == "ping" })
	}

	// Several changes in 1a5, each its own frame and event.
	var ids []string
	for i := range 5 {
		o, err := c5.CreateGenericObject(t.Context(), cattle.GenericObject{
			Resource: cattle.Resource{Name: fmt.Sprintf("o%d", i), Kind: "conformance"}, Key: "k"})
		if err != nil {
			t.Fatalf("create in 1a5: %v", err)
		}
		ids = append(ids, o.ID)
	}
	for _, id := range ids {
		ev := sub5.next(settleTimeout, "resource.change of "+id, changeOf(id))
		if ev.Name != "resource.change" {
			t.Errorf("event name %q, want the stripped resource.change (§1.4)", ev.Name)
		}
	}
	// The 1a5 changes were flushed before the 1a7 one was made, so had sub7 received them they would come first.
	o7, err := c7.CreateGenericObject(t.Context(), cattle.GenericObject{
		Resource: cattle.Resource{Name: "seven", Kind: "conformance"}, Key: "k"})
	if err != nil {
		t.Fatalf("create in 1a7: %v", err)
	}
	for {
		ev := sub7.next(settleTimeout, "resource.change of the 1a7 object", func(ev wsEvent) bool {
			return ev.Name == "resource.change"
		})
		res, err := ev.resource()
		if err != nil {
			t.Fatal(err)
		}
		if acct := str(res, "accountId"); acct != "1a7" {
			t.Errorf("the 1a7 subscriber received a change of account %s: %s", acct, snippet(ev.raw))
		}
		if ev.resID() == o7.ID {
			if self := str(obj(res, "links"), "self"); !strings.HasPrefix(self, e.url+"/v2-beta/genericobjects/") {
				t.Errorf("links.self %q, want the unscoped URL the subscriber used", self)
			}
			break
		}
	}
}

func TestSubscribeRawHandlerNamesVerbatim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const handlerEvent = "physicalhost.create;handler=conformance"
	wsBase := "ws" + strings.TrimPrefix(e.url, "http")
	// A service key subscribes RAW: the qualified name is subscribed and delivered verbatim (§1.4, §1.10).
	raw := subscribeCred(t, wsBase+"/v2-beta/subscribe?eventNames="+url.QueryEscape(handlerEvent), e.service)
	// An environment key is QUALIFIED: its names are cut at ';', so it can never receive ;handler= events.
	c := e.client(e.env5)
	qualified := subscribeClient(t, c, handlerEvent, "resource.change")
	for _, s := range []*subscription{raw, qualified} {
		s.next(5*time.Second, "the first ping", func(ev wsEvent) bool { return ev.Name == "ping" })
	}

	ctx, cancel := context.WithTimeout(t.Context(), settleTimeout)
	type result struct {
		reply eventhub.Reply
		err   error
	}
	done := make(chan result, 1) // buffered: the goroutine never blocks on it
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		r, err := e.sim.Request(ctx, "1a5", eventhub.Event{Name: handlerEvent, ResourceType: "physicalHost",
			ResourceID: "1ph1", TimeoutMillis: 5000})
		done <- result{r, err}
	}()
	defer func() {
		cancel()
		<-exited
	}()
	ev := raw.next(settleTimeout, "the handler event on the RAW subscription", func(ev wsEvent) bool {
		return strings.HasPrefix(ev.Name, "physicalhost.create")
	})
	if ev.Name != handlerEvent || ev.ReplyTo == "" {
		t.Errorf("RAW subscriber got %s, want name %q verbatim with a replyTo", snippet(ev.raw), handlerEvent)
	}
	// A RAW key may publish the reply with the plain, unscoped publish collection.
	r := e.do(http.MethodPost, "/v2-beta/publish", &e.service, map[string]any{"name": ev.ReplyTo,
		"previousIds": []string{ev.ID}})
	if r.status != http.StatusCreated {
		t.Errorf("RAW reply publish: %d %s, want 201", r.status, snippet(r.raw))
	}
	if res := <-done; res.err != nil {
		t.Errorf("request answered by the RAW subscriber: %v", res.err)
	}

	// The QUALIFIED subscriber never saw it: a change made now arrives after anything sent before.
	marker, err := c.CreateGenericObject(t.Context(), cattle.GenericObject{
		Resource: cattle.Resource{Name: "marker", Kind: "conformance"}, Key: "k"})
	if err != nil {
		t.Fatalf("create marker: %v", err)
	}
	qualified.next(settleTimeout, "the marker's resource.change", func(ev wsEvent) bool {
		if strings.HasPrefix(ev.Name, "physicalhost.create") {
			t.Errorf("QUALIFIED subscriber received %s; ;handler= names are RAW-only (§1.4)", snippet(ev.raw))
		}
		return changeOf(marker.ID)(ev)
	})
}

func TestSubscribeLogoutAndMaxLifetime(t *testing.T) {
	t.Parallel()
	// A name nothing emits: the stream then holds only pings until the logout (no seed-time resource.change).
	wsPath := "/v2-beta/subscribe?eventNames=conformance.nothing"

	e := newEnv(t)
	sub := subscribeCred(t, "ws"+strings.TrimPrefix(e.url, "http")+wsPath, e.env5)
	sub.next(5*time.Second, "the first ping", func(ev wsEvent) bool { return ev.Name == "ping" })
	r := e.control(http.MethodPost, "projects/1a5/logout", nil)
	if n, _ := num(r.body, "loggedOut"); n != 1 {
		t.Errorf("logout answered %s, want {\"loggedOut\":1}", snippet(r.raw))
	}
	ev := sub.next(settleTimeout, "the logout frame", func(ev wsEvent) bool { return ev.Name != "ping" })
	if ev.Name != "logout" {
		t.Errorf("frame after logout %s, want {\"name\":\"logout\"} (§1.7)", snippet(ev.raw))
	}
	waitClosed(t, sub, "after logout")

	// A maximum lifetime closes subscriptions so clients must reconnect (§7.10).
	short := newEnv(t, withMaxLifetime(200*time.Millisecond))
	sub = subscribeCred(t, "ws"+strings.TrimPrefix(short.url, "http")+wsPath, short.env5)
	sub.next(5*time.Second, "the first ping", func(ev wsEvent) bool { return ev.Name == "ping" })
	waitClosed(t, sub, "at the end of its lifetime")
}

// waitClosed waits until the server ended sub with a close frame (a graceful close, unlike a drop).
func waitClosed(t *testing.T, sub *subscription, what string) {
	t.Helper()
	select {
	case <-sub.done:
	case <-time.After(settleTimeout):
		t.Fatalf("subscription still open %s %s", settleTimeout, what)
	}
	var ce *websocket.CloseError
	if err := sub.readErr(); !errors.As(err, &ce) || ce.Code == websocket.CloseAbnormalClosure {
		t.Errorf("subscription ended %s with %v, want a close frame from the server", what, err)
	}
}

func TestSubscribeCoalescesChangesPerResource(t *testing.T) {
	t.Parallel()
	// A long tick so that quick successive changes of one resource fall into one or two flushes.
	e := newEnv(t, withFlushInterval(500*time.Millisecond))
	c := e.client(e.env5)
	insts := serviceContainers(t, c, e.id("1a5/service/web"))
	if len(insts) == 0 {
		t.Fatalf("web has no container")
	}
	id := insts[0].ID
	sub := subscribeClient(t, c, "resource.change")
	sub.next(5*time.Second, "the first ping", func(ev wsEvent) bool { return ev.Name == "ping" })

	// Six changes, each to a different healthState; the last one is the value the events must end with.
	states := []string{"unhealthy", "initializing", "reinitializing", "updating-healthy", "updating-unhealthy",
		"updating-reinitializing"}
	for _, hs := range states {
		e.control(http.MethodPost, "containers/"+id+"/health", map[string]any{"healthState": hs})
	}
	final := states[len(states)-1]
	events := 0
	for {
		ev := sub.next(settleTimeout, "the container's change showing "+final, changeOf(id))
		events++
		res, err := ev.resource()
		if err != nil {
			t.Fatal(err)
		}
		if str(res, "healthState") == final {
			break
		}
	}
	// A change made now is flushed in a later tick than every container change, so its event comes after
	// all of theirs: count the container's events up to it.
	marker, err := c.CreateGenericObject(t.Context(), cattle.GenericObject{
		Resource: cattle.Resource{Name: "marker", Kind: "conformance"}, Key: "k"})
	if err != nil {
		t.Fatalf("create marker: %v", err)
	}
	sub.next(settleTimeout, "the marker's change", func(ev wsEvent) bool {
		if changeOf(id)(ev) {
			events++
		}
		return changeOf(marker.ID)(ev)
	})
	// Each event renders the state at flush time, so six quick changes cannot take six events (§1.7).
	if events >= len(states) {
		t.Errorf("%d resource.change events for %d quick changes of one container, want them coalesced", events,
			len(states))
	}
}
