package events

import (
	"sync"
	"time"
)

// Status is a snapshot of the subscription for health checks.
type Status struct {
	// Connected is true while a websocket connection is open.
	Connected bool
	// Synced is true once OnConnect succeeded on the current connection,
	// i.e. events are being delivered.
	Synced bool
	// ConnectedSince is when the current connection was established; zero
	// when disconnected.
	ConnectedSince time.Time
	// LastPing is when Cattle's last application "ping" event arrived.
	LastPing time.Time
	// LastPong is when the last websocket pong arrived.
	LastPong time.Time
	// Reconnects counts dial attempts after the first one.
	Reconnects uint64
	// LastError is the most recent dial or connection error; it is kept
	// after a successful reconnect, for diagnosis.
	LastError error
	// EventsReceived counts decoded events over all connections.
	EventsReceived uint64
	// InvalidFrames counts frames that were not valid events.
	InvalidFrames uint64
}

// statusBox guards the live Status of a Subscriber.
type statusBox struct {
	mu sync.Mutex
	s  Status
}

func (b *statusBox) snapshot() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.s
}

func (b *statusBox) update(f func(s *Status)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(&b.s)
}
