package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"
)

// Subscriber defaults.
const (
	DefaultHandshakeTimeout = 30 * time.Second
	DefaultPingInterval     = 5 * time.Second
	DefaultPongWait         = 10 * time.Second
	DefaultWriteTimeout     = 5 * time.Second
	DefaultOnConnectTimeout = 2 * time.Minute
	DefaultEventBuffer      = 256
	DefaultReadLimit        = 32 << 20
)

// maxErrorBody bounds how much of a refused handshake's body is kept.
const maxErrorBody = 512

// SubscriberOptions configures a Subscriber. URL and Sink are required;
// zero durations and sizes take the Default* values.
type SubscriberOptions struct {
	// URL is the full ws:// or wss:// subscribe URL, including one
	// eventNames parameter per event name.
	URL string
	// Authorization is the Authorization header value sent on the upgrade
	// request, e.g. "Basic base64(access:secret)". It is never logged.
	Authorization string
	// Header holds extra upgrade request headers (e.g. X-API-Project-Id).
	Header http.Header
	// Sink receives every decoded event, in read order, on one goroutine.
	// It must honour ctx: Run waits for it on shutdown.
	Sink Sink
	// OnConnect, if set, runs after each successful upgrade and before
	// any event of that connection is delivered (typically a cache
	// relist). It runs on the delivery goroutine while frames keep being
	// read and buffered, with a context that ends after OnConnectTimeout
	// or when the connection drops. An error closes the connection and the
	// subscriber reconnects with backoff; the events buffered meanwhile
	// are discarded, as the next OnConnect resyncs.
	OnConnect func(ctx context.Context, connID uint64) error
	// OnDisconnect, if set, is called with the cause after each connection
	// ends (context.Canceled at shutdown).
	OnDisconnect func(err error)
	// Dialer is copied and used for dialing (TLS settings, proxy); nil
	// means a dialer honouring the proxy environment variables.
	Dialer *websocket.Dialer
	// HandshakeTimeout bounds the websocket upgrade.
	HandshakeTimeout time.Duration
	// PingInterval is the period of websocket control pings.
	PingInterval time.Duration
	// PongWait is how long the connection may go without a pong before it
	// is closed and re-established; detection happens on the next ping
	// tick, so within PongWait+PingInterval.
	PongWait time.Duration
	// WriteTimeout bounds writing one control frame.
	WriteTimeout time.Duration
	// OnConnectTimeout bounds OnConnect.
	OnConnectTimeout time.Duration
	// EventBuffer is how many decoded events may wait for the Sink. When
	// it is full, reading stops (back-pressure; nothing is dropped), and
	// if that lasts past PongWait the connection is recycled.
	EventBuffer int
	// ReadLimit is the largest accepted frame in bytes; a larger one
	// closes the connection.
	ReadLimit int64
	// Backoff configures the reconnect waits.
	Backoff BackoffOptions
	// Logger defaults to a discarding logger.
	Logger logrus.FieldLogger
	// Metrics records received and invalid events and reconnects.
	Metrics *Metrics
}

// Subscriber keeps a Cattle event subscription alive: it dials, reads and
// decodes frames, keeps the connection alive with websocket pings, delivers
// events in order to a Sink and reconnects with jittered exponential backoff
// whenever the connection ends, until its context is cancelled.
type Subscriber struct {
	opts     SubscriberOptions
	url      string
	redacted string
	header   http.Header
	dialer   websocket.Dialer
	log      logrus.FieldLogger
	status   statusBox
	running  atomic.Bool
}

// NewSubscriber validates opts and returns a Subscriber; nothing runs until
// Run.
func NewSubscriber(opts SubscriberOptions) (*Subscriber, error) {
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("new subscriber: parse subscribe url: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("new subscriber: subscribe url scheme must be ws or wss, got %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("new subscriber: subscribe url has no host")
	}
	if opts.Sink == nil {
		return nil, errors.New("new subscriber: sink is required")
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = DefaultPingInterval
	}
	if opts.PongWait <= 0 {
		opts.PongWait = DefaultPongWait
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.OnConnectTimeout <= 0 {
		opts.OnConnectTimeout = DefaultOnConnectTimeout
	}
	if opts.EventBuffer <= 0 {
		opts.EventBuffer = DefaultEventBuffer
	}
	if opts.ReadLimit <= 0 {
		opts.ReadLimit = DefaultReadLimit
	}
	opts.Backoff = opts.Backoff.withDefaults()

	dialer := websocket.Dialer{Proxy: http.ProxyFromEnvironment}
	if opts.Dialer != nil {
		dialer = *opts.Dialer
	}
	dialer.HandshakeTimeout = opts.HandshakeTimeout

	header := opts.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if opts.Authorization != "" {
		header.Set("Authorization", opts.Authorization)
	}
	return &Subscriber{
		opts:     opts,
		url:      u.String(),
		redacted: u.Redacted(),
		header:   header,
		dialer:   dialer,
		log:      componentLogger(opts.Logger),
	}, nil
}

// Status returns a snapshot of the subscription state.
func (s *Subscriber) Status() Status { return s.status.snapshot() }

// Run subscribes and keeps the subscription alive until ctx ends, then
// closes the connection, waits for its goroutines and the Sink, and returns
// nil. It returns early with an error matching ErrUnauthorized if the server
// refuses the upgrade with 401 or 403 before any connection ever succeeded,
// so a misconfigured process fails fast; once connected, such refusals are
// logged at Error and retried with backoff. Run must not be called twice at
// the same time.
func (s *Subscriber) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("run subscriber: already running")
	}
	defer s.running.Store(false)

	bo := newBackoff(s.opts.Backoff, nil)
	everConnected := false
	var connID uint64
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return nil
		}
		if attempt > 1 {
			s.opts.Metrics.reconnect()
			s.status.update(func(st *Status) { st.Reconnects++ })
		}
		conn, err := s.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.status.update(func(st *Status) { st.LastError = err })
			entry := s.log.WithFields(logrus.Fields{"url": s.redacted, "attempt": attempt}).WithError(err)
			if errors.Is(err, ErrUnauthorized) {
				if !everConnected {
					entry.Error("subscription refused")
					return fmt.Errorf("run subscriber: %w", err)
				}
				entry.Error("subscription refused, retrying")
			} else {
				entry.Warn("subscription dial failed")
			}
			if !sleep(ctx, bo.Next()) {
				return nil
			}
			continue
		}

		everConnected = true
		connID++
		connectedAt := time.Now()
		s.log.WithFields(logrus.Fields{"url": s.redacted, "attempt": attempt}).Info("subscription connected")
		err = s.session(ctx, conn, connID)
		s.status.update(func(st *Status) {
			st.Connected, st.Synced, st.ConnectedSince = false, false, time.Time{}
			if ctx.Err() == nil {
				st.LastError = err
			}
		})
		if s.opts.OnDisconnect != nil {
			s.opts.OnDisconnect(err)
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.WithFields(logrus.Fields{"url": s.redacted, "duration": time.Since(connectedAt)}).WithError(err).
			Warn("subscription lost")
		if time.Since(connectedAt) >= s.opts.Backoff.ResetAfter {
			bo.Reset()
		}
		if !sleep(ctx, bo.Next()) {
			return nil
		}
	}
}

func (s *Subscriber) dial(ctx context.Context) (*websocket.Conn, error) {
	conn, resp, err := s.dialer.DialContext(ctx, s.url, s.header)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			_ = resp.Body.Close()
			return nil, fmt.Errorf("dial subscription: %w",
				&HandshakeError{StatusCode: resp.StatusCode, Body: strings.TrimSpace(string(body))})
		}
		return nil, fmt.Errorf("dial subscription: %w", err)
	}
	return conn, nil
}

// session serves one connection until it fails or ctx ends and returns the
// cause. It owns three goroutines (reader, keepalive, delivery) and waits for
// all of them.
func (s *Subscriber) session(ctx context.Context, conn *websocket.Conn, connID uint64) error {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	now := time.Now()
	alive := &liveness{}
	alive.touch(now)
	conn.SetReadLimit(s.opts.ReadLimit)
	conn.SetPongHandler(func(string) error {
		t := time.Now()
		alive.touch(t)
		s.status.update(func(st *Status) { st.LastPong = t })
		return nil
	})
	s.status.update(func(st *Status) {
		st.Connected, st.Synced, st.ConnectedSince = true, false, now
	})

	frames := make(chan Event, s.opts.EventBuffer)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		defer close(frames)
		cancel(s.readLoop(sctx, conn, frames))
	}()
	go func() {
		defer wg.Done()
		s.keepalive(sctx, conn, alive, cancel)
	}()
	go func() {
		defer wg.Done()
		s.deliverLoop(ctx, sctx, connID, frames, cancel)
	}()

	<-sctx.Done()
	if ctx.Err() != nil {
		// Polite close so the server frees the subscription at once.
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(s.opts.WriteTimeout))
	}
	_ = conn.Close()
	wg.Wait()
	return context.Cause(sctx)
}

// readLoop reads frames until the connection fails. It returns the read
// error, or nil when the session ended first.
func (s *Subscriber) readLoop(sctx context.Context, conn *websocket.Conn, frames chan<- Event) error {
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			if sctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read event frame: %w", err)
		}
		ev, err := DecodeEvent(data)
		if errors.Is(err, ErrEmptyFrame) {
			continue
		}
		if err != nil {
			s.opts.Metrics.invalidFrame()
			s.status.update(func(st *Status) { st.InvalidFrames++ })
			s.log.WithField("bytes", len(data)).WithError(err).Warn("invalid event frame")
			continue
		}
		s.opts.Metrics.eventReceived(ev.Name)
		isPing := ev.BaseName() == PingEventName
		received := time.Now()
		s.status.update(func(st *Status) {
			st.EventsReceived++
			if isPing {
				st.LastPing = received
			}
		})
		select {
		case frames <- ev:
		case <-sctx.Done():
			return nil
		}
	}
}

// deliverLoop runs OnConnect, then hands buffered events to the Sink in
// order. Events are delivered with the Run context, not the session's, so
// events read before a connection drop are still delivered.
func (s *Subscriber) deliverLoop(ctx, sctx context.Context, connID uint64, frames <-chan Event, cancel context.CancelCauseFunc) {
	if s.opts.OnConnect != nil {
		octx, ocancel := context.WithTimeout(sctx, s.opts.OnConnectTimeout)
		err := s.opts.OnConnect(octx, connID)
		ocancel()
		if err != nil {
			cancel(fmt.Errorf("on connect: %w", err))
			return
		}
	}
	if sctx.Err() == nil {
		s.status.update(func(st *Status) { st.Synced = true })
	}
	for {
		select {
		case ev, ok := <-frames:
			if !ok {
				return
			}
			s.opts.Sink.Deliver(ctx, ev)
		case <-ctx.Done():
			return
		}
	}
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
