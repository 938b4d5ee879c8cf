// Package healthcheck serves the operational endpoints of scale-subscriber on
// their own listener, separate from the receivers API, the way Rancher 1.x
// services expose a health port to the HAProxy-based health checker.
//
// Routes:
//
//   - GET|HEAD /healthcheck runs every readiness Check (what Rancher's
//     health_check request_line "GET /healthcheck HTTP/1.0" hits). It answers
//     200 {"status":"ok","checks":{...}} only when all pass, otherwise 503
//     {"status":"unhealthy","checks":{"name":"reason",...}}. /readyz is an alias.
//   - GET|HEAD /healthz is liveness: 200 {"status":"ok"} while the process
//     answers (plus optional liveness checks).
//   - GET|HEAD /metrics exposes the injected prometheus.Gatherer.
//
// Invariants:
//
//   - The package knows nothing about Cattle. The consumer supplies checks
//     ("subscribed", "recent ping/pong", "first sync done", "queue not
//     wedged") as Check values; a check's error text is published verbatim in
//     the response body, so checks must never put secrets in their errors.
//   - One request runs the checks concurrently under one deadline
//     (Options.CheckTimeout, default 2s, below the 3s response_timeout Rancher
//     uses). A check still running at the deadline is reported as failed; its
//     goroutine ends when the check honours the cancelled context, and it
//     never blocks on reporting. A panicking check is reported as failed, it
//     does not take the process down.
//   - Every response, including 404, 405 and recovered panics (500), is JSON
//     written by one writer. Plain HTTP/1.0 requests without a Host header, as
//     HAProxy sends them, are served like any other.
//   - No global state: its own ServeMux, its own http.Server with timeouts, and
//     only the Gatherer it is given (never the default Prometheus registry).
package healthcheck
