package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rancher/scale-subscriber/app"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/config"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/handlers"
	"github.com/rancher/scale-subscriber/internal/simtest"
)

// A consumer reads cattlesim's event stream one way. The throughput benchmark runs rounds of container flips
// and asks the consumer when it has caught up with each round.
type consumer interface {
	// expect announces a round: ids[i] now shows healthState states[i], one resource.change each.
	expect(ids, states []string)
	// caughtUp reports whether the consumer has processed every event of the round.
	caughtUp() bool
	// check says whether the round went as designed (no extra events, no reconnect, no read error).
	check() error
	// stop disconnects and waits until cattlesim has let go of the subscription.
	stop() error
}

// Consumer names, also the sub-benchmark names.
const (
	consumerRaw        = "raw"
	consumerSubscriber = "subscriber"
	consumerCache      = "cache"
)

// startupTimeout bounds connecting a consumer (the cache consumer relists first).
const startupTimeout = 30 * time.Second

// startConsumer connects a consumer of the given kind to w's project 1a5 and returns once it is subscribed and
// (for the cache) synced.
func startConsumer(ctx context.Context, kind string, w *world) (consumer, error) {
	client, err := cattle.New(ctx, cattle.Options{URL: w.srv.URL, AccessKey: w.key.AccessKey, SecretKey: w.key.SecretKey})
	if err != nil {
		return nil, fmt.Errorf("connect cattle client: %w", err)
	}
	url, err := client.SubscribeURL(handlers.ResourceChangeEventName)
	if err != nil {
		return nil, fmt.Errorf("subscribe url: %w", err)
	}
	var c consumer
	switch kind {
	case consumerRaw:
		c, err = startRaw(ctx, w, url, client.BasicAuthHeader())
	case consumerSubscriber:
		c, err = startSubscriber(w, url, client.BasicAuthHeader())
	case consumerCache:
		c, err = startCache(ctx, w)
	default:
		return nil, fmt.Errorf("unknown consumer %q", kind)
	}
	if err != nil {
		return nil, err
	}
	if err := waitUntil(startupTimeout, func() bool { return w.sim.Subscribers() == 1 }); err != nil {
		_ = c.stop()
		return nil, fmt.Errorf("%s consumer: cattlesim has %d subscribers, want 1: %w", kind, w.sim.Subscribers(), err)
	}
	return c, nil
}

// waitUnsubscribed waits until cattlesim has dropped every subscription, so the next consumer is alone (a
// closing subscription that still receives events could stall cattlesim's flush for its write timeout).
func waitUnsubscribed(w *world) error {
	if err := waitUntil(startupTimeout, func() bool { return w.sim.Subscribers() == 0 }); err != nil {
		return fmt.Errorf("cattlesim still has %d subscribers: %w", w.sim.Subscribers(), err)
	}
	return nil
}

// counter is the round bookkeeping of the consumers that count events rather than look at a cache.
type counter struct {
	seen   atomic.Int64 // resource.change events processed, written by the consumer's goroutine
	target int64        // events expected by the end of the current round
}

func (c *counter) expect(ids, _ []string) { c.target += int64(len(ids)) }
func (c *counter) caughtUp() bool         { return c.seen.Load() >= c.target }
func (c *counter) checkCount() error {
	if n := c.seen.Load(); n != c.target {
		return fmt.Errorf("processed %d resource.change events, want exactly %d", n, c.target)
	}
	return nil
}

// rawEvent is the whole frame decoded in one json.Unmarshal, the resource into the same typed struct the cache
// keeps (every benchmarked event is a container): the least work that turns the stream into usable values.
type rawEvent struct {
	Name         string `json:"name"`
	ResourceType string `json:"resourceType"`
	ResourceID   string `json:"resourceId"`
	Data         struct {
		Resource cattle.Instance `json:"resource"`
	} `json:"data"`
}

// rawEventGeneric decodes the resource into generic maps instead, for comparison.
type rawEventGeneric struct {
	Name         string `json:"name"`
	ResourceType string `json:"resourceType"`
	ResourceID   string `json:"resourceId"`
	Data         struct {
		Resource map[string]any `json:"resource"`
	} `json:"data"`
}

// rawConsumer is the baseline: a gorilla websocket read loop and json.Unmarshal, nothing more.
type rawConsumer struct {
	counter
	conn    *websocket.Conn
	done    chan struct{}
	readErr error // set before done is closed
}

func startRaw(ctx context.Context, w *world, url, auth string) (*rawConsumer, error) {
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, url, http.Header{"Authorization": {auth}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("dial raw subscription: %w", err)
	}
	c := &rawConsumer{conn: conn, done: make(chan struct{})}
	go c.read()
	return c, nil
}

// read owns the connection's reading until it fails (stop closes the connection).
func (c *rawConsumer) read() {
	defer close(c.done)
	for {
		_, frame, err := c.conn.ReadMessage()
		if err != nil {
			c.readErr = err
			return
		}
		var ev rawEvent
		if err := json.Unmarshal(frame, &ev); err != nil {
			c.readErr = fmt.Errorf("decode frame: %w", err)
			return
		}
		if ev.Name == handlers.ResourceChangeEventName {
			c.seen.Add(1)
		}
	}
}

func (c *rawConsumer) check() error {
	select {
	case <-c.done:
		return fmt.Errorf("raw subscription ended: %w", c.readErr)
	default:
	}
	return c.checkCount()
}

func (c *rawConsumer) stop() error {
	_ = c.conn.Close()
	<-c.done
	return nil
}

// subscriberConsumer is events.Subscriber (reader, decoder, keepalive, bounded buffer, delivery goroutine) with
// a Sink that only counts: the cost of our subscriber without the router and the cache.
type subscriberConsumer struct {
	counter
	sub    *events.Subscriber
	cancel context.CancelFunc
	done   chan error
}

func startSubscriber(w *world, url, auth string) (*subscriberConsumer, error) {
	c := &subscriberConsumer{done: make(chan error, 1)}
	sub, err := events.NewSubscriber(events.SubscriberOptions{
		URL:           url,
		Authorization: auth,
		Sink: events.SinkFunc(func(_ context.Context, ev events.Event) {
			if ev.Name == handlers.ResourceChangeEventName {
				c.seen.Add(1)
			}
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("new subscriber: %w", err)
	}
	c.sub = sub
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() { c.done <- sub.Run(ctx) }()
	return c, nil
}

func (c *subscriberConsumer) check() error {
	if st := c.sub.Status(); st.Reconnects > 0 || st.InvalidFrames > 0 {
		return fmt.Errorf("subscriber reconnected %d times, %d invalid frames (last error %v)",
			st.Reconnects, st.InvalidFrames, st.LastError)
	}
	return c.checkCount()
}

func (c *subscriberConsumer) stop() error {
	c.cancel()
	if err := <-c.done; err != nil {
		return fmt.Errorf("subscriber run: %w", err)
	}
	return nil
}

// cacheConsumer is the service itself, built by app.New against cattlesim: subscriber, router,
// handlers.ResourceChange, informer, store, keyed queue and workers, health server. A round is caught up when
// the cache shows every flipped container's new healthState (read through the store's public API).
type cacheConsumer struct {
	app    *app.App
	cancel context.CancelFunc
	done   chan error

	ids, states []string
	next        int // ids[:next] are known to be up to date in the cache
}

func startCache(ctx context.Context, w *world) (*cacheConsumer, error) {
	return startApp(ctx, w.srv.URL, w.key.AccessKey, w.key.SecretKey, pollInterval, startupTimeout)
}

// startApp builds the service with app.New for cattleURL and runs it until /healthcheck answers 200, checking
// every poll, for at most timeout.
func startApp(ctx context.Context, cattleURL, accessKey, secretKey string, poll, timeout time.Duration) (*cacheConsumer, error) {
	health, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen health: %w", err)
	}
	cfg := config.Defaults()
	cfg.CattleURL = cattleURL
	cfg.AccessKey, cfg.SecretKey = accessKey, secretKey
	cfg.ListenAddress = "127.0.0.1:0"
	cfg.HealthListenAddress = health.Addr().String()
	cfg.ResyncInterval = 0 // no periodic relist in the middle of a measurement
	a, err := app.New(ctx, app.Options{Config: cfg, HealthListener: health})
	if err != nil {
		_ = health.Close()
		return nil, fmt.Errorf("new app: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c := &cacheConsumer{app: a, cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- a.Run(runCtx) }()
	// /healthcheck is 200 once the subscription is up, a ping arrived and the first relist is done.
	url := "http://" + health.Addr().String() + "/healthcheck"
	client := &http.Client{Timeout: 5 * time.Second}
	ready := func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		// Read to the end so the connection is reused: a new connection per poll would cost the measured
		// process a dial and an accept every few milliseconds.
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	if err := simtest.Until(timeout, poll, ready); err != nil {
		_ = c.stop()
		return nil, fmt.Errorf("the service never became healthy: %w", err)
	}
	return c, nil
}

func (c *cacheConsumer) expect(ids, states []string) { c.ids, c.states, c.next = ids, states, 0 }

// caughtUp resumes where the last call stopped: events are applied in read order, so checking costs one
// lookup per container over the round, not one per container per poll.
func (c *cacheConsumer) caughtUp() bool {
	store := c.app.Store()
	for c.next < len(c.ids) {
		in, ok := store.Instance(c.ids[c.next])
		if !ok || in.HealthState != c.states[c.next] {
			return false
		}
		c.next++
	}
	return true
}

func (c *cacheConsumer) check() error {
	reconnects, err := counterValue(c.app.Registry(), "scale_subscriber_websocket_reconnects_total")
	if err != nil {
		return err
	}
	if reconnects > 0 {
		return fmt.Errorf("the service reconnected %v times during the measurement (it relisted)", reconnects)
	}
	return nil
}

func (c *cacheConsumer) stop() error {
	c.cancel()
	if err := <-c.done; err != nil {
		return fmt.Errorf("app run: %w", err)
	}
	return nil
}

// counterValue reads an unlabelled counter from a registry (0 when it was never incremented).
func counterValue(g prometheus.Gatherer, name string) (float64, error) {
	families, err := g.Gather()
	if err != nil {
		return 0, fmt.Errorf("gather metrics: %w", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		total := 0.0
		for _, m := range f.GetMetric() {
			total += m.GetCounter().GetValue()
		}
		return total, nil
	}
	return 0, nil
}
