// Package execution runs receiver triggers. A trigger becomes a "webhook.execute" event delivered through the
// same router as Cattle's events; its handler parks the work (an intent) under the key of its target
// ("service:1s12", "hostgroup:pool=workers") and adds the key to the shared work queue, so triggers and event
// reactions on one target are processed by one worker at a time, in order, and coalesce: every intent parked
// under a key when the worker takes it is decided together (N scale triggers become one PUT) and each trigger
// still gets its own answer.
//
// The decisions themselves live in the backend-neutral packages scale and upgrade; this package converts Cattle
// objects to their types, performs the Cattle calls, records every execution in a bounded history (served at
// /v1-webhooks/executions) and drives upgrades to completion from resource.change events: the service showing
// "upgraded" is what triggers finishupgrade, not a poll.
package execution
