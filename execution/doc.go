// Package execution runs receiver triggers. A trigger becomes a "webhook.execute" event delivered through the
// same router as Cattle's events; its handler parks the work (an intent) under the key of its target
// ("service:1s12", "hostgroup:pool=workers") and adds the key to the shared work queue, so triggers and event
// reactions on one target are processed by one worker at a time, in order, and coalesce: every intent parked
// under a key when the worker takes it is decided together (N scale triggers become one PUT) and each trigger
// still gets its own answer.
//
// The decisions themselves live in the backend-neutral packages scale and upgrade; this package converts Cattle
// objects to their types, performs the Cattle calls, records every execution in a bounded history (served at
// /v1-webhooks/executions, each with its steps) and drives upgrades to completion from resource.change events,
// not a poll: finishupgrade once the service shows "upgraded" and every new container is healthy, rollback when
// they stay unhealthy past a grace, Cattle reports an error or the deadline passes (the grace and the deadline
// are delayed re-adds of the service's key, after which the state is read again). Upgrades are marked in their
// launch configs (MarkerLabel), so after a restart those in flight are adopted from Cattle's state. Options.OnFinal
// hears of every execution's final outcome once (the outcome notifications' hook).
package execution
