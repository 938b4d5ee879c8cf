// Package conformance is the conformance suite of cattlesim, the project's
// in-process Cattle emulator (issue 2, "Must show").
//
// Every other package is tested against cattlesim, so if cattlesim is wrong
// every test after it lies. These tests check it against the facts of
// shared/reference/cattle-protocol.md (§2 REST conventions, §3 services,
// §4 hosts, §5 containers, §1 events, §7 the emulator must-haves) from the
// outside, the way a real client meets Cattle: only through our REST client
// (package cattle) and through raw HTTP and gorilla websocket connections.
// cattlesim's Go API is used for nothing but building the server (New, Seed,
// Handler, Run) and, where the brief allows, sending a request event
// (Sim.Request); everything else, the control surface included, goes over
// HTTP under /_sim/.
//
// The package holds tests only; this file exists so that the directory is a
// package with documentation. Run it with
//
//	go test -race -count=1 ./conformance/
package conformance
