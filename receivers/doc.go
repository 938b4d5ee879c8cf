// Package receivers serves webhook-service's /v1-webhooks HTTP API as a drop-in replacement: the same routes,
// the same receiver JSON, validation messages and error JSON, and the same storage (Cattle genericObjects of
// kind "webhookReceiver" with resourceData {url, driver, config}), so receivers created by the original keep
// working and an old client (Rancher's UI, scripts) does not notice the swap. What it adds or fixes:
//
//   - PUT /v1-webhooks/receivers/<id> changes a receiver's name and config while its key and trigger URL stay.
//     Cattle's genericObjects are immutable, so an update stores a new object carrying the same key and url
//     and then removes the old one: the receiver's id changes (the answer carries the new id).
//   - The project comes from Rancher's X-API-Project-Id header, falling back to ?projectId=, and must be the
//     one project this service runs for; the original trusted any projectId a caller named.
//   - Triggers are authenticated from the cache (Store.ReceiverByKey) with a constant-time key comparison, not
//     with an API listing per trigger. Keys and trigger URLs are never logged.
//   - Bodies are capped (413), management bodies must be JSON (Content-Type application/json, any charset
//     parameter accepted), and writes are reflected in the cache at once, so a list or a trigger right after a
//     create, update or delete sees it.
//   - A receiver of any driver may say who hears how its executions ended (the notify member, stored as
//     resourceData.notify beside the driver's config); its webhook secret and header values are write-only
//     (notify.go).
//
// Executing a trigger is not this package's job: the endpoint hands the receiver and the request to an
// Executor and writes the Outcome it returns.
//
// Legacy Rancher 1.4 receivers (trigger URLs with ?token=<JWT>) are not supported: they answer 400 with a
// message asking to re-create the receiver.
package receivers
