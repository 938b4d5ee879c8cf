// Package peers holds the end-to-end tests against the real programs users wire scale-subscriber to (issue 6):
// Prometheus and Alertmanager driving a scaleService receiver, and a CNCF distribution registry (Debian's
// docker-registry, distribution 2.8) notifying a serviceUpgrade receiver of pushes made with crane. Each test
// starts cattlesim (demo seed) and the real service (app.New + Run) in the test process, starts the peer
// programs as child processes on 127.0.0.1 with ports the kernel picked and configuration and storage in the
// test's temporary directory, and checks the outcome in cattlesim (its REST API over HTTP, its call log
// in-process). Every child is stopped and waited for when the test ends; nothing reaches the network (the image
// crane pushes is built from a tarball the test writes).
//
// The programs are found in PATH: prometheus, prometheus-alertmanager, docker-registry and crane. A test whose
// program is missing is skipped with the name of the program, unless PEERS_E2E=1, which makes it a failure:
// scripts/e2e installs the programs (Debian packages, crane from the Go module proxy) and runs this package so.
// The tests log the latencies users care about (alert → scale, push → upgrade finished) on lines starting with
// "timing:", which scripts/e2e prints again at the end.
//
// The package has no non-test code.
package peers
