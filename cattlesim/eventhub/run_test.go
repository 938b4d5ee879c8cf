package eventhub

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestRunCancelClosesEverything(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.dial(query("1a5", false, "resource.change"))
	b := e.dial(query("", true, handlerEvent))
	pending := request(context.Background(), e.hub, "", Event{Name: handlerEvent, TimeoutMillis: 60000})
	b.nextNonPing() // the request was sent

	if err := e.hub.Run(context.Background()); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Run: %v", err)
	}

	e.stop()
	select {
	case err := <-e.ran:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return")
	}
	e.ran <- nil // let the cleanup's wait pass

	// Run waited for every connection: nothing is registered any more and
	// both clients saw a going-away close.
	if n := e.hub.Subscribers(); n != 0 {
		t.Fatalf("subscribers %d after Run returned", n)
	}
	for _, c := range []*client{a, b} {
		if code := closeCode(c.closed()); code != websocket.CloseGoingAway {
			t.Fatalf("close code %d want 1001", code)
		}
	}
	if r := waitResult(t, pending); !errors.Is(r.err, ErrHubStopped) {
		t.Fatalf("pending request: %v", r.err)
	}
	if _, err := e.hub.Request(context.Background(), "", Event{Name: "x"}); !errors.Is(err, ErrHubStopped) {
		t.Fatalf("request after stop: %v", err)
	}
	assertRejected(t, e, query("1a5", false), http.StatusServiceUnavailable, CodeServiceUnavailable)
	if err := e.hub.Run(context.Background()); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("Run after stop: %v", err)
	}
}

func TestExplicitNullsFraming(t *testing.T) {
	e := newEnv(t, Options{ExplicitNulls: true})
	c := e.dial(query("1a5", false, "foo"))
	if want := `"replyTo":null`; !strings.Contains(string(c.first.raw), want) {
		t.Fatalf("ping %s lacks %s", c.first.raw, want)
	}
	e.hub.Emit("1a5", Event{Name: "foo"})
	f := c.nextNonPing()
	for _, k := range []string{`"previousIds":null`, `"timeoutMillis":null`, `"context":null`} {
		if !strings.Contains(string(f.raw), k) {
			t.Fatalf("frame %s lacks %s", f.raw, k)
		}
	}
}
