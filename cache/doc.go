// Package cache keeps an in-memory copy of the Cattle resources scale-subscriber reacts to — services, hosts,
// instances and receivers (genericObjects of kind webhookReceiver) — fed by resource.change events and repaired by
// relists, in the manner of client-go's informers.
//
// Store is the copy and its indexes (services by label and by image repository, hosts by label, receivers by key).
// Objects in it are immutable: an update replaces the pointer, so readers may keep what they got without locks
// and must not modify it. Reads take a read lock for the duration of a map lookup or an index walk only.
//
// Informer keeps Store true to Cattle. On every (re)connect of the event stream, and every resync interval, it
// relists all four types (all pages, paged by id so a removal during the walk cannot shift a row out of it) while
// events are only recorded, replaces the store with the lists, then re-reads every object an event named
// during the relist (so a stale list row never wins over a newer event, and an event rendered before the list
// never moves an object back), and only then applies events directly, in arrival order. The re-reads go by id,
// or, for a kind so many events named that a list is cheaper, by one more list of that kind started after those
// events, in rounds until no event arrived during one. Cattle resources carry no version to compare, so this
// ordering is the whole guarantee: a re-read still in flight when a live event for the same object is applied
// is dropped rather than written over it (which is why the last round, run live, reads by id only). Every
// object that changed is reported through OnChange so reactions can be enqueued.
//
// A request of a relist that fails with a retryable error (a page, a re-read) is retried in place a few times
// before the relist is given up and started over after a backoff: a slower walk is as correct as a fast one,
// since everything that changes behind it raises an event, and under a sustained error rate a relist that
// started over at every failure would need all its pages to succeed in one go.
package cache
