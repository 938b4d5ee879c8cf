package events

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// liveness is the time of the last sign of life (connect or pong) of one
// connection. Written by the reader goroutine's pong handler, read by the
// keepalive goroutine.
type liveness struct{ nanos atomic.Int64 }

func (l *liveness) touch(t time.Time) { l.nanos.Store(t.UnixNano()) }

func (l *liveness) last() time.Time { return time.Unix(0, l.nanos.Load()) }

// keepalive sends a websocket ping every PingInterval and ends the session
// with ErrPongTimeout when no pong came for PongWait. The pong round trip
// proves both directions of the TCP connection work, which Cattle's
// application "ping" events (recorded in Status only) cannot. gorilla allows
// WriteControl concurrently with the reader, so this goroutine needs no lock.
func (s *Subscriber) keepalive(sctx context.Context, conn *websocket.Conn, alive *liveness, cancel context.CancelCauseFunc) {
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-sctx.Done():
			return
		case now := <-t.C:
			if now.Sub(alive.last()) > s.opts.PongWait {
				cancel(ErrPongTimeout)
				return
			}
			if err := conn.WriteControl(websocket.PingMessage, nil, now.Add(s.opts.WriteTimeout)); err != nil {
				cancel(fmt.Errorf("send websocket ping: %w", err))
				return
			}
		}
	}
}
