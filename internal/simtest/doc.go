// Package simtest is the one harness the tests of this module share: cattlesim served on a loopback port with
// its event hub running (StartSim), a goroutine owned by the test and stopped and waited for at its end (Go),
// polling with a deadline (Until, Eventually, EventuallyEvery, Recv), a concurrency-safe log buffer (LogBuffer),
// a small HTTP client (Send, Answer, RedactURL), Prometheus readers (Metric, SampleValue), a real SMTP server
// (StartMailServer) and a real HAProxy health checker (StartHAProxy). Its sub-package apptest starts the real
// service (app.New + Run) against a Sim.
//
// It is test support compiled into no binary: scripts/validate allows only _test.go files (and simtest's own
// sub-packages) to import it. It imports cattlesim but not app, so the in-package tests of app, events, notify
// and healthcheck can use it without an import cycle; that is also why the service starter lives in apptest.
//
// Every helper takes the test's testing.TB, registers its own stop in tb.Cleanup and bounds every wait:
// nothing here sleeps in place of a condition, and nothing it starts outlives the test.
package simtest
