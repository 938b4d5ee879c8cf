package eventhub

import (
	"io"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"
)

// closeKind says how a connection ends when the hub (not the client) ends it.
type closeKind int

const (
	// closeGraceful writes a close frame and waits briefly for the echo.
	closeGraceful closeKind = iota + 1
	// closeAbrupt drops the TCP connection like a network failure.
	closeAbrupt
)

// closeRequest is the first reason anyone gave for ending a connection.
type closeRequest struct {
	kind   closeKind
	code   int
	text   string
	logout bool // write the logout frame before the close frame
}

// conn is one subscriber's websocket. Its writer (run) is the only goroutine
// writing data frames; its reader only reads, so gorilla answers control pings
// and close frames. Producers hand frames over through the bounded out queue.
type conn struct {
	ws      *websocket.Conn
	sub     Subscription
	route   router
	opts    *Options
	log     logrus.FieldLogger
	out     chan []byte
	stop    chan struct{} // closed once, by requestClose
	once    sync.Once
	req     closeRequest  // set inside once, read after stop is closed
	readEnd chan struct{} // closed when the read loop returns
}

func newConn(ws *websocket.Conn, sub Subscription, opts *Options, log logrus.FieldLogger) *conn {
	return &conn{
		ws:      ws,
		sub:     sub,
		route:   newRouter(sub),
		opts:    opts,
		log:     log,
		out:     make(chan []byte, opts.MaxQueued),
		stop:    make(chan struct{}),
		readEnd: make(chan struct{}),
	}
}

// requestClose asks the writer to end the connection. Only the first request
// counts; it reports whether this call was the first. An abrupt close also
// closes the socket at once so a writer stuck in a write returns.
func (c *conn) requestClose(r closeRequest) bool {
	first := false
	c.once.Do(func() {
		c.req = r
		close(c.stop)
		first = true
	})
	if first && r.kind == closeAbrupt {
		_ = c.ws.Close()
	}
	return first
}

// stopping reports whether a close was requested.
func (c *conn) stopping() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// enqueue queues one frame. When the queue is full it waits up to
// WriteTimeout for space; a subscriber still that far behind is a slow
// consumer and is disconnected (Cattle drops such sockets too). cancel aborts
// the wait without penalty. It reports whether the frame was queued.
func (c *conn) enqueue(msg []byte, cancel <-chan struct{}) bool {
	select {
	case c.out <- msg:
		return true
	case <-c.stop:
		return false
	default:
	}
	t := time.NewTimer(c.opts.WriteTimeout)
	defer t.Stop()
	select {
	case c.out <- msg:
		return true
	case <-c.stop:
		return false
	case <-cancel:
		return false
	case <-t.C:
	}
	if c.requestClose(closeRequest{kind: closeAbrupt}) {
		c.log.WithField("duration", c.opts.WriteTimeout).Warn("closing slow subscriber: queue full")
	}
	return false
}

// run serves the connection until it ends, then closes the socket and waits
// for its read loop: nothing started here outlives it.
func (c *conn) run() {
	go c.readLoop()
	c.writeLoop()
	_ = c.ws.Close()
	<-c.readEnd
}

// readLoop discards client frames; reading is what makes gorilla answer
// control pings with pongs and echo close frames.
func (c *conn) readLoop() {
	defer close(c.readEnd)
	c.ws.SetReadLimit(maxClientFrame)
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			if !c.stopping() {
				c.log.WithField("err", err).Debug("subscriber connection read ended")
			}
			return
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return
		}
	}
}

// writeLoop writes the first ping, then queued frames and periodic pings,
// until the client goes away, a write fails or a close is requested.
func (c *conn) writeLoop() {
	if err := c.writePing(); err != nil {
		c.log.WithField("err", err).Debug("write first ping failed")
		return
	}
	pings := 1
	ticker := time.NewTicker(c.opts.PingInterval)
	defer ticker.Stop()
	var lifetime <-chan time.Time
	if c.opts.MaxLifetime > 0 {
		t := time.NewTimer(c.opts.MaxLifetime)
		defer t.Stop()
		lifetime = t.C
	}
	for {
		select {
		case <-c.stop:
			c.finish()
			return
		case <-c.readEnd:
			return
		case msg := <-c.out:
			if err := c.write(msg); err != nil {
				c.writeFailed(err)
				return
			}
		case <-ticker.C:
			if c.opts.MaxPings > 0 && pings >= c.opts.MaxPings {
				c.log.Info("closing subscription: max pings reached")
				c.requestClose(closeRequest{kind: closeGraceful, code: websocket.CloseNormalClosure, text: "max pings reached"})
				c.finish()
				return
			}
			if err := c.writePing(); err != nil {
				c.writeFailed(err)
				return
			}
			pings++
		case <-lifetime:
			c.log.WithField("duration", c.opts.MaxLifetime).Info("closing subscription: max lifetime reached")
			c.requestClose(closeRequest{kind: closeGraceful, code: websocket.CloseNormalClosure, text: "max lifetime reached"})
			c.finish()
			return
		}
	}
}

// writeFailed logs a failed write unless the failure was caused by our own
// abrupt close.
func (c *conn) writeFailed(err error) {
	if c.stopping() {
		return
	}
	c.log.WithField("err", err).Warn("closing subscriber: write failed")
	c.requestClose(closeRequest{kind: closeAbrupt})
}

func (c *conn) writePing() error {
	ping := newPing(time.Now())
	msg, err := encodeEvent(&ping, c.opts.ExplicitNulls)
	if err != nil {
		return err
	}
	return c.write(msg)
}

// write sends one text frame bounded by WriteTimeout.
func (c *conn) write(msg []byte) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout)); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, msg)
}

// finish carries out the close request: abrupt closes drop the socket,
// graceful ones (optionally after the logout frame) send a close frame and
// give the client WriteTimeout to echo it.
func (c *conn) finish() {
	r := c.req
	if r.kind != closeGraceful {
		_ = c.ws.Close()
		return
	}
	if r.logout {
		if err := c.write([]byte(logoutFrame)); err != nil {
			_ = c.ws.Close()
			return
		}
	}
	deadline := time.Now().Add(c.opts.WriteTimeout)
	if err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(r.code, r.text), deadline); err != nil {
		_ = c.ws.Close()
		return
	}
	t := time.NewTimer(c.opts.WriteTimeout)
	defer t.Stop()
	select {
	case <-c.readEnd:
	case <-t.C:
	}
	_ = c.ws.Close()
}
