package conformance

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/rancher/scale-subscriber/cattle"
)

// §2.5, §3.2, §3.3, §7.5: PUT {"scale": N} answers 200 with the service already in updating-active, the update
// process reconciles the instances and ends in active; the service then runs scale × (1 + sidekicks)
// containers. Non-updatable members of the body (currentScale) are dropped.

// stateSeen is one state of a resource as an event showed it.
type stateSeen struct{ state, transitioning string }

// watchUntil reads resource.change events of id until one shows want, and returns every state seen on the
// way, in order. A settled state is transitioning "no"; a transitioning one "yes".
func watchUntil(t *testing.T, sub *subscription, id string, want stateSeen) []stateSeen {
	t.Helper()
	var seen []stateSeen
	for {
		ev := sub.next(settleTimeout, fmt.Sprintf("resource.change of %s in %v (seen %v)", id, want, seen), changeOf(id))
		res, err := ev.resource()
		if err != nil {
			t.Fatal(err)
		}
		s := stateSeen{str(res, "state"), str(res, "transitioning")}
		seen = append(seen, s)
		if s == want {
			return seen
		}
	}
}

// settled and busy name a state as events show it.
func settled(state string) stateSeen { return stateSeen{state, cattle.TransitioningNo} }
func busy(state string) stateSeen    { return stateSeen{state, cattle.TransitioningYes} }

// checkScaledTo checks the instance bookkeeping of a settled service against scale × (1 + sidekicks).
func checkScaledTo(t *testing.T, c *cattle.Client, svc *cattle.Service, scale, sidekicks int) {
	t.Helper()
	want := scale * (1 + sidekicks)
	if len(svc.SecondaryLaunchConfigs) != sidekicks {
		t.Errorf("%s has %d sidekicks, want %d", svc.Name, len(svc.SecondaryLaunchConfigs), sidekicks)
	}
	if svc.Scale != int64(scale) || svc.CurrentScale != int64(scale) {
		t.Errorf("%s scale %d currentScale %d, want both %d", svc.Name, svc.Scale, svc.CurrentScale, scale)
	}
	if len(svc.InstanceIDs) != want {
		t.Errorf("%s instanceIds %v: %d, want scale × (1 + sidekicks) = %d", svc.Name, svc.InstanceIDs,
			len(svc.InstanceIDs), want)
	}
	// The containers themselves converge to the same number, all running (poll: they settle with the service).
	waitFor(t, settleTimeout, fmt.Sprintf("%s to run %d containers", svc.Name, want), func() (bool, string) {
		insts := serviceContainers(t, c, svc.ID)
		running := 0
		for _, in := range insts {
			if in.State == "running" {
				running++
			}
		}
		return running == want && len(insts) == want, fmt.Sprintf("%d live, %d running", len(insts), running)
	})
}

func TestScaleViaPUT(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	sub := subscribeClient(t, c, "resource.change")
	sub.next(settleTimeout, "the first ping", func(ev wsEvent) bool { return ev.Name == "ping" })

	// web (no sidekick), held in updating-active by the stall control so the intermediate state is observed
	// deterministically, then released.
	webID := e.id("1a5/service/web")
	web := getService(t, c, webID)
	if web.State != "active" || web.Transitioning != cattle.TransitioningNo {
		t.Fatalf("web starts %s/%s, want active", web.State, web.Transitioning)
	}
	e.control(http.MethodPost, "stall", map[string]any{"type": "service", "id": webID, "stalled": true})
	answer, err := c.UpdateService(t.Context(), web, map[string]any{"scale": 3, "currentScale": 99})
	if err != nil {
		t.Fatalf("PUT web scale 3: %v", err)
	}
	if answer.Scale != 3 || answer.State != "updating-active" || answer.Transitioning != cattle.TransitioningYes {
		t.Errorf("PUT answer: scale %d state %s/%s, want scale 3 in updating-active/yes (§2.5)", answer.Scale,
			answer.State, answer.Transitioning)
	}
	if answer.CurrentScale == 99 {
		t.Errorf("PUT applied currentScale 99; it is not updatable and must be dropped (§3.3)")
	}
	seen := watchUntil(t, sub, webID, busy("updating-active"))
	if got := getService(t, c, webID); got.State != "updating-active" {
		t.Errorf("stalled web is %s, want updating-active until released", got.State)
	}
	e.control(http.MethodPost, "stall", map[string]any{"type": "service", "id": webID, "stalled": false})
	seen = append(seen, watchUntil(t, sub, webID, settled("active"))...)
	if i := slices.Index(seen, busy("updating-active")); i < 0 {
		t.Errorf("web states seen %v, want updating-active before active", seen)
	}
	checkScaledTo(t, c, getService(t, c, webID), 3, 0)

	// worker (one sidekick), not stalled: the answer shows updating-active, then polling sees active (every
	// poll comes after the answer, so none can show the state from before the PUT).
	workerID := e.id("1a5/service/worker")
	worker := getService(t, c, workerID)
	answer, err = c.UpdateService(t.Context(), worker, map[string]any{"scale": 3})
	if err != nil {
		t.Fatalf("PUT worker scale 3: %v", err)
	}
	if answer.State != "updating-active" {
		t.Errorf("PUT worker answer state %s, want updating-active", answer.State)
	}
	checkScaledTo(t, c, waitServiceSettled(t, c, workerID, "active"), 3, 1)

	// Scaling down removes units; removed containers leave the lists.
	web = getService(t, c, webID)
	if _, err := c.UpdateService(t.Context(), web, map[string]any{"scale": 1}); err != nil {
		t.Fatalf("PUT web scale 1: %v", err)
	}
	checkScaledTo(t, c, waitServiceSettled(t, c, webID, "active"), 1, 0)
}
