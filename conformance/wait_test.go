package conformance

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/internal/simtest"
)

// Waiting for asynchronous state machines: every wait polls a condition until a deadline; nothing sleeps in
// place of a condition.

// settleTimeout bounds any wait for a state machine of the suite's fast timings. It is generous because
// -race on two cores can slow everything down several times; a passing run waits far less.
const settleTimeout = 10 * time.Second

// pollEvery is the polling period: short against the emulator's 15ms step.
const pollEvery = 3 * time.Millisecond

// waitFor polls cond every pollEvery until it reports true, failing the test with what and cond's last detail
// when timeout passes first.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	simtest.EventuallyEvery(t, timeout, pollEvery, what, cond)
}

// getService fetches a service through the client, failing the test on error.
func getService(t *testing.T, c *cattle.Client, id string) *cattle.Service {
	t.Helper()
	svc, err := c.GetService(t.Context(), id)
	if err != nil {
		t.Fatalf("get service %s: %v", id, err)
	}
	return svc
}

// waitServiceSettled waits until service id is in state and no longer transitioning, and returns it.
func waitServiceSettled(t *testing.T, c *cattle.Client, id, state string) *cattle.Service {
	t.Helper()
	var svc *cattle.Service
	waitFor(t, settleTimeout, fmt.Sprintf("service %s to settle in %s", id, state), func() (bool, string) {
		var err error
		svc, err = c.GetService(t.Context(), id)
		if err != nil {
			return false, err.Error()
		}
		return svc.State == state && svc.Transitioning == cattle.TransitioningNo,
			fmt.Sprintf("state %s transitioning %s", svc.State, svc.Transitioning)
	})
	return svc
}

// waitHost polls host id until done accepts it, and returns it.
func waitHost(t *testing.T, c *cattle.Client, id, what string, done func(*cattle.Host) bool) *cattle.Host {
	t.Helper()
	var h *cattle.Host
	waitFor(t, settleTimeout, fmt.Sprintf("host %s %s", id, what), func() (bool, string) {
		var err error
		h, err = c.GetHost(t.Context(), id)
		if err != nil {
			return false, err.Error()
		}
		return done(h), fmt.Sprintf("state %s transitioning %s removed %q", h.State, h.Transitioning, h.Removed)
	})
	return h
}

// serviceContainers lists the live (not removed) containers of a service. Cattle has no serviceId filter on
// instances, so they are picked client-side by serviceIds, as a real client has to.
func serviceContainers(t *testing.T, c *cattle.Client, serviceID string) []cattle.Instance {
	t.Helper()
	all, err := c.ListInstances(t.Context(), cattle.ListOptions{})
	if err != nil {
		t.Fatalf("list instances: %v", err)
	}
	var out []cattle.Instance
	for _, in := range all {
		if slices.Contains(in.ServiceIDs, serviceID) || in.ServiceID == serviceID {
			out = append(out, in)
		}
	}
	return out
}

// asAPIError extracts a *cattle.APIError from err, failing the test when there is none.
func asAPIError(t *testing.T, err error, what string) *cattle.APIError {
	t.Helper()
	var ae *cattle.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: error %v (%T) is not a *cattle.APIError", what, err, err)
	}
	return ae
}
