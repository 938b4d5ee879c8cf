package eventhub

import (
	"io"
	"time"

	"github.com/sirupsen/logrus"
)

// Defaults applied by New to zero (or negative) Options fields. They mirror the
// Cattle 1.6 settings named in each comment.
const (
	// DefaultPingInterval is api.sub.ping.interval.millis.
	DefaultPingInterval = 5 * time.Second
	// DefaultFlushInterval is task.resource.change.publish.schedule.
	DefaultFlushInterval = time.Second
	// DefaultWriteTimeout is Jetty's async write timeout for subscriptions.
	DefaultWriteTimeout = time.Second
	// DefaultMaxQueued is subscribe.max.queued.messages.
	DefaultMaxQueued = 100
	// DefaultPublishedLimit bounds the publish log kept for Published.
	DefaultPublishedLimit = 10000
	// DefaultRequestTimeoutMillis is eventing.timeout.millis, used by Request
	// when the event carries no TimeoutMillis.
	DefaultRequestTimeoutMillis = 45000
)

// maxClientFrame caps what a subscriber may send us; clients have nothing to
// say on this socket, so anything large is abuse and ends the connection.
const maxClientFrame = 64 << 10

// Options configures a Hub. The zero value is usable: every zero field gets
// the Cattle default listed on DefaultXxx.
type Options struct {
	// PingInterval is the application "ping" event period after the
	// immediate first one; default 5s.
	PingInterval time.Duration
	// MaxPings closes a subscription at the first ping tick after this many
	// pings were written (the immediate one counts), so a subscription lives
	// about MaxPings*PingInterval (Cattle: 8640 ≈ 12h). 0 = unlimited.
	MaxPings int
	// MaxLifetime closes each subscription after this long, forcing clients
	// to reconnect. 0 = unlimited.
	MaxLifetime time.Duration
	// FlushInterval is the resource.change coalescing tick; default 1s.
	FlushInterval time.Duration
	// WriteTimeout bounds one frame write, the wait for queue space when a
	// subscriber's queue is full, and the wait for the client's close echo;
	// default 1s.
	WriteTimeout time.Duration
	// MaxQueued is the per-connection queue of frames waiting to be written;
	// default 100.
	MaxQueued int
	// ExplicitNulls writes every omitted event field as an explicit null,
	// like older Cattle servers did (a fidelity knob for client decoders).
	ExplicitNulls bool
	// PublishedLimit bounds how many publishes Published remembers; default
	// 10000.
	PublishedLimit int
	// Logger receives the hub's logs; nil means a fresh logrus logger that
	// discards everything.
	Logger logrus.FieldLogger
}

// withDefaults returns a copy of o with every unset field defaulted.
func (o Options) withDefaults() Options {
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.MaxPings < 0 {
		o.MaxPings = 0
	}
	if o.MaxLifetime < 0 {
		o.MaxLifetime = 0
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = DefaultMaxQueued
	}
	if o.PublishedLimit <= 0 {
		o.PublishedLimit = DefaultPublishedLimit
	}
	if o.Logger == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		o.Logger = l
	}
	return o
}
