// Package e2e holds the end-to-end tests of the receiver hooks (issue 4): each test starts cattlesim (demo seed)
// on a loopback port and the real service (app.New + Run) on others, and talks only HTTP, to the service's
// /v1-webhooks API the way Rancher's UI and the senders (Alertmanager, Docker Hub, a distribution registry) do,
// and to cattlesim's REST API and /_sim/ control surface for the truth. The package has no non-test code.
package e2e
