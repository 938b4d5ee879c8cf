// Package httpserve is the one hardened HTTP server lifecycle of scale-subscriber and its one panic
// recoverer, shared by the healthcheck listener, the receivers API and the sim/dev commands' cattlesim.
//
// Serve runs an http.Server on a listener the caller opened: with the caller's timeouts (a header read
// timeout is required, so a slowloris client is always cut off) and header size cap, net/http's own error
// log routed into the caller's logger, and, when ctx ends, a graceful shutdown bounded by a timeout after
// which the remaining connections are closed. Request contexts carry ctx's values but by default outlive it,
// so a request in flight at shutdown finishes rather than failing half-way; Options.CancelRequests makes them
// end with ctx instead.
//
// Recover is the middleware that turns a handler panic into a logged error (with the stack, never the query,
// which can hold secrets) and one 500 written by the caller's own error writer, so each API keeps its error
// shape. When the answer has already started its status cannot change, so the connection is aborted
// instead; http.ErrAbortHandler passes through untouched.
//
// Body limits stay with each API (they answer an oversize body in their own shape). The package imports no
// project package.
package httpserve
