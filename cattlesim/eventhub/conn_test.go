package eventhub

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

func TestFirstPingIsImmediate(t *testing.T) {
	// With an hour-long interval only the immediate ping can arrive.
	e := newEnv(t, Options{PingInterval: time.Hour})
	c := e.dial(query("1a5", false, "resource.change"))

	var fields map[string]json.RawMessage
	if err := json.Unmarshal(c.first.raw, &fields); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"data", "id", "name", "resourceId", "resourceType", "time"}; !slices.Equal(keys, want) {
		t.Fatalf("ping keys %v want %v (frame %s)", keys, want, c.first.raw)
	}
	if string(fields["resourceId"]) != "null" || string(fields["resourceType"]) != "null" ||
		string(fields["data"]) != pingData {
		t.Fatalf("unexpected ping %s", c.first.raw)
	}
	if ms := c.first.ev.Time; ms < time.Now().Add(-time.Minute).UnixMilli() || ms > time.Now().UnixMilli() {
		t.Fatalf("ping time %d is not epoch ms of now", ms)
	}
	if got := c.resp.Header.Get("X-Api-Account-Id"); got != "1a5" {
		t.Fatalf("caller headers not sent with the 101: got %q", got)
	}
}

func TestPeriodicPings(t *testing.T) {
	e := newEnv(t, Options{PingInterval: 20 * time.Millisecond})
	c := e.dial(query("1a5", false))
	ids := map[string]bool{c.first.ev.ID: true}
	for range 3 {
		f := c.next()
		if f.ev.Name != "ping" || f.ev.ReplyTo != "" {
			t.Fatalf("want a ping without replyTo, got %s", f.raw)
		}
		if ids[f.ev.ID] {
			t.Fatalf("ping id %s repeated", f.ev.ID)
		}
		ids[f.ev.ID] = true
	}
}

func TestMaxPingsClosesSubscription(t *testing.T) {
	e := newEnv(t, Options{PingInterval: 20 * time.Millisecond, MaxPings: 3})
	c := e.dial(query("1a5", false))
	pings := 1
	for {
		select {
		case f := <-c.frames:
			if f.ev.Name == "ping" {
				pings++
			}
			continue
		case <-c.done:
		case <-time.After(waitTimeout):
			t.Fatal("subscription not closed after max pings")
		}
		break
	}
	for len(c.frames) > 0 {
		if f := <-c.frames; f.ev.Name == "ping" {
			pings++
		}
	}
	if pings != 3 {
		t.Fatalf("got %d pings before close, want 3", pings)
	}
	if code := closeCode(c.err); code != websocket.CloseNormalClosure {
		t.Fatalf("close error %v, want code 1000", c.err)
	}
}

func TestControlPingAnsweredWithPong(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(query("1a5", false, "foo"))
	if err := c.ws.WriteControl(websocket.PingMessage, []byte("hello"), time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-c.pongs:
		if got != "hello" {
			t.Fatalf("pong payload %q", got)
		}
	case <-time.After(waitTimeout):
		t.Fatal("no pong for a control ping")
	}
	// Client text frames are ignored, the subscription keeps working.
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(`{"name":"whatever"}`)); err != nil {
		t.Fatal(err)
	}
	e.hub.Emit("1a5", Event{Name: "foo"})
	if f := c.nextNonPing(); f.ev.Name != "foo" {
		t.Fatalf("unexpected %s", f.raw)
	}
}

func TestClientCloseUnregisters(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(query("1a5", false))
	if n := e.hub.Subscribers(); n != 1 {
		t.Fatalf("subscribers %d want 1", n)
	}
	if err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	if code := closeCode(c.closed()); code != websocket.CloseNormalClosure {
		t.Fatalf("close echo code %d", code)
	}
	eventually(t, waitTimeout, func() bool { return e.hub.Subscribers() == 0 }, "subscriber removed")
}

func TestMaxLifetimeClosesAndResubscribeWorks(t *testing.T) {
	e := newEnv(t, Options{MaxLifetime: 150 * time.Millisecond})
	start := time.Now()
	c := e.dial(query("1a5", false))
	err := c.closed()
	if code := closeCode(err); code != websocket.CloseNormalClosure {
		t.Fatalf("close error %v, want code 1000", err)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("closed after %s, before MaxLifetime", el)
	}
	eventually(t, waitTimeout, func() bool { return e.hub.Subscribers() == 0 }, "subscriber removed")
	c2 := e.dial(query("1a5", false)) // dial asserts the immediate ping
	if c2.first.ev.ID == c.first.ev.ID {
		t.Fatal("new subscription reused a ping id")
	}
}

func TestDropAll(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.dial(query("1a5", false))
	b := e.dial(query("", true, "resource.change"))
	if n := e.hub.DropAll(); n != 2 {
		t.Fatalf("DropAll closed %d want 2", n)
	}
	if n := e.hub.Subscribers(); n != 0 {
		t.Fatalf("subscribers %d after DropAll", n)
	}
	for _, c := range []*client{a, b} {
		err := c.closed()
		// An abrupt drop has no close frame: gorilla reports 1006 (or a
		// plain network error), never a clean close code.
		if code := closeCode(err); code != 0 && code != websocket.CloseAbnormalClosure {
			t.Fatalf("got close code %d (%v), want an abnormal closure", code, err)
		}
	}
	if n := e.hub.DropAll(); n != 0 {
		t.Fatalf("second DropAll closed %d", n)
	}
	e.dial(query("1a5", false))
}

func TestLogout(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.dial(query("1a5", false, "foo"))
	b := e.dial(query("1a7", false, "foo"))
	if n := e.hub.Logout("1a5"); n != 1 {
		t.Fatalf("Logout closed %d want 1", n)
	}
	f := a.nextNonPing()
	if string(f.raw) != logoutFrame {
		t.Fatalf("got %s want %s", f.raw, logoutFrame)
	}
	if code := closeCode(a.closed()); code != websocket.CloseNormalClosure {
		t.Fatalf("close code %d want 1000", code)
	}
	e.hub.Emit("1a7", Event{Name: "foo"})
	if f := b.nextNonPing(); f.ev.Name != "foo" {
		t.Fatalf("other account got %s", f.raw)
	}
}

func TestSubscribeRejected(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		name       string
		query      string
		wantStatus int
		wantCode   string
	}{
		{"invalid event name", query("1a5", false, "bad name!"), http.StatusUnprocessableEntity, CodeInvalidCharacters},
		{"qualified without account", query("", false, "ping"), http.StatusInternalServerError, CodeInternalError},
		{"no render function", query("1a5", false) + "&norender=1", http.StatusInternalServerError, CodeInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertRejected(t, e, tt.query, tt.wantStatus, tt.wantCode)
		})
	}
	if n := e.hub.Subscribers(); n != 0 {
		t.Fatalf("rejected subscriptions were registered: %d", n)
	}
}

// assertRejected dials and expects an HTTP error with a Cattle error body.
func assertRejected(t *testing.T, e *env, q string, status int, code string) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: waitTimeout}
	ws, resp, err := d.Dial(e.wsURL(q), nil)
	if err == nil {
		_ = ws.Close()
		t.Fatal("dial succeeded, want rejection")
	}
	if resp == nil {
		t.Fatalf("no HTTP response: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("status %d want %d", resp.StatusCode, status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q", ct)
	}
	var body apiErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Type != "error" || body.Status != status || body.Code != code {
		t.Fatalf("error body %+v", body)
	}
}

func TestSlowConsumerDisconnected(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	e := newEnv(t, manual(Options{MaxQueued: 2, WriteTimeout: 200 * time.Millisecond, Logger: logger}))
	big := strings.Repeat("x", 256<<10)

	// The slow client never reads.
	slowWS, _ := e.dialRaw(query("1a5", false, "resource.change"))

	// The fast client counts frames without ever blocking.
	fast, _ := e.dialRaw(query("1a5", false, "resource.change"))
	var fastSeen atomic.Int64
	var lastID atomic.Value
	fastDone := make(chan struct{})
	go func() {
		defer close(fastDone)
		for {
			_, msg, err := fast.ReadMessage()
			if err != nil {
				return
			}
			if len(msg) > 4096 {
				fastSeen.Add(1)
				continue // a blob; skip decoding to stay fast under -race
			}
			var ev Event
			if json.Unmarshal(msg, &ev) == nil && ev.Name == "resource.change" {
				fastSeen.Add(1)
				lastID.Store(ev.ResourceID)
			}
		}
	}()
	t.Cleanup(func() { _ = fast.Close(); <-fastDone })
	eventually(t, waitTimeout, func() bool { return e.hub.Subscribers() == 2 }, "two subscribers")

	// Flood until the raw slow client (which never reads at all) is cut off.
	// Its TCP buffers fill, writes time out or its queue stays full.
	for i := range 20 {
		e.world.set("service", "1s"+string(rune('a'+i%26)), map[string]any{"blob": big})
	}
	eventually(t, 4*waitTimeout, func() bool {
		for i := range 20 {
			e.hub.ResourceChanged("1a5", "service", "1s"+string(rune('a'+i%26)))
		}
		e.hub.flush(nil)
		return e.hub.Subscribers() <= 1
	}, "slow subscriber disconnected")

	// The slow raw socket sees an abrupt end once it finally reads.
	if err := slowWS.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := slowWS.ReadMessage(); err != nil {
			if code := closeCode(err); code != 0 && code != websocket.CloseAbnormalClosure {
				t.Fatalf("slow consumer got close code %d", code)
			}
			if strings.Contains(err.Error(), "timeout") {
				t.Fatalf("slow consumer still connected: %v", err)
			}
			break
		}
	}

	// The fast client still gets events after the slow one is gone.
	e.world.set("service", "1zz", map[string]any{})
	e.hub.ResourceChanged("1a5", "service", "1zz")
	e.hub.flush(nil)
	eventually(t, waitTimeout, func() bool { return lastID.Load() == "1zz" }, "fast client receives later events")
	if fastSeen.Load() < 20 {
		t.Fatalf("fast client saw only %d events", fastSeen.Load())
	}

	warned := false
	for _, en := range hook.AllEntries() {
		if en.Level == logrus.WarnLevel {
			warned = true
		}
	}
	if !warned {
		t.Fatal("slow consumer disconnect was not logged at warn")
	}
}

func TestSubscribeWithoutUpgrade(t *testing.T) {
	e := newEnv(t, Options{})
	resp, err := http.Get(e.srv.URL + "/subscribe?" + query("1a5", false, "foo"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain GET got %d, want 400", resp.StatusCode)
	}
	if n := e.hub.Subscribers(); n != 0 {
		t.Fatalf("subscribers %d", n)
	}
}
