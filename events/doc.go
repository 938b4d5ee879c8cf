// Package events connects scale-subscriber to Cattle's event stream and
// turns events into serialised, retried work.
//
// # Model
//
//	Subscriber --Event--> Router --Handler--> Queue.Add(key) --> Workers --> Processor(ctx, key)
//	(websocket)            (by name)          (dedup by key)     (N goroutines)
//
// The stages:
//
//   - Subscriber dials the subscribe URL (Basic auth), reads one JSON event
//     per websocket frame, decodes it (both the current framing with omitted
//     members and the old one with explicit nulls), and hands events to a
//     Sink, normally the Router, one at a time and in read order. Blank
//     frames are skipped; undecodable frames are counted and logged at Warn.
//   - Router picks a Handler by event name (full name, then the name without
//     ";..." qualifiers). Unknown names are counted and logged once at Debug.
//     Cattle's "ping" has a built-in no-op handler. Handlers run on the
//     delivery goroutine and are expected to be quick: compute a key such as
//     "service:1s12" and add it to the Queue.
//   - Queue is a keyed work queue with client-go workqueue semantics: FIFO
//     between keys; a key waiting is held once however often it is added; a
//     key is never handed to two workers at once, and a key added while in
//     flight is queued again when its worker calls Done; per-key exponential
//     retry backoff (AddRateLimited, Forget, NumRequeues) and AddAfter.
//   - Workers run N goroutines that Get a key, call the Processor, and then
//     Forget it (success), AddRateLimited it (retryable error, up to
//     MaxRetries), or give it up (permanent error or retries exhausted:
//     Error log, failure counter, OnFailure hook). Panics are recovered,
//     logged with their stack, counted and retried.
//
// # Overflow policy
//
// Nothing is dropped on the event path. Pressure is absorbed by coalescing:
// memory is bounded by the number of distinct keys, since a storm of events
// for one resource leaves one key in the queue, and processing is
// level-triggered (the Processor re-reads the resource). Between the socket
// and the Router sits a bounded buffer (EventBuffer); when it is full the
// reader stops reading (back-pressure), and if that outlasts PongWait the
// connection is recycled and OnConnect resyncs.
//
// # Reconnect policy
//
// Every connection end (read error, server close, Cattle's ~12 h
// subscription cap, missing pong, failed OnConnect) leads to a new dial after
// a jittered exponential backoff (DefaultBackoffInitial doubling to
// DefaultBackoffMax), reset once a connection stayed up for ResetAfter.
// Reconnecting goes on until the Run context ends. The one exception is a
// 401/403 on the very first connection: Run then returns an error matching
// ErrUnauthorized so that main can fail fast on bad credentials. After each
// upgrade OnConnect runs (the cache relists) before any event of that
// connection is delivered, so events lost while disconnected are recovered.
//
// Liveness: websocket control pings every PingInterval; no pong within
// PongWait closes the connection. Cattle's application "ping" events are
// recorded in Status (LastPing) and never answered.
//
// # Replies
//
// Events with a replyTo are requests Cattle waits on. With a Replier the
// Router answers them after the handler: success (no transitioning) or
// transitioning "error" with the error message. A handler can hand the
// request to the queue instead (EnqueueHandler with a Pending, which returns
// ErrDeferred); the worker then answers every request held for the key once
// the key succeeds or is given up, and sends transitioning "yes" keep-alives
// while it retries. Events without replyTo (resource.change, API pings)
// never get a reply.
//
// # Goroutines
//
// Subscriber.Run and Workers.Run own every goroutine of the package and wait
// for them before returning; AddAfter uses runtime timers that ShutDown
// stops. Nothing here is package-level mutable state.
package events
