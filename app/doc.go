// Package app assembles scale-subscriber from its parts and runs them as one group: the Cattle client, the event
// subscriber (listener goroutine), the cache informer, the keyed work queue and its workers, and the healthcheck
// server (healthcheck goroutine). The first part to fail cancels the others and Run returns its error, so main
// exits non-zero; a cancelled context stops everything cleanly and Run returns nil.
//
// main builds an App from config.Config; tests and `scale-subscriber dev` build one in-process against cattlesim.
package app
