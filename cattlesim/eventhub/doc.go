// Package eventhub is the event side of cattlesim, the in-process Cattle
// emulator: the subscribe websocket, coalesced resource.change delivery,
// arbitrary event emission, and the publish/reply machinery used by
// request-style events. It follows cattle-protocol.md §1 and is the oracle
// our subscriber is tested against, so fidelity to Cattle 1.6 matters more
// than convenience.
//
// # Frames
//
// One JSON event per websocket text frame. Events are framed with Cattle's
// Jackson rules (id, name, resourceId, resourceType, data always present,
// possibly null; other fields omitted when empty), or with every field
// present and explicit nulls when Options.ExplicitNulls is set. A logout is
// the bare frame {"name":"logout"}.
//
// Every subscription gets a "ping" event at once and then every
// PingInterval; pings carry no replyTo and expect no reply.
//
// # Names and routing
//
// QUALIFIED subscribers (project, user and agent keys) have each requested
// name cut at the first ';' and implicitly qualified with
// ";account=<AccountID>"; frames carry the stripped name. RAW subscribers
// (service and superadmin keys) subscribe and receive names verbatim. Names
// match exactly; there are no wildcards.
//
// An event named x (no ';') for account A reaches QUALIFIED subscribers of A
// that asked for x, and RAW subscribers that asked for x (every account) or
// for "x;account=A" / "x;account=<numeric id of A>" (delivered under that
// qualified name). An event whose name carries a qualifier, such as
// "y;handler=h", reaches only RAW subscribers that asked for exactly that
// name. resource.change follows the same rules. Agent-key subscriptions
// (";agent=<id>") and the implicit "disconnect" subscription are not modelled
// as names; Logout plays the disconnect role.
//
// # resource.change
//
// ResourceChanged only marks (account, type, id) in a set. Every
// FlushInterval, Run sends one resource.change per marked resource to each
// matching subscriber, calling that subscriber's Render at delivery time, so
// intermediate states may be skipped, exactly as Cattle's one-second change
// publisher does. Render ok=false (gone or purged) means no event.
//
// # Requests and replies
//
// Request gives an event an id and a replyTo, emits it and waits for
// publishes (HandlePublish) whose name is the replyTo and whose previousIds[0]
// is the id: transitioning "yes" is progress and restarts the timeout,
// "error" is failure, anything else success. Without a final reply the event
// is re-sent once with the same id, then the request times out.
//
// # Invariants
//
//   - Lock order: no hub lock is held while calling Render, writing to a
//     socket or waiting for queue space. ResourceChanged takes only a short
//     internal lock and is safe under the caller's locks.
//   - Each connection has exactly two goroutines, a writer (the only one
//     writing data frames) and a reader (discarding client frames so gorilla
//     answers control pings and close frames), both owned and joined by
//     ServeSubscription. Run, on return, has closed and waited for them all.
//   - Queue overflow policy: a connection's queue holds at most MaxQueued
//     frames. A producer finding it full waits up to WriteTimeout; if it is
//     still full the subscriber is disconnected as a slow consumer (logged at
//     Warn). A single frame write longer than WriteTimeout also disconnects.
//     Frames are never silently dropped from a live connection.
//   - Closes requested by the hub (MaxLifetime, MaxPings, Logout, shutdown)
//     are graceful: a close frame, then up to WriteTimeout for the echo.
//     DropAll and slow consumers are abrupt: the TCP connection is closed
//     without a close frame, like a network drop.
//   - Memory is bounded: pending changes are a set, waiters keep a counter and
//     one final reply, and Published keeps the last PublishedLimit publishes.
package eventhub
