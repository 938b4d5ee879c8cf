// Package cattlesim is a faithful in-process emulator of Rancher 1.x "Cattle": the v2-beta REST API (discovery,
// schemas, resources, collections, writes, actions), its asynchronous state machines (services, upgrades, hosts,
// containers, generic objects, external host events) and its event websocket and publish endpoint (package
// eventhub).
//
// cattlesim is the project's test oracle and the backend of `scale-subscriber dev`, so it reproduces Cattle's
// observable behaviour, quirks included: lower-cased URLs, actions computed from the state table, removed rows
// hidden from lists but served by id, 405 when deleting an active host, 422 ActionNotAvailable, coalesced
// resource.change events, replies matched by previousIds[0]. The facts come from
// shared/reference/cattle-protocol.md; each rule in the code names the section it follows.
//
// Concurrency model: one mutex (Sim.mu) guards the whole store. Every mutation happens under it and reports the
// changed object to the event hub, which renders it later, outside the lock. State machines advance through timers
// owned by a scheduler (see scheduler.go); Close stops them all. Nothing in the package is global.
//
// Tests and tools steer the emulator through a control surface, both as Go methods on Sim and as HTTP under
// /_sim/ (see control.go): fault injection, websocket drops, container health rules, host agent states, stalled
// state machines and a log of the API calls received.
package cattlesim
