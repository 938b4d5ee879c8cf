package conformance

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/cattle"
)

// The demo seed is what issue 2 says it is, seen through the API (cattlesim/seed_test.go checks the store
// itself): project 1a5 with stack demo; web (kind service, scale 2, docker:nginx:1.13, app=web); worker with
// one sidekick (scale 1, app=worker); loadBalancerService lb; global service monitor; hosts worker-01 and
// worker-02 (machine-driver hosts with a *Config, pool=workers) and custom-01 (custom, pool=workers), all
// active; a second project 1a7 with its own key.

func TestDemoSeedThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)

	stacks, err := c.ListStacks(t.Context(), cattle.ListOptions{})
	if err != nil {
		t.Fatalf("list stacks: %v", err)
	}
	if len(stacks) != 1 || stacks[0].Name != "demo" || stacks[0].State != "active" {
		t.Fatalf("stacks of 1a5 = %+v, want the one active stack demo", stacks)
	}
	demo := stacks[0]

	hosts, err := c.ListHosts(t.Context(), cattle.ListOptions{})
	if err != nil {
		t.Fatalf("list hosts: %v", err)
	}
	byHost := map[string]cattle.Host{}
	for _, h := range hosts {
		byHost[h.Hostname] = h
		if h.State != "active" || h.Transitioning != cattle.TransitioningNo || h.Labels["pool"] != "workers" {
			t.Errorf("host %s: %s/%s labels %v, want active with pool=workers", h.Hostname, h.State, h.Transitioning,
				h.Labels)
		}
	}
	if len(hosts) != 3 {
		t.Errorf("1a5 has %d hosts, want worker-01, worker-02, custom-01", len(hosts))
	}
	for _, name := range []string{"worker-01", "worker-02"} {
		h, ok := byHost[name]
		cfgName, _, hasCfg := h.DriverConfig()
		if !ok || h.Driver == "" || !hasCfg || cfgName != h.Driver+"Config" {
			t.Errorf("host %s: driver %q config %q (found %v), want a machine-driver host with its <driver>Config",
				name, h.Driver, cfgName, ok)
		}
	}
	if h, ok := byHost["custom-01"]; !ok || h.Driver != "" || len(h.DriverConfigs) != 0 {
		t.Errorf("custom-01: driver %q configs %d (found %v), want a custom host without driver or config", h.Driver,
			len(h.DriverConfigs), ok)
	}

	svcs, err := c.ListServices(t.Context(), cattle.ListOptions{})
	if err != nil {
		t.Fatalf("list services: %v", err)
	}
	type want struct {
		typ        string
		scale      int64
		image      string // "" = any
		labels     cattle.Labels
		sidekicks  int
		containers int
	}
	wants := map[string]want{
		"web":     {"service", 2, "docker:nginx:1.13", cattle.Labels{"app": "web"}, 0, 2},
		"worker":  {"service", 1, "", cattle.Labels{"app": "worker"}, 1, 2},
		"lb":      {"loadBalancerService", 1, "", nil, 0, 1},
		"monitor": {"service", 1, "", cattle.Labels{"io.rancher.scheduler.global": "true"}, 0, len(hosts)},
	}
	var got []string
	for _, s := range svcs {
		got = append(got, s.Name)
		w, ok := wants[s.Name]
		if !ok {
			t.Errorf("unexpected service %s in 1a5", s.Name)
			continue
		}
		if s.Type != w.typ || s.Kind != w.typ || s.StackID != demo.ID || s.State != "active" ||
			s.Transitioning != cattle.TransitioningNo || s.HealthState != "healthy" {
			t.Errorf("%s: type %s kind %s stack %s %s/%s health %s; want %s in demo, active and healthy", s.Name, s.Type,
				s.Kind, s.StackID, s.State, s.Transitioning, s.HealthState, w.typ)
		}
		if s.Name != "monitor" && s.Scale != w.scale {
			t.Errorf("%s scale %d, want %d", s.Name, s.Scale, w.scale)
		}
		if s.LaunchConfig == nil {
			t.Errorf("%s has no launchConfig", s.Name)
			continue
		}
		if w.image != "" && s.LaunchConfig.ImageUUID() != w.image {
			t.Errorf("%s image %s, want %s", s.Name, s.LaunchConfig.ImageUUID(), w.image)
		}
		for k, v := range w.labels {
			if s.LaunchConfig.Labels()[k] != v {
				t.Errorf("%s labels %v, want %s=%s", s.Name, s.LaunchConfig.Labels(), k, v)
			}
		}
		if len(s.SecondaryLaunchConfigs) != w.sidekicks {
			t.Errorf("%s has %d sidekicks, want %d", s.Name, len(s.SecondaryLaunchConfigs), w.sidekicks)
		}
		onHosts := map[string]bool{}
		running := 0
		for _, in := range serviceContainers(t, c, s.ID) {
			onHosts[in.HostID] = true
			if in.State == "running" && in.HealthState == "healthy" {
				running++
			}
		}
		if running != w.containers || len(s.InstanceIDs) != w.containers {
			t.Errorf("%s: %d running healthy containers, instanceIds %v; want %d", s.Name, running, s.InstanceIDs,
				w.containers)
		}
		if s.Name == "monitor" && len(onHosts) != len(hosts) {
			t.Errorf("global monitor runs on %d hosts, want one container on each of the %d", len(onHosts), len(hosts))
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"lb", "monitor", "web", "worker"}) {
		t.Errorf("services of 1a5 = %v, want lb monitor web worker", got)
	}

	// Project 1a7 exists with its own key, and sees none of 1a5.
	if e.env7.AccessKey == e.env5.AccessKey {
		t.Errorf("1a7 shares the key of 1a5")
	}
	c7 := e.client(e.env7)
	if c7.ProjectID() != "1a7" {
		t.Errorf("the second key's project is %s, want 1a7", c7.ProjectID())
	}
	svcs7, err := c7.ListServices(t.Context(), cattle.ListOptions{})
	if err != nil {
		t.Fatalf("list services of 1a7: %v", err)
	}
	for _, s := range svcs7 {
		if s.AccountID != "1a7" || wants[s.Name].typ != "" {
			t.Errorf("1a7 lists service %s of account %s", s.Name, s.AccountID)
		}
	}
	projects := e.do(http.MethodGet, "/v2-beta/projects", &e.admin, nil).expect(t, http.StatusOK, "admin projects").data(t)
	var ids []string
	for _, p := range projects {
		ids = append(ids, fmt.Sprintf("%s/%s/%s", str(p, "id"), str(p, "type"), str(p, "state")))
	}
	if slices.Sort(ids); strings.Join(ids, " ") != "1a5/project/active 1a7/project/active" {
		t.Errorf("projects = %v, want active projects 1a5 and 1a7", ids)
	}
}
