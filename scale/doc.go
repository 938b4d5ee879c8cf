// Package scale holds the decisions of the scaleService and scaleHost receiver drivers, with no I/O and no
// dependency on Cattle: the execution layer converts its objects (a Cattle service or host, later a Kubernetes
// workload or node) to the small types here, calls the planners and performs the calls they describe.
//
// # Services
//
// ValidateServiceConfig and ValidateServiceTarget reproduce webhook-service's create-time checks with its exact
// messages (cattle-protocol.md §6.5), returned as *Error so the API layer can answer 400 as the original did.
// PlanServiceScale applies a batch of queued requests, in order, to the current scale: N triggers that waited on
// one service become one target scale (one PUT), and every trigger still gets its own Decision. Each request is
// clamped to its own [min, max] instead of being refused (the original answered 400 "Cannot scale above provided
// max scale value", which Alertmanager never retries and users read as an error): at a bound the decision is
// Result "none" with Reason "at max" / "at min". A Cooldown optionally holds a receiver back for its
// cooldownSeconds after it last scaled ("cooling down").
//
// # Host groups
//
// Group selects the hosts matching all selector labels (keys and values compared case-insensitively, as the
// original), without hosts in error or on their way out (erroring, removing, removed, purging, purged). The
// original kept only one random selector pair (it looped over the map and used the last key it saw); we require
// all of them.
//
// PlanHostScaleUp clones the oldest clonable (machine-driver) host. The original's template index was a count of
// clonable hosts, not a position, so with custom and driver hosts mixed it could pick a custom host or a newer
// one; here custom hosts are never templates. New hostnames continue the naming of the group (prefix plus
// zero-padded number, as the original) without the original's endless loop once the number outgrows its width
// (rancher/rancher#7983), skipping names already used in the group, and never beyond max.
//
// PlanHostScaleDown removes hosts in state order inactive, deactivating, reconnecting, disconnected, then the
// rest newest first (mostRecent) or oldest first (leastRecent), at most amount and never below min. The original
// removed every host in one of those states even beyond amount and min.
//
// Everything here is a pure function of its arguments except Cooldown, which is safe for concurrent use. Inputs
// are never mutated, and maps meant to be sent (the labels of new hosts) are fresh copies.
package scale
