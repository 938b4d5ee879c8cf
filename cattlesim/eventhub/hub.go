package eventhub

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"
)

// Hub is the emulator's event bus: it serves subscriptions, coalesces and
// delivers resource.change events, emits arbitrary events and matches
// published replies to requests. Create it with New and drive it with Run.
type Hub struct {
	opts     Options
	log      logrus.FieldLogger
	upgrader websocket.Upgrader

	mu      sync.Mutex
	conns   map[*conn]struct{}
	running bool
	stopped bool
	quit    chan struct{}  // closed when Run starts shutting down
	connWG  sync.WaitGroup // one per served connection

	isStopped atomic.Bool // lock-free mirror of stopped for ResourceChanged

	changesMu sync.Mutex
	pending   map[changeKey]struct{}
	flushMu   sync.Mutex // one flush at a time

	waitersMu sync.Mutex
	waiters   map[string]*waiter // by replyTo

	pubMu     sync.Mutex
	published publishLog
}

// New returns a Hub configured by opts (zero fields get Cattle defaults). It
// starts nothing; call Run.
func New(opts Options) *Hub {
	opts = opts.withDefaults()
	h := &Hub{
		opts:      opts,
		log:       opts.Logger.WithField("component", "eventhub"),
		conns:     make(map[*conn]struct{}),
		quit:      make(chan struct{}),
		pending:   make(map[changeKey]struct{}),
		waiters:   make(map[string]*waiter),
		published: publishLog{limit: opts.PublishedLimit},
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// The caller has authenticated the request with Basic auth; Cattle
		// does not restrict origins on the subscribe endpoint.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return h
}

// Run flushes coalesced resource changes every FlushInterval until ctx is
// done; then it closes every subscription (close code 1001), waits for all
// served connections to end, fails pending Requests with ErrHubStopped and
// returns nil. Pings and lifetimes are timed per connection by the goroutines
// ServeSubscription owns. Run may be called once.
func (h *Hub) Run(ctx context.Context) error {
	h.mu.Lock()
	if h.running || h.stopped {
		h.mu.Unlock()
		return ErrAlreadyRunning
	}
	h.running = true
	h.mu.Unlock()

	ticker := time.NewTicker(h.opts.FlushInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			h.shutdown()
			return nil
		case <-ticker.C:
			h.flush(ctx.Done())
		}
	}
}

// shutdown refuses new subscriptions, closes existing ones and waits for them.
func (h *Hub) shutdown() {
	h.mu.Lock()
	h.stopped = true
	h.isStopped.Store(true)
	close(h.quit)
	conns := h.snapshotLocked()
	h.mu.Unlock()
	for _, c := range conns {
		c.requestClose(closeRequest{kind: closeGraceful, code: websocket.CloseGoingAway, text: "server shutting down"})
	}
	h.connWG.Wait()
	h.log.Info("event hub stopped")
}

// register adds c unless the hub is stopped. Each registered connection is
// counted in connWG until its ServeSubscription returns.
func (h *Hub) register(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return false
	}
	h.conns[c] = struct{}{}
	h.connWG.Add(1)
	return true
}

// unregister removes c; it is idempotent because DropAll removes early.
func (h *Hub) unregister(c *conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// snapshot returns the live connections; callers use it to work without
// holding h.mu (rendering and queueing may take a while).
func (h *Hub) snapshot() []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.snapshotLocked()
}

func (h *Hub) snapshotLocked() []*conn {
	out := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		out = append(out, c)
	}
	return out
}

// Subscribers returns how many subscriptions are open.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// DropAll closes every subscription now without a close handshake, like a
// network drop, and returns how many it closed.
func (h *Hub) DropAll() int {
	h.mu.Lock()
	conns := h.snapshotLocked()
	clear(h.conns)
	h.mu.Unlock()
	n := 0
	for _, c := range conns {
		if c.requestClose(closeRequest{kind: closeAbrupt}) {
			n++
		}
	}
	if n > 0 {
		h.log.Info("dropped all subscriptions")
	}
	return n
}

// Logout does what Cattle does on a "disconnect" for accountID: every
// subscription authenticated as that account gets {"name":"logout"} and is
// closed. It returns how many subscriptions it closed.
func (h *Hub) Logout(accountID string) int {
	n := 0
	for _, c := range h.snapshot() {
		if c.sub.AccountID != accountID {
			continue
		}
		if c.requestClose(closeRequest{kind: closeGraceful, code: websocket.CloseNormalClosure, text: "logout", logout: true}) {
			n++
		}
	}
	if n > 0 {
		h.log.WithField("project_id", accountID).Info("logged out subscriptions")
	}
	return n
}
