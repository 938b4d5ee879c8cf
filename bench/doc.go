// Package bench holds scale-subscriber's benchmarks (issue 3). They exist only as _test.go files, so the package
// itself is empty and nothing here ships. `go test ./bench/` runs a few quick checks that the benchmark harness
// still measures what it claims; the benchmarks themselves run only with -bench (scripts/bench runs them, and
// docs/performance.md gives the figures and how to read them).
//
//   - BenchmarkResourceChange: resource.change events per second applied to the cache through the real path
//     (cattlesim's websocket → events.Subscriber → Router → handlers.ResourceChange → cache.Store, wired by
//     app.New), beside a raw websocket read + json.Unmarshal loop and a bare events.Subscriber, on the same
//     emulator with the same changes.
//   - BenchmarkResourceChangeCPU: the same kind of events recorded from cattlesim and replayed in memory, so the
//     consumer's own CPU per event is measured without the emulator producing them.
//   - BenchmarkRelist: a full informer relist of 10,000 services, 2,000 hosts and 30,000 containers, cold (empty
//     cache), warm (periodic resync) and as a start-up of the service, with the heap and RSS of a process that
//     holds only the subscriber side: cattlesim runs in a child process (this test binary re-executed).
//
// The receivers' benchmarks (BenchmarkReceivers*, files receivers_*_test.go) share the package and describe
// themselves in their files.
package bench
