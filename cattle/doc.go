// Package cattle is the scale-subscriber's client for the Rancher 1.x
// ("Cattle") REST API, version v2-beta, scoped to one project.
//
// New normalises CATTLE_URL (/v1, /v2-beta or nothing, optionally with
// /projects/<id>) to <root>/v2-beta, finds the project (from the URL, the
// options, the X-API-Account-Kind/-Id headers of an environment key, or the
// only visible project), follows X-API-Schemas and indexes the schemas. After
// that every call goes to URLs the server handed out: collection links from
// the schemas, links.self and actions[name] from resources, pagination.next
// from collections. Those URLs are treated as opaque (Cattle lower-cases
// them).
//
// Invariants:
//   - Every call takes a context.Context, carries Basic auth, is bounded by the
//     per-request timeout (Options.Timeout, default 10s) and reads the response
//     body to the end before closing it. Writes send application/json.
//   - Schema method lists are honoured client-side (*MethodNotAllowedError),
//     and an action absent from the resource's actions map fails with
//     *ActionNotAvailableError, both before any request is made.
//   - Non-2xx answers become *APIError (errors.Is ErrNotFound for 404,
//     ErrUnauthorized for 401); requests that got no answer become
//     *TransportError; IsRetryable classifies both and refuses a cancelled
//     context. Errors name the operation ("update service 1s12: ...") and
//     never contain the secret key or a trigger key (query values of
//     key-like parameters are redacted).
//   - LaunchConfig round-trips every member Cattle sent, so an upgrade can
//     send the full current config back with only the image changed; Host
//     keeps its <driver>Config objects for cloning; Labels decode non-string
//     values by stringifying them instead of failing.
//   - A Client is immutable after New and safe for concurrent use; the package
//     has no mutable global state.
package cattle
