// Package handlers turns Cattle events into work: a resource.change updates the cache and enqueues the keys
// whose reactions may need to run; the Dispatcher routes each dequeued key to the reconciler registered for its
// kind ("service", "host", "receiver", "hostgroup", ...).
//
// Handlers run on the event subscriber's delivery goroutine, in read order, so they only compute keys and add
// them to the queue; the work itself happens on the queue's workers, serialised per key. Keys with no registered
// reconciler are completed at once: the reactions arrive with the receivers (they register themselves here).
package handlers
