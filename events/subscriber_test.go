package events

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

// fakeCattle is a websocket endpoint shaped like Cattle's /subscribe.
type fakeCattle struct {
	t   *testing.T
	srv *httptest.Server

	refuse   atomic.Int32 // HTTP status to refuse upgrades with; 0 accepts
	noPong   atomic.Bool  // swallow client pings (a half-open peer)
	requests chan *http.Request
	conns    chan *serverConn
	dataIn   atomic.Int32 // data frames the client sent
}

type serverConn struct {
	ws     *websocket.Conn
	mu     sync.Mutex
	closed chan struct{}
}

func newFakeCattle(t *testing.T) *fakeCattle {
	t.Helper()
	f := &fakeCattle{t: t, requests: make(chan *http.Request, 100), conns: make(chan *serverConn, 100)}
	upgrader := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/v2-beta/subscribe", func(w http.ResponseWriter, r *http.Request) {
		f.requests <- r.Clone(context.Background())
		if code := int(f.refuse.Load()); code != 0 {
			http.Error(w, `{"type":"error","status":`+fmt.Sprint(code)+`}`, code)
			return
		}
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		if f.noPong.Load() {
			ws.SetPingHandler(func(string) error { return nil })
		}
		c := &serverConn{ws: ws, closed: make(chan struct{})}
		f.conns <- c
		// The handler goroutine is the connection's reader; reading is
		// what makes gorilla answer pings.
		defer close(c.closed)
		defer ws.Close()
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
			f.dataIn.Add(1)
		}
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeCattle) url(names ...string) string {
	q := url.Values{}
	for _, n := range names {
		q.Add("eventNames", n)
	}
	return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/v2-beta/subscribe?" + q.Encode()
}

func (f *fakeCattle) nextConn() *serverConn {
	f.t.Helper()
	return simtest.Recv(f.t, f.conns, 5*time.Second, "a subscription connection")
}

func (c *serverConn) send(t *testing.T, frame string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatalf("server write: %v", err)
	}
}

func (c *serverConn) closeNow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "subscription cap")
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	_ = c.ws.Close()
}

// chanSink delivers events to a channel.
type chanSink chan Event

func (s chanSink) Deliver(ctx context.Context, ev Event) {
	select {
	case s <- ev:
	case <-ctx.Done():
	}
}

// fastOptions returns options with short intervals for tests.
func fastOptions(u string, sink Sink) SubscriberOptions {
	return SubscriberOptions{
		URL:          u,
		Sink:         sink,
		PingInterval: 20 * time.Millisecond,
		PongWait:     200 * time.Millisecond,
		Backoff:      BackoffOptions{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond},
	}
}

// startSubscriber runs s until the test ends (or stop is called) and checks
// that Run returns nil promptly.
func startSubscriber(t *testing.T, s *Subscriber) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := simtest.Recv(t, done, 5*time.Second, "Run to return after cancel"); err != nil {
				t.Errorf("Run = %v, want nil after cancel", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestSubscriberDeliversInOrder(t *testing.T) {
	f := newFakeCattle(t)
	sink := make(chanSink, 200)
	opts := fastOptions(f.url("resource.change", "service.upgrade;handler=scale"), sink)
	opts.Authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte("access:secret"))
	opts.Header = http.Header{"X-Api-Project-Id": []string{"1a5"}}
	s, err := NewSubscriber(opts)
	if err != nil {
		t.Fatal(err)
	}
	startSubscriber(t, s)

	req := simtest.Recv(t, f.requests, 5*time.Second, "upgrade request")
	user, pass, ok := req.BasicAuth()
	if !ok || user != "access" || pass != "secret" {
		t.Fatalf("basic auth = %q %q %v", user, pass, ok)
	}
	if got := req.URL.Query()["eventNames"]; !reflect.DeepEqual(got, []string{"resource.change", "service.upgrade;handler=scale"}) {
		t.Fatalf("eventNames = %v", got)
	}
	if got := req.Header.Get("X-API-Project-Id"); got != "1a5" {
		t.Fatalf("project header = %q", got)
	}

	c := f.nextConn()
	const n = 100
	for i := range n {
		c.send(t, fmt.Sprintf(`{"id":"e%d","name":"resource.change","resourceType":"service","resourceId":"1s%d"}`, i, i))
	}
	for i := range n {
		ev := simtest.Recv(t, sink, 5*time.Second, "event")
		if want := fmt.Sprintf("e%d", i); ev.ID != want {
			t.Fatalf("event %d has id %s, want %s", i, ev.ID, want)
		}
	}
	st := s.Status()
	if !st.Connected || !st.Synced || st.ConnectedSince.IsZero() || st.EventsReceived != n {
		t.Fatalf("status = %+v", st)
	}
}

func TestSubscriberReconnectsAfterServerClose(t *testing.T) {
	f := newFakeCattle(t)
	sink := make(chanSink, 10)
	connects := make(chan uint64, 10)
	disconnects := make(chan error, 10)
	opts := fastOptions(f.url("resource.change"), sink)
	opts.OnConnect = func(_ context.Context, id uint64) error { connects <- id; return nil }
	opts.OnDisconnect = func(err error) { disconnects <- err }
	s, err := NewSubscriber(opts)
	if err != nil {
		t.Fatal(err)
	}
	stop := startSubscriber(t, s)

	c1 := f.nextConn()
	if id := simtest.Recv(t, connects, 5*time.Second, "OnConnect"); id != 1 {
		t.Fatalf("first connection id = %d", id)
	}
	c1.send(t, `{"id":"before","name":"resource.change"}`)
	if ev := simtest.Recv(t, sink, 5*time.Second, "event"); ev.ID != "before" {
		t.Fatalf("event = %s", ev.ID)
	}
	c1.closeNow()
	if err := simtest.Recv(t, disconnects, 5*time.Second, "OnDisconnect"); err == nil {
		t.Fatal("OnDisconnect got nil for a server close")
	}

	c2 := f.nextConn()
	if id := simtest.Recv(t, connects, 5*time.Second, "OnConnect again"); id != 2 {
		t.Fatalf("second connection id = %d", id)
	}
	c2.send(t, `{"id":"after","name":"resource.change"}`)
	if ev := simtest.Recv(t, sink, 5*time.Second, "event after reconnect"); ev.ID != "after" {
		t.Fatalf("event = %s", ev.ID)
	}
	if st := s.Status(); st.Reconnects < 1 || st.LastError == nil || !st.Connected {
		t.Fatalf("status after reconnect = %+v", st)
	}
	stop()
	if err := simtest.Recv(t, disconnects, 5*time.Second, "OnDisconnect at shutdown"); !errors.Is(err, context.Canceled) {
		t.Fatalf("OnDisconnect at shutdown = %v, want context.Canceled", err)
	}
	if st := s.Status(); st.Connected || st.Synced {
		t.Fatalf("status after stop = %+v", st)
	}
}

func TestSubscriberPongTimeout(t *testing.T) {
	f := newFakeCattle(t)
	f.noPong.Store(true)
	disconnects := make(chan error, 10)
	opts := fastOptions(f.url("resource.change"), make(chanSink, 10))
	opts.PingInterval = 10 * time.Millisecond
	opts.PongWait = 50 * time.Millisecond
	opts.OnDisconnect = func(err error) { disconnects <- err }
	s, err := NewSubscriber(opts)
	if err != nil {
		t.Fatal(err)
	}
	startSubscriber(t, s)

	c1 := f.nextConn()
	if err := simtest.Recv(t, disconnects, 5*time.Second, "disconnect for missing pong"); !errors.Is(err, ErrPongTimeout) {
		t.Fatalf("disconnect cause = %v, want ErrPongTimeout", err)
	}
	simtest.Recv(t, c1.closed, 5*time.Second, "client to close the silent connection")
	f.noPong.Store(false)
	f.nextConn()
	eventually(t, 5*time.Second, func() bool { return !s.Status().LastPong.IsZero() }, "pong recorded after reconnect")
}

func TestSubscriberApplicationPing(t *testing.T) {
	f := newFakeCattle(t)
	sink := make(chanSink, 10)
	s, err := NewSubscriber(fastOptions(f.url("resource.change"), sink))
	if err != nil {
		t.Fatal(err)
	}
	startSubscriber(t, s)
	c := f.nextConn()
	if !s.Status().LastPing.IsZero() {
		t.Fatal("LastPing set before any ping")
	}
	c.send(t, `{"id":"p1","name":"ping","resourceId":null,"resourceType":null,"data":{"options":{},"resources":[]},"time":1501234567890}`)
	c.send(t, `{"id":"marker","name":"resource.change"}`)
	if ev := simtest.Recv(t, sink, 5*time.Second, "ping event"); ev.ID != "p1" {
		t.Fatalf("first event = %s", ev.ID)
	}
	if ev := simtest.Recv(t, sink, 5*time.Second, "marker"); ev.ID != "marker" {
		t.Fatalf("second event = %s", ev.ID)
	}
	if s.Status().LastPing.IsZero() {
		t.Fatal("application ping not recorded in Status")
	}
	if n := f.dataIn.Load(); n != 0 {
		t.Fatalf("client wrote %d data frames; pings must not be answered", n)
	}
}

func TestSubscriberInvalidFrames(t *testing.T) {
	f := newFakeCattle(t)
	sink := make(chanSink, 10)
	m, reg := newTestMetrics(t)
	opts := fastOptions(f.url("resource.change"), sink)
	opts.Metrics = m
	s, err := NewSubscriber(opts)
	if err != nil {
		t.Fatal(err)
	}
	startSubscriber(t, s)
	c := f.nextConn()
	for _, frame := range []string{"not json", "   \n", `{"id":"noname"}`, `{"id":"ok","name":"resource.change;account=5"}`} {
		c.send(t, frame)
	}
	if ev := simtest.Recv(t, sink, 5*time.Second, "valid event"); ev.ID != "ok" {
		t.Fatalf("event = %s", ev.ID)
	}
	if st := s.Status(); st.InvalidFrames != 2 || st.EventsReceived != 1 || !st.Connected {
		t.Fatalf("status = %+v, want 2 invalid frames, 1 event, still connected", st)
	}
	if got := simtest.Metric(t, reg, "scale_subscriber_events_invalid_total", nil); got != 2 {
		t.Fatalf("invalid metric = %v, want 2", got)
	}
	if got := simtest.Metric(t, reg, "scale_subscriber_events_received_total", map[string]string{"name": "resource.change"}); got != 1 {
		t.Fatalf("received metric = %v, want 1", got)
	}
}

func TestSubscriberUnauthorizedFirstDial(t *testing.T) {
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			f := newFakeCattle(t)
			f.refuse.Store(int32(code))
			s, err := NewSubscriber(fastOptions(f.url("resource.change"), make(chanSink, 1)))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = s.Run(ctx)
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Run = %v, want ErrUnauthorized", err)
			}
			var he *HandshakeError
			if !errors.As(err, &he) || he.StatusCode != code || !strings.Contains(he.Body, "error") {
				t.Fatalf("Run error = %#v, want *HandshakeError %d with body", err, code)
			}
			if ctx.Err() != nil {
				t.Fatal("Run did not fail fast")
			}
		})
	}
}

func TestSubscriberRetriesOtherDialErrors(t *testing.T) {
	f := newFakeCattle(t)
	f.refuse.Store(http.StatusServiceUnavailable)
	connects := make(chan uint64, 1)
	opts := fastOptions(f.url("resource.change"), make(chanSink, 1))
	opts.OnConnect = func(_ context.Context, id uint64) error { connects <- id; return nil }
	s, err := NewSubscriber(opts)
	if err != nil {
		t.Fatal(err)
	}
	startSubscriber(t, s)
	for range 3 {
		simtest.Recv(t, f.requests, 5*time.Second, "dial attempt")
	}
	var he *HandshakeError
	if st := s.Status(); !errors.As(st.LastError, &he) || he.StatusCode != http.StatusServiceUnavailable || st.Connected {
		t.Fatalf("status = %+v", st)
	}
	f.refuse.Store(0)
	simtest.Recv(t, connects, 5*time.Second, "connection once the server recovers")
}

func TestSubscriberUnauthorizedAfterConnectKeepsRetrying(t *testing.T) {
	f := newFakeCattle(t)
	s, err := NewSubscriber(fastOptions(f.url("resource.change"), make(chanSink, 1)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	simtest.Recv(t, f.requests, 5*time.Second, "first dial")
	c := f.nextConn()
	f.refuse.Store(http.StatusUnauthorized)
	c.closeNow()
	for range 3 {
		simtest.Recv(t, f.requests, 5*time.Second, "redial refused with 401")
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned %v after a later 401; it must keep retrying", err)
	default:
	}
	if st := s.Status(); !errors.Is(st.LastError, ErrUnauthorized) || st.Reconnects < 3 {
		t.Fatalf("status = %+v", st)
	}
	cancel()
	if err := simtest.Recv(t, done, 5*time.Second, "Run to return"); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestSubscriberOnConnectBeforeDelivery(t *testing.T) {
	f := newFakeCattle(t)
	sink := make(chanSink, 10)
	var s *Subscriber
	opts := fastOptions(f.url("resource.change"), sink)
	opts.OnConnect = func(ctx context.Context, _ uint64) error {
		// The reader keeps reading while the relist runs ...
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for s.Status().EventsReceived == 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("event never read during OnConnect: %w", ctx.Err())
			case <-tick.C:
			}
		}
		// ... but nothing is delivered before the relist is done.
		if len(sink) != 0 {
			return errors.New("event delivered before OnConnect returned")
		}
		return nil
	}
	var err error
	s, err = NewSubscriber(opts)
	if err != nil {
		t.Fatal(err)
	}
	startSubscriber(t, s)
	c := f.nextConn()
	c.send(t, `{"id":"early","name":"resource.change"}`)
	if ev := simtest.Recv(t, sink, 5*time.Second, "event after OnConnect"); ev.ID != "early" {
		t.Fatalf("event = %s", ev.ID)
	}
	if st := s.Status(); st.Reconnects != 0 || !st.Synced {
		t.Fatalf("status = %+v (OnConnect must have succeeded first time)", st)
	}
}

func TestSubscriberOnConnectErrorReconnects(t *testing.T) {
	f := newFakeCattle(t)
	sink := make(chanSink, 10)
	var calls atomic.Int32
	disconnects := make(chan error, 10)
	opts := fastOptions(f.url("resource.change"), sink)
	relistErr := errors.New("list services: 503")
	opts.OnConnect = func(context.Context, uint64) error {
		if calls.Add(1) == 1 {
			return relistErr
		}
		return nil
	}
	opts.OnDisconnect = func(err error) { disconnects <- err }
	s, err := NewSubscriber(opts)
	if err != nil {
		t.Fatal(err)
	}
	startSubscriber(t, s)
	c1 := f.nextConn()
	if err := simtest.Recv(t, disconnects, 5*time.Second, "disconnect after failed OnConnect"); !errors.Is(err, relistErr) {
		t.Fatalf("disconnect cause = %v", err)
	}
	simtest.Recv(t, c1.closed, 5*time.Second, "first connection closed")
	c2 := f.nextConn()
	c2.send(t, `{"id":"x","name":"resource.change"}`)
	if ev := simtest.Recv(t, sink, 5*time.Second, "event on second connection"); ev.ID != "x" {
		t.Fatalf("event = %s", ev.ID)
	}
}

func TestSubscriberCancelStopsEverything(t *testing.T) {
	f := newFakeCattle(t)
	// A sink that blocks until its context ends, to prove shutdown does
	// not wait on a busy consumer that honours ctx.
	blocked := make(chan struct{}, 1)
	sink := SinkFunc(func(ctx context.Context, _ Event) {
		blocked <- struct{}{}
		<-ctx.Done()
	})
	before := runtime.NumGoroutine()
	s, err := NewSubscriber(fastOptions(f.url("resource.change"), sink))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	c := f.nextConn()
	c.send(t, `{"id":"1","name":"resource.change"}`)
	simtest.Recv(t, blocked, 5*time.Second, "sink busy")

	start := time.Now()
	cancel()
	if err := simtest.Recv(t, done, 2*time.Second, "Run to return"); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Run took %v to return after cancel", d)
	}
	simtest.Recv(t, c.closed, 5*time.Second, "server side to see the close")
	eventually(t, 5*time.Second, func() bool { return runtime.NumGoroutine() <= before },
		"goroutines back to the level before Run")
}

func TestSubscriberRunTwice(t *testing.T) {
	f := newFakeCattle(t)
	s, err := NewSubscriber(fastOptions(f.url("resource.change"), make(chanSink, 1)))
	if err != nil {
		t.Fatal(err)
	}
	startSubscriber(t, s)
	f.nextConn()
	if err := s.Run(context.Background()); err == nil {
		t.Fatal("second concurrent Run must fail")
	}
}

func TestNewSubscriberValidates(t *testing.T) {
	sink := make(chanSink)
	tests := []struct {
		name string
		opts SubscriberOptions
	}{
		{name: "http scheme", opts: SubscriberOptions{URL: "http://cattle:8080/v1/subscribe", Sink: sink}},
		{name: "no host", opts: SubscriberOptions{URL: "ws:///v1/subscribe", Sink: sink}},
		{name: "bad url", opts: SubscriberOptions{URL: "ws://[::1", Sink: sink}},
		{name: "no sink", opts: SubscriberOptions{URL: "ws://cattle:8080/v1/subscribe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSubscriber(tt.opts); err == nil {
				t.Fatal("want error")
			}
		})
	}
}
