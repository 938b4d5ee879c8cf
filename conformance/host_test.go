package conformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
)

// §4, §7.8: hosts. DELETE on an active host is 405 (deactivate first); host.evacuate with deleteHost removes a
// host server-side from any state; a host created from a <driver>Config or a hostTemplateId goes through
// provisioning to active; anything but exactly one of them is 422 DriverConfigExactlyOneRequired.

func TestHostDeleteActiveIs405(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	id := e.id("1a5/host/custom-01")
	h, err := c.GetHost(t.Context(), id)
	if err != nil {
		t.Fatalf("get host: %v", err)
	}
	if h.State != "active" {
		t.Fatalf("custom-01 is %s, want active", h.State)
	}
	if h.HasAction("remove") {
		t.Errorf("active host offers remove: %v (§4.2: not from active)", actionNames(h.Resource))
	}
	err = c.Delete(t.Context(), &h.Resource, nil)
	if ae := asAPIError(t, err, "DELETE on an active host"); ae.Status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE on an active host: status %d (%v), want 405", ae.Status, ae)
	}
	r := e.do(http.MethodDelete, project5+"/hosts/"+id, &e.env5, nil)
	if r.status != http.StatusMethodNotAllowed || str(r.body, "type") != "error" {
		t.Errorf("raw DELETE on an active host: %d %s, want 405 with an error body", r.status, snippet(r.raw))
	}
	if got, err := c.GetHost(t.Context(), id); err != nil || got.State != "active" || got.IsRemoved() {
		t.Errorf("after the refused DELETE the host is %+v (%v), want untouched and active", got, err)
	}

	// Deactivated, it can be deleted: 200 with the host in removing, then removed.
	if err := c.Action(t.Context(), &h.Resource, "deactivate", nil, nil); err != nil {
		t.Fatalf("deactivate: %v", err)
	}
	inactive := waitHost(t, c, id, "inactive", func(h *cattle.Host) bool {
		return h.State == "inactive" && h.Transitioning == cattle.TransitioningNo
	})
	var removing cattle.Host
	if err := c.Delete(t.Context(), &inactive.Resource, &removing); err != nil {
		t.Fatalf("DELETE on an inactive host: %v", err)
	}
	if removing.State != "removing" {
		t.Errorf("DELETE answered state %s, want removing", removing.State)
	}
	waitHost(t, c, id, "removed", func(h *cattle.Host) bool { return h.State == "removed" && h.IsRemoved() })
}

func TestHostEvacuateWithDeleteHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	hostID := e.id("1a5/host/worker-02")
	onHost := func() []cattle.Instance {
		all, err := c.ListInstances(t.Context(), cattle.ListOptions{})
		if err != nil {
			t.Fatalf("list instances: %v", err)
		}
		var out []cattle.Instance
		for _, in := range all {
			if in.HostID == hostID {
				out = append(out, in)
			}
		}
		return out
	}
	before := onHost()
	if len(before) == 0 {
		t.Fatalf("worker-02 runs no container before the evacuation; the test would prove nothing")
	}

	ev, err := c.CreateExternalHostEvent(t.Context(), cattle.ExternalHostEvent{EventType: cattle.EventTypeHostEvacuate,
		HostID: hostID, DeleteHost: true})
	if err != nil {
		t.Fatalf("create externalhostevent: %v", err)
	}
	if ev.Type != "externalHostEvent" || ev.ID == "" {
		t.Errorf("created event: type %q id %q, want an externalHostEvent", ev.Type, ev.ID)
	}
	h := waitHost(t, c, hostID, "removed and purged", func(h *cattle.Host) bool {
		return h.IsRemoved() && h.State == "purged"
	})
	if h.Removed == "" {
		t.Errorf("evacuated host has no removed date")
	}
	hosts, err := c.ListHosts(t.Context(), cattle.ListOptions{})
	if err != nil {
		t.Fatalf("list hosts: %v", err)
	}
	for _, x := range hosts {
		if x.ID == hostID {
			t.Errorf("evacuated host %s is still listed (%s)", hostID, x.State)
		}
	}
	if left := onHost(); len(left) != 0 {
		t.Errorf("%d containers still live on the evacuated host", len(left))
	}
	for _, in := range before {
		var got cattle.Instance
		if err := c.ByID(t.Context(), "instance", in.ID, &got); err != nil || !got.IsRemoved() {
			t.Errorf("container %s of the evacuated host: state %s (%v), want removed", in.ID, got.State, err)
		}
	}
	waitFor(t, settleTimeout, "the externalhostevent to finish", func() (bool, string) {
		var got cattle.ExternalHostEvent
		if err := c.ByID(t.Context(), "externalHostEvent", ev.ID, &got); err != nil {
			return false, err.Error()
		}
		return got.State == "created" && got.Transitioning == cattle.TransitioningNo, got.State
	})
	// The services lost nothing: web's two units run again on the remaining hosts.
	webID := e.id("1a5/service/web")
	waitFor(t, settleTimeout, "web back at 2 running containers", func() (bool, string) {
		running := 0
		for _, in := range serviceContainers(t, c, webID) {
			if in.State == "running" && in.HostID != hostID {
				running++
			}
		}
		return running == 2, fmt.Sprintf("%d running", running)
	})
}

func TestHostCreatedFromDriverConfigOrTemplate(t *testing.T) {
	t.Parallel()
	// A longer provisioning phase makes it certain to show in at least one coalesced event.
	e := newEnv(t, withTimings(cattlesim.Timings{Step: fastStep, HostProvision: 300 * time.Millisecond}))
	c := e.client(e.env5)
	sub := subscribeClient(t, c, "resource.change")
	// The create path of a provisioned host (§4.2); events may skip states but never go back.
	hostStateOrder := []string{"requested", "registering", "inactive", "provisioning", "provisioned", "activating",
		"active"}

	var tmpl cattle.HostTemplate
	if err := c.Create(t.Context(), "hostTemplate", map[string]any{"name": "do-small", "driver": "digitalocean",
		"publicValues": map[string]any{"digitaloceanConfig": map[string]any{"region": "ams3", "size": "1gb"}}},
		&tmpl); err != nil {
		t.Fatalf("create host template: %v", err)
	}

	for _, tc := range []struct {
		name  string
		input map[string]any
	}{
		{"digitaloceanConfig", map[string]any{"hostname": "do-01", "labels": map[string]any{"pool": "workers"},
			"digitaloceanConfig": map[string]any{"accessToken": "do-token", "region": "ams3", "size": "1gb"}}},
		{"hostTemplateId", map[string]any{"hostname": "tmpl-01", "hostTemplateId": tmpl.ID}},
	} {
		created, err := c.CreateHost(t.Context(), tc.input)
		if err != nil {
			t.Fatalf("%s: create host: %v", tc.name, err)
		}
		if created.Transitioning != cattle.TransitioningYes || !slices.Contains(hostStateOrder[:3], created.State) {
			t.Errorf("%s: create answered %s/%s, want a first transitioning state (§2.5)", tc.name, created.State,
				created.Transitioning)
		}
		seen := watchUntil(t, sub, created.ID, settled("active"))
		if !slices.Contains(seen, busy("provisioning")) {
			t.Errorf("%s: host states seen %v, want provisioning before active (§4.2)", tc.name, seen)
		}
		last := -1
		for _, s := range seen {
			i := slices.Index(hostStateOrder, s.state)
			if i < last {
				t.Errorf("%s: host states went backwards: %v (order %v)", tc.name, seen, hostStateOrder)
				break
			}
			last = max(last, i)
		}
		h, err := c.GetHost(t.Context(), created.ID)
		if err != nil {
			t.Fatalf("%s: get host: %v", tc.name, err)
		}
		if h.Driver != "digitalocean" {
			t.Errorf("%s: driver %q, want digitalocean", tc.name, h.Driver)
		}
		if tc.name == "hostTemplateId" {
			if h.HostTemplateID != tmpl.ID {
				t.Errorf("hostTemplateId %q, want %s", h.HostTemplateID, tmpl.ID)
			}
			continue
		}
		name, cfg, ok := h.DriverConfig()
		var decoded map[string]any
		if !ok || name != "digitaloceanConfig" || json.Unmarshal(cfg, &decoded) != nil || decoded["region"] != "ams3" ||
			decoded["type"] != "digitaloceanConfig" {
			t.Errorf("driver config %s %s (ok %v), want digitaloceanConfig with type and region ams3", name, cfg, ok)
		}
		if h.Labels["pool"] != "workers" {
			t.Errorf("labels %v, want pool=workers", h.Labels)
		}
	}

	// New active hosts take containers: the global service monitor runs one on each of the 5 hosts (§3.3).
	monitorID := e.id("1a5/service/monitor")
	waitFor(t, settleTimeout, "monitor on every host", func() (bool, string) {
		onHosts := map[string]bool{}
		for _, in := range serviceContainers(t, c, monitorID) {
			if in.State == "running" {
				onHosts[in.HostID] = true
			}
		}
		return len(onHosts) == 5, fmt.Sprintf("running on %d hosts", len(onHosts))
	})

	// Exactly one driver config or a template: anything else is refused (§4.3).
	for _, in := range []map[string]any{
		{"hostname": "none"},
		{"hostname": "both", "hostTemplateId": tmpl.ID, "digitaloceanConfig": map[string]any{"region": "ams3"}},
		{"hostname": "two", "digitaloceanConfig": map[string]any{}, "amazonec2Config": map[string]any{}},
	} {
		_, err := c.CreateHost(t.Context(), in)
		if ae := asAPIError(t, err, fmt.Sprintf("create host %v", in)); ae.Status != http.StatusUnprocessableEntity ||
			ae.Code != "DriverConfigExactlyOneRequired" {
			t.Errorf("create host %v: %v, want 422 DriverConfigExactlyOneRequired", in, ae)
		}
	}
}
