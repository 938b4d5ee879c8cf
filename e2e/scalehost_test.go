package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// The demo's pool=workers group, oldest first: worker-01 and worker-02 (amazonec2 machines) and custom-01 (a
// custom host, which can never be a template).

// hostReceiver creates a scaleHost receiver on the pool=workers group with the original's member names.
func (e *env) hostReceiver(name, action string, amount, lo, hi int, deleteOption string) receiver {
	e.t.Helper()
	cfg := map[string]any{"hostSelector": map[string]string{"pool": "workers"}, "action": action, "amount": amount,
		"min": lo, "max": hi}
	if deleteOption != "" {
		cfg["deleteOption"] = deleteOption
	}
	body, err := json.Marshal(map[string]any{"name": name, "driver": "scaleHost", "scaleHostConfig": cfg})
	if err != nil {
		e.t.Fatalf("encode receiver: %v", err)
	}
	return e.createReceiver(string(body))
}

// Scaling the group up clones its oldest clonable host, worker-01 (the original's index bug picked worker-02
// here): one POST hosts with worker-01's machine config and labels (a label only worker-01 has proves which
// host was the template), hostname worker-03 (the prefix of the template, the next suffix of the newest member,
// zero-padded), and the new host comes up active.
func TestScaleHostUpClonesOldestClonableHost(t *testing.T) {
	t.Parallel()
	e := start(t)
	w1 := e.id("host/worker-01")
	e.sim(http.MethodPut, projectPath("hosts/"+w1), map[string]any{"labels": map[string]string{"pool": "workers", "zone": "a"}}, nil)
	eventually(t, "worker-01 relabelled", func() (bool, string) {
		h, _ := e.hostNamed("worker-01")
		return h.Labels["zone"] == "a", "labels " + strings.Join(mapPairs(h.Labels), ",")
	})
	r := e.hostReceiver("scale-workers-up", "up", 1, 1, 5, "")
	mark := e.callMark()

	a := e.trigger(r.URL, "", nil)
	if a.status != http.StatusOK {
		t.Fatalf("scale hosts up: %s, want 200", a)
	}
	rep := decodeReply(t, a)
	if rep.Result != "scaled" || rep.From != 3 || rep.To != 4 || !slices.Equal(rep.Targets, []string{"worker-03"}) {
		t.Errorf("answer %s, want scaled 3 → 4 creating worker-03", a.body)
	}

	calls, _ := e.callsSince(mark)
	creates := matching(calls, func(c call) bool { return c.is(http.MethodPost, "hosts", "") })
	if len(creates) != 1 || creates[0].Status != http.StatusCreated {
		t.Fatalf("host creates %v, want exactly one accepted POST hosts", creates)
	}
	var in struct {
		Hostname        string            `json:"hostname"`
		Name            *string           `json:"name"`
		Labels          map[string]string `json:"labels"`
		Amazonec2Config map[string]any    `json:"amazonec2Config"`
	}
	if err := json.Unmarshal([]byte(creates[0].Body), &in); err != nil {
		t.Fatalf("decode host create body %s: %v", creates[0].Body, err)
	}
	if in.Hostname != "worker-03" || in.Name == nil || *in.Name != "" {
		t.Errorf("create body %s, want hostname worker-03 and an empty name", creates[0].Body)
	}
	if in.Labels["pool"] != "workers" || in.Labels["zone"] != "a" {
		t.Errorf("clone labels %v, want worker-01's pool=workers,zone=a", in.Labels)
	}
	if in.Amazonec2Config["tags"] != "rancher-host,worker-01" || in.Amazonec2Config["region"] != "us-west-2" {
		t.Errorf("clone machine config %v, want worker-01's amazonec2Config", in.Amazonec2Config)
	}
	if got := matching(calls, func(c call) bool { return c.Method == http.MethodGet && strings.HasSuffix(c.Path, "/hosts/"+w1) }); len(got) == 0 {
		t.Errorf("worker-01 (the template) was never read: %v", calls)
	}

	var h hostView
	eventually(t, "worker-03 active", func() (bool, string) {
		var ok bool
		h, ok = e.hostNamed("worker-03")
		return ok && h.State == "active", "worker-03: " + h.State
	})
	if h.Driver != "amazonec2" || h.Labels["pool"] != "workers" || h.Labels["zone"] != "a" {
		t.Errorf("worker-03 is %+v, want an amazonec2 host labelled like worker-01", h)
	}
}

// Scaling the group down removes hosts in the documented order: a disconnected host first (worker-02, although
// mostRecent alone would start with custom-01), then the newest (custom-01); the amount (5) is clamped so the
// group keeps min (1) host; removal goes through externalhostevents host.evacuate with deleteHost. A second
// trigger at min answers 200 "at min" and removes nothing.
func TestScaleHostDownOrderAndMin(t *testing.T) {
	t.Parallel()
	e := start(t)
	w1, w2, c1 := e.id("host/worker-01"), e.id("host/worker-02"), e.id("host/custom-01")
	e.sim(http.MethodPost, "/_sim/hosts/"+w2+"/agentstate", map[string]string{"agentState": "disconnected"}, nil)
	eventually(t, "worker-02 shows disconnected", func() (bool, string) {
		h, _ := e.hostNamed("worker-02")
		return h.State == "disconnected", "worker-02: " + h.State
	})
	r := e.hostReceiver("scale-workers-down", "down", 5, 1, 5, "mostRecent")
	mark := e.callMark()

	a := e.trigger(r.URL, "", nil)
	if a.status != http.StatusOK {
		t.Fatalf("scale hosts down: %s, want 200", a)
	}
	rep := decodeReply(t, a)
	if rep.Result != "scaled" || rep.From != 3 || rep.To != 1 || rep.Reason != "clamped to min" ||
		!slices.Equal(rep.Targets, []string{"worker-02", "custom-01"}) {
		t.Errorf("answer %s, want scaled 3 → 1 (clamped to min) removing worker-02 then custom-01", a.body)
	}
	calls, _ := e.callsSince(mark)
	evacuations := matching(calls, func(c call) bool { return c.is(http.MethodPost, "externalhostevents", "") })
	var order []string
	for _, c := range evacuations {
		var ev struct {
			EventType  string `json:"eventType"`
			HostID     string `json:"hostId"`
			DeleteHost bool   `json:"deleteHost"`
		}
		if err := json.Unmarshal([]byte(c.Body), &ev); err != nil || ev.EventType != "host.evacuate" || !ev.DeleteHost ||
			c.Status != http.StatusCreated {
			t.Errorf("removal call %v %s, want an accepted host.evacuate with deleteHost", c, c.Body)
		}
		order = append(order, ev.HostID)
	}
	if !slices.Equal(order, []string{w2, c1}) {
		t.Errorf("evacuated %v, want worker-02 (%s) then custom-01 (%s)", order, w2, c1)
	}
	eventually(t, "worker-02 and custom-01 purged", func() (bool, string) {
		var states []string
		gone := 0
		for _, h := range e.hosts() {
			states = append(states, h.Hostname+"="+h.State)
			if (h.ID == w2 || h.ID == c1) && h.State == "purged" {
				gone++
			}
		}
		return gone == 2, strings.Join(states, " ")
	})

	mark = e.callMark()
	a = e.trigger(r.URL, "", nil)
	if a.status != http.StatusOK {
		t.Fatalf("scale down at min: %s, want 200", a)
	}
	if rep := decodeReply(t, a); rep.Result != "none" || rep.Reason != "at min" || rep.From != 1 {
		t.Errorf("answer at min %s, want none, at min, from 1", a.body)
	}
	calls, _ = e.callsSince(mark)
	if ev := matching(calls, func(c call) bool { return c.is(http.MethodPost, "externalhostevents", "") }); len(ev) != 0 {
		t.Errorf("a trigger at min removed hosts: %v", ev)
	}
	if h, ok := e.hostNamed("worker-01"); !ok || h.ID != w1 || h.State != "active" {
		t.Errorf("worker-01 %+v, want it kept active", h)
	}
}

func mapPairs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
