package eventhub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"
)

// waitTimeout bounds every wait in these tests; generous for -race.
const waitTimeout = 5 * time.Second

// world is a tiny resource store standing in for cattlesim's REST side.
type world struct {
	mu      sync.Mutex
	res     map[string]map[string]any // "type/id" -> resource
	apiType map[string]string
	renders map[string]int
}

func newWorld() *world {
	return &world{res: map[string]map[string]any{}, apiType: map[string]string{}, renders: map[string]int{}}
}

func (w *world) set(typ, id string, fields map[string]any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.res[typ+"/"+id] = fields
}

func (w *world) setAPIType(typ, id, apiType string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.apiType[typ+"/"+id] = apiType
}

func (w *world) renderCount(typ, id string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.renders[typ+"/"+id]
}

// renderFor returns a Render that stamps the subscriber's account into the
// output, proving rendering is per subscriber.
func (w *world) renderFor(account string) func(string, string) (json.RawMessage, string, bool) {
	return func(typ, id string) (json.RawMessage, string, bool) {
		w.mu.Lock()
		defer w.mu.Unlock()
		k := typ + "/" + id
		w.renders[k]++
		r, ok := w.res[k]
		if !ok {
			return nil, "", false
		}
		if r["panic"] == true {
			panic("render bug")
		}
		out := map[string]any{"id": id, "type": typ, "renderedFor": account}
		for f, v := range r {
			out[f] = v
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, "", false
		}
		apiType := w.apiType[k]
		if apiType == "" {
			apiType = typ
		}
		return b, apiType, true
	}
}

// env is a hub served on 127.0.0.1 by httptest, with Run going.
type env struct {
	t     *testing.T
	hub   *Hub
	srv   *httptest.Server
	world *world
	stop  context.CancelFunc
	ran   chan error
}

// newEnv starts a hub. The test handler builds the Subscription from the
// query: account=, raw=1, eventNames= (repeated).
func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	if opts.Logger == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		opts.Logger = l
	}
	e := &env{t: t, hub: New(opts), world: newWorld(), ran: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("/subscribe", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		account := q.Get("account")
		sub := Subscription{
			AccountID:  account,
			Raw:        q.Get("raw") == "1",
			EventNames: q["eventNames"],
			Render:     e.world.renderFor(account),
		}
		if q.Get("norender") == "1" {
			sub.Render = nil
		}
		w.Header().Set("X-Api-Account-Id", account)
		e.hub.ServeSubscription(w, r, sub)
	})
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	go func() { e.ran <- e.hub.Run(ctx) }()
	eventually(t, waitTimeout, func() bool {
		e.hub.mu.Lock()
		defer e.hub.mu.Unlock()
		return e.hub.running
	}, "hub running")
	t.Cleanup(func() {
		cancel()
		select {
		case <-e.ran:
		case <-time.After(waitTimeout):
			t.Errorf("hub Run did not return after cancel")
		}
	})
	return e
}

func (e *env) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/subscribe?" + query
}

// query builds the subscribe query string.
func query(account string, raw bool, names ...string) string {
	v := url.Values{}
	if account != "" {
		v.Set("account", account)
	}
	if raw {
		v.Set("raw", "1")
	}
	for _, n := range names {
		v.Add("eventNames", n)
	}
	return v.Encode()
}

// frame is one text frame as received.
type frame struct {
	raw []byte
	ev  Event
}

// client is a subscriber with a reader goroutine feeding frames.
type client struct {
	t      *testing.T
	ws     *websocket.Conn
	resp   *http.Response
	first  frame // the immediate ping, read by dial
	frames chan frame
	pongs  chan string
	done   chan struct{}
	err    error // read error, valid after done is closed
}

// dialRaw connects without starting a reader.
func (e *env) dialRaw(q string) (*websocket.Conn, *http.Response) {
	e.t.Helper()
	d := websocket.Dialer{HandshakeTimeout: waitTimeout}
	ws, resp, err := d.Dial(e.wsURL(q), nil)
	if err != nil {
		e.t.Fatalf("dial %s: %v", q, err)
	}
	e.t.Cleanup(func() { _ = ws.Close() })
	return ws, resp
}

// dial connects, starts reading and waits for the immediate ping, which the
// hub writes only once the subscription is registered.
func (e *env) dial(q string) *client {
	e.t.Helper()
	ws, resp := e.dialRaw(q)
	c := &client{t: e.t, ws: ws, resp: resp, frames: make(chan frame, 4096), pongs: make(chan string, 8), done: make(chan struct{})}
	ws.SetPongHandler(func(data string) error {
		select {
		case c.pongs <- data:
		default:
		}
		return nil
	})
	go c.read()
	e.t.Cleanup(func() {
		_ = ws.Close()
		<-c.done
	})
	c.first = c.next()
	if c.first.ev.Name != "ping" {
		e.t.Fatalf("first frame is not a ping: %s", c.first.raw)
	}
	return c
}

func (c *client) read() {
	defer close(c.done)
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		f := frame{raw: msg}
		if err := json.Unmarshal(msg, &f.ev); err != nil {
			c.err = err
			return
		}
		c.frames <- f
	}
}

// next returns the next frame, failing the test on timeout or close.
func (c *client) next() frame {
	c.t.Helper()
	select {
	case f := <-c.frames:
		return f
	case <-c.done:
		select {
		case f := <-c.frames:
			return f
		default:
		}
		c.t.Fatalf("connection closed while waiting for a frame: %v", c.err)
	case <-time.After(waitTimeout):
		c.t.Fatalf("timed out waiting for a frame")
	}
	return frame{}
}

// nextNonPing skips pings.
func (c *client) nextNonPing() frame {
	c.t.Helper()
	for {
		f := c.next()
		if f.ev.Name != "ping" {
			return f
		}
	}
}

// closed waits for the connection to end and returns the read error.
func (c *client) closed() error {
	c.t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(waitTimeout):
		c.t.Fatalf("connection still open")
		return nil
	}
}

// closeCode returns the websocket close code of err, or 0.
func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// eventually polls cond with short ticks until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// resourceOf decodes data.resource of a resource.change frame.
func resourceOf(t *testing.T, f frame) map[string]any {
	t.Helper()
	var d struct {
		Resource map[string]any `json:"resource"`
	}
	if err := json.Unmarshal(f.ev.Data, &d); err != nil {
		t.Fatalf("decode data of %s: %v", f.raw, err)
	}
	if d.Resource == nil {
		t.Fatalf("no data.resource in %s", f.raw)
	}
	return d.Resource
}

// manual returns options whose flush never fires by itself, so tests call
// hub.flush to make ticks deterministic.
func manual(o Options) Options {
	o.FlushInterval = time.Hour
	if o.PingInterval == 0 {
		o.PingInterval = time.Hour
	}
	return o
}
