package e2e

// Host writes that get no answer: the fault proxy leaves a scaleHost trigger's POST hosts or POST
// externalhostevents unanswered, after cattlesim applied it (the answer held past the client's timeout, the
// connection closed, or a 502 from the proxy), without forwarding it, or forwarding it only once the client
// gave up and listed the hosts again. Each trigger still changes the group by exactly its amount, with each
// planned host created or evacuated once, and its answer and execution record say how the unanswered write
// was settled.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/config"
	"github.com/rancher/scale-subscriber/scale"
)

// hostFaultTimeout is the service's Cattle request timeout in these tests, and its host create settle window:
// a create not listed that long after it failed is taken for not applied.
const hostFaultTimeout = 500 * time.Millisecond

// startHostFaults starts the service behind the fault proxy with hostFaultTimeout as both its request timeout
// and its settle window (the default window, a minute, would make each unanswered create wait that long).
func startHostFaults(t *testing.T) *hardEnv {
	t.Helper()
	return startHardened(t, hardenOptions{proxy: true, cattleTimeout: hostFaultTimeout,
		configure: func(c *config.Config) { c.HostCreateSettleWindow = hostFaultTimeout }})
}

// hostFault is one of the proxy's host write modes, with the steps the execution must record: how the write
// failed, and (for a create, where the listing is exact) how the retry settled it.
type hostFault struct {
	mode, failed, created string
}

func hostFaultCases() []hostFault {
	return []hostFault{
		{hostHang, "got no answer", "the create was applied"},
		{hostDrop, "got no answer", "the create was applied"},
		{hostBadGateway, "maybe after a proxy forwarded it", "the create was applied"},
		{hostCut, "got no answer", "taken for not applied"},
	}
}

// workerGroup returns the pool=workers hosts the planner counts.
func (e *env) workerGroup() []hostView {
	e.t.Helper()
	var out []hostView
	for _, h := range e.hosts() {
		if h.Labels["pool"] == "workers" && !scale.OutOfGroup(h.State) {
			out = append(out, h)
		}
	}
	return out
}

// executionSteps returns the execution id with its steps.
func (e *env) executionSteps(id string) stepRecord {
	e.t.Helper()
	for _, rec := range e.allExecutions() {
		if rec.ID == id {
			return rec
		}
	}
	e.t.Fatalf("execution %s is not listed", id)
	return stepRecord{}
}

// hostCreates returns the hostnames of the POST hosts cattlesim saw, in order.
func hostCreates(t *testing.T, calls []call) []string {
	t.Helper()
	var out []string
	for _, c := range matching(calls, func(c call) bool { return c.is(http.MethodPost, "hosts", "") }) {
		var b struct {
			Hostname string `json:"hostname"`
		}
		if err := json.Unmarshal([]byte(c.Body), &b); err != nil {
			t.Fatalf("decode host create %s: %v", c.Body, err)
		}
		out = append(out, b.Hostname)
	}
	return out
}

// hostEvacuations returns the host ids of the POST externalhostevents cattlesim saw, in order.
func hostEvacuations(t *testing.T, calls []call) []string {
	t.Helper()
	var out []string
	for _, c := range matching(calls, func(c call) bool { return c.is(http.MethodPost, "externalhostevents", "") }) {
		var b struct {
			HostID string `json:"hostId"`
		}
		if err := json.Unmarshal([]byte(c.Body), &b); err != nil {
			t.Fatalf("decode external host event %s: %v", c.Body, err)
		}
		out = append(out, b.HostID)
	}
	return out
}

// A scale-up whose host create gets no answer grows the group by exactly its amount: a create cattlesim
// applied is not sent again (re-planning "up by 1" from a listing that shows it would add a second host), one
// it never saw is sent once more with the same hostname. With "up by 2" and the first create unanswered, the
// retry creates only the second host.
func TestScaleHostFaultUnansweredCreateAppliedOnce(t *testing.T) {
	t.Parallel()
	h := startHostFaults(t)
	up1 := h.hostReceiver("workers-up-1", "up", 1, 1, 20, "")
	up2 := h.hostReceiver("workers-up-2", "up", 2, 1, 20, "")

	cases := append(hostFaultCases(), hostFault{hostHang, "got no answer", "the create was applied"})
	for i, tc := range cases {
		r, amount := up1, 1
		if i == len(cases)-1 {
			r, amount = up2, 2
		}
		name := fmt.Sprintf("%s, up by %d", tc.mode, amount)
		n := len(h.workerGroup())
		before := h.proxy.count(tc.mode)
		mark := h.callMark()
		h.proxy.planHostWrites(tc.mode)
		a := h.trigger(r.URL, "", nil)
		rep := decodeReply(t, a)
		if a.status != http.StatusOK || rep.Result != "scaled" || rep.From != n || rep.To != n+amount ||
			len(rep.Targets) != amount {
			t.Fatalf("%s: trigger answered %s, want 200 scaled %d → %d naming %d new hosts", name, a, n, n+amount, amount)
		}
		if got := h.proxy.count(tc.mode) - before; got != 1 {
			t.Fatalf("%s: the proxy interfered with %d host writes, want 1: the test proves nothing", name, got)
		}
		calls, _ := h.callsSince(mark)
		if got := hostCreates(t, calls); !slices.Equal(got, rep.Targets) {
			t.Errorf("%s: cattlesim saw creates of %v, want %v once each", name, got, rep.Targets)
		}
		group := h.workerGroup()
		if len(group) != n+amount {
			t.Errorf("%s: the group has %d hosts, want %d", name, len(group), n+amount)
		}
		for _, hostname := range rep.Targets {
			count := 0
			for _, g := range h.hosts() {
				if g.Hostname == hostname {
					count++
				}
			}
			if count != 1 {
				t.Errorf("%s: cattlesim has %d hosts named %s, want 1", name, count, hostname)
			}
		}
		rec := h.executionSteps(rep.ExecutionID)
		if rec.Outcome != "done" || !rec.hasStep(tc.failed) || !rec.hasStep(tc.created) {
			t.Errorf("%s: execution %+v, want done with steps saying %q and %q", name, rec, tc.failed, tc.created)
		}
	}
}

// A scale-down whose host.evacuate gets no answer removes exactly one host, the one it planned: the retry
// settles the evacuation from the host's state, and when it sends it again (cattlesim never saw it, or the
// host shows nothing yet) it sends it to the same host, never to the next one of the plan.
func TestScaleHostFaultUnansweredEvacuationRemovesOneHost(t *testing.T) {
	t.Parallel()
	h := startHostFaults(t)
	// Grow the group so every mode has a host to remove above min.
	grow := h.hostReceiver("workers-grow", "up", len(hostFaultCases()), 1, 20, "")
	if a := h.trigger(grow.URL, "", nil); a.status != http.StatusOK || decodeReply(t, a).Result != "scaled" {
		t.Fatalf("growing the group: %s", a)
	}
	eventually(t, "every worker active", func() (bool, string) {
		var states []string
		active := 0
		group := h.workerGroup()
		for _, g := range group {
			states = append(states, g.Hostname+"="+g.State)
			if g.State == "active" {
				active++
			}
		}
		return active == len(group), strings.Join(states, " ")
	})
	down := h.hostReceiver("workers-down-1", "down", 1, 1, 20, "mostRecent")

	for _, tc := range hostFaultCases() {
		group := h.workerGroup()
		n := len(group)
		before := h.proxy.count(tc.mode)
		mark := h.callMark()
		h.proxy.planHostWrites(tc.mode)
		a := h.trigger(down.URL, "", nil)
		rep := decodeReply(t, a)
		if a.status != http.StatusOK || rep.Result != "scaled" || rep.From != n || rep.To != n-1 || len(rep.Targets) != 1 {
			t.Fatalf("%s: trigger answered %s, want 200 scaled %d → %d naming one host", tc.mode, a, n, n-1)
		}
		if got := h.proxy.count(tc.mode) - before; got != 1 {
			t.Fatalf("%s: the proxy interfered with %d host writes, want 1: the test proves nothing", tc.mode, got)
		}
		var target hostView
		for _, g := range group {
			if g.Hostname == rep.Targets[0] {
				target = g
			}
		}
		if target.ID == "" {
			t.Fatalf("%s: the answer names %s, which was not in the group %v", tc.mode, rep.Targets[0], group)
		}
		calls, _ := h.callsSince(mark)
		evacuated := hostEvacuations(t, calls)
		if len(evacuated) == 0 || slices.ContainsFunc(evacuated, func(id string) bool { return id != target.ID }) {
			t.Errorf("%s: cattlesim saw evacuations of %v, want only %s (%s)", tc.mode, evacuated, target.Hostname, target.ID)
		}
		if tc.mode == hostCut && len(evacuated) != 1 {
			t.Errorf("%s: cattlesim saw %d evacuations, want the retry's one", tc.mode, len(evacuated))
		}
		eventually(t, fmt.Sprintf("%s: %s purged, the rest of the group kept", tc.mode, target.Hostname),
			func() (bool, string) {
				var states []string
				purged, kept := false, 0
				for _, g := range h.hosts() {
					if g.Labels["pool"] != "workers" {
						continue
					}
					states = append(states, g.Hostname+"="+g.State)
					if g.ID == target.ID {
						purged = g.State == "purged"
					} else if !scale.OutOfGroup(g.State) {
						kept++
					}
				}
				return purged && kept == n-1, strings.Join(states, " ")
			})
		rec := h.executionSteps(rep.ExecutionID)
		settled := rec.hasStep("the evacuation was applied") || rec.hasStep("sending the evacuation again, to the same host")
		if rec.Outcome != "done" || !rec.hasStep(tc.failed) || !settled {
			t.Errorf("%s: execution %+v, want done with steps saying %q and how the evacuation was settled",
				tc.mode, rec, tc.failed)
		}
	}
}

// A create the proxy holds until the service gave up on it and listed the hosts again reaches cattlesim after
// that listing: the service must not take "not listed" for "not applied" and create the host a second time.
// It waits out the settle window, finds the host by its marker, and the group grows by exactly one host.
func TestScaleHostFaultHeldCreateAppliedOnce(t *testing.T) {
	t.Parallel()
	h := startHostFaults(t)
	up := h.hostReceiver("workers-up-held", "up", 1, 1, 20, "")
	n := len(h.workerGroup())
	mark := h.callMark()
	h.proxy.planHostWrites(hostHold)
	a := h.trigger(up.URL, "", nil)
	rep := decodeReply(t, a)
	if a.status != http.StatusOK || rep.Result != "scaled" || rep.From != n || rep.To != n+1 || len(rep.Targets) != 1 {
		t.Fatalf("trigger answered %s, want 200 scaled %d → %d naming one new host", a, n, n+1)
	}
	if got := h.proxy.count(hostHold); got != 1 {
		t.Fatalf("the proxy held %d host writes, want 1: the test proves nothing", got)
	}
	calls, _ := h.callsSince(mark)
	if got := hostCreates(t, calls); !slices.Equal(got, rep.Targets) {
		t.Errorf("cattlesim saw creates of %v, want %v once", got, rep.Targets)
	}
	// The fault is real: cattlesim got the create after a host listing that followed the plan's (the retry's),
	// which could not show it.
	listings := 0
	for _, c := range calls {
		if c.Method == http.MethodGet && strings.TrimSuffix(c.Path, "/") == projectPath("hosts") {
			listings++
		}
		if c.is(http.MethodPost, "hosts", "") {
			break
		}
	}
	if listings < 2 {
		t.Errorf("cattlesim got the create after %d host listings, want it after the retry's (2 or more): %v",
			listings, calls)
	}
	count := 0
	for _, g := range h.hosts() {
		if g.Hostname == rep.Targets[0] {
			count++
		}
	}
	if count != 1 {
		t.Errorf("cattlesim has %d hosts named %s, want 1", count, rep.Targets[0])
	}
	if group := h.workerGroup(); len(group) != n+1 {
		t.Errorf("the group has %d hosts, want %d", len(group), n+1)
	}
	rec := h.executionSteps(rep.ExecutionID)
	for _, step := range []string{"got no answer", "the create may still reach it", "the create was applied"} {
		if !rec.hasStep(step) {
			t.Errorf("execution %+v, want a step saying %q", rec, step)
		}
	}
	if rec.Outcome != "done" {
		t.Errorf("execution outcome %s, want done", rec.Outcome)
	}
}

// A create that never gets an answer (the proxy cuts every one) is sent 3 times in all, then the trigger is
// answered 200 "failed", saying the host is unknown and to check the group; the group is unchanged and nothing
// reached cattlesim.
func TestScaleHostFaultCreateNeverAnsweredSentThreeTimes(t *testing.T) {
	t.Parallel()
	h := startHostFaults(t)
	up := h.hostReceiver("workers-up-cut", "up", 1, 1, 20, "")
	n := len(h.workerGroup())
	mark := h.callMark()
	h.proxy.planHostWrites(hostCut, hostCut, hostCut, hostCut)
	a := h.trigger(up.URL, "", nil)
	rep := decodeReply(t, a)
	if a.status != http.StatusOK || rep.Result != "failed" || rep.From != n || rep.To != n || len(rep.Targets) != 0 ||
		!strings.Contains(rep.Message, "unknown") || !strings.Contains(rep.Message, "check the group") {
		t.Fatalf("trigger answered %s, want 200 failed %d → %d, the host unknown, check the group", a, n, n)
	}
	if got := h.proxy.count(hostCut); got != 3 {
		t.Errorf("the proxy cut %d host creates, want 3 sends in all", got)
	}
	calls, _ := h.callsSince(mark)
	if got := hostCreates(t, calls); len(got) != 0 {
		t.Errorf("cattlesim saw creates of %v, want none (the proxy cut them all)", got)
	}
	if group := h.workerGroup(); len(group) != n {
		t.Errorf("the group has %d hosts, want %d", len(group), n)
	}
	rec := h.executionSteps(rep.ExecutionID)
	if rec.Outcome != "failed" || !rec.hasStep("not sent again") {
		t.Errorf("execution %+v, want failed with a step saying the create is not sent again", rec)
	}
}
