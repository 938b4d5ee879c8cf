package cattlesim

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Populate builds large settled worlds for scale tests and benchmarks (issue 3: 10,000 services, 2,000 hosts and
// 30,000 containers). The creation paths the REST API and the seeds use keep every derived field current after
// each instance (instanceChangedLocked recomputes the service's and the host's from the instance index) and
// place each unit on the least loaded host (pickHostLocked reads the load the index keeps for every active
// host), which is right for one change at a time, but for tens of thousands of inserts still adds up to a pass
// over the hosts per unit and over its service per instance. Populate creates the same objects with the same
// helpers, places them round-robin, holds the per-instance refreshes back, and computes the derived fields once
// at the end from a grouping of the new instances, so the world is identical to one built object by object.

// PopulateOptions says how much Populate creates in one project.
type PopulateOptions struct {
	// Hosts is the number of active amazonec2 machine hosts, labelled pool=workers and zone=<a|b|c>.
	Hosts int
	// Services is the number of active services (kind service, no sidekicks), each labelled app=<name> and
	// tier=<web|worker|batch>, running one of a few dozen images.
	Services int
	// Scale is the number of running containers per service; default 1.
	Scale int
	// ServicesPerStack groups the services into stacks of this size; default 100.
	ServicesPerStack int
	// Containers is the number of standalone running containers (no service), created unplaced (hostId null)
	// like containers of a project without hosts. A change to one of them touches no service and no host, so
	// cattlesim can produce their resource.change events quickly (the event-throughput benchmark flips them).
	Containers int
}

// PopulateInfo lists the API ids Populate created, in creation (id) order.
type PopulateInfo struct {
	Stacks   []string
	Hosts    []string
	Services []string
	// Instances are the containers of the services; Containers the standalone ones.
	Instances  []string
	Containers []string
}

// populateImages are the images services are spread over, so the repository index has realistic fan-out.
func populateImages() []string {
	return []string{"nginx:1.13", "busybox:1.36", "httpd:2.4", "redis:4.0", "postgres:9.6",
		"rancher/lb-service-haproxy:v0.7.15", "prom/node-exporter:v0.15.2", "library/memcached:1.5",
		"quay.io/coreos/etcd:v3.2.9", "registry.example.com:5000/team/api:1.0"}
}

// Populate adds a settled world to project projectID (API id, e.g. "1a5", which must exist — run a seed first):
// opts.Hosts active hosts, then stacks of opts.ServicesPerStack active services with opts.Scale running, healthy
// containers each, spread round-robin over the hosts, then opts.Containers standalone containers. Names never collide with the demo seed (stacks bulk-NNN,
// services svc-NNNNN, hosts bulk-host-NNNNN). Every object is announced to the event hub like any other
// creation. Populate runs in time linear in the number of objects.
func (s *Sim) Populate(projectID string, opts PopulateOptions) (*PopulateInfo, error) {
	if opts.Hosts < 0 || opts.Services < 0 || opts.Scale < 0 || opts.ServicesPerStack < 0 || opts.Containers < 0 {
		return nil, errors.New("populate: counts must not be negative")
	}
	if opts.Scale == 0 {
		opts.Scale = 1
	}
	if opts.ServicesPerStack == 0 {
		opts.ServicesPerStack = 100
	}
	account, ok := ParseID(projectID)
	if !ok {
		return nil, fmt.Errorf("populate: malformed project id %q", projectID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.getLocked("account", account); p == nil || p.Str("kind") != "project" || p.Removed != nil {
		return nil, fmt.Errorf("populate: project %s does not exist", projectID)
	}

	info := &PopulateInfo{}
	base := s.now().UTC().Truncate(time.Second)
	hosts := make([]*Object, 0, opts.Hosts)
	for i := range opts.Hosts {
		name := fmt.Sprintf("bulk-host-%05d", i+1)
		h := s.seedHostLocked(account, name, "amazonec2", amazonec2Config(name),
			base.Add(time.Duration(i-opts.Hosts)*time.Second))
		h.Fields["labels"] = map[string]any{"pool": "workers", "zone": string(rune('a' + i%3))}
		hosts = append(hosts, h)
		info.Hosts = append(info.Hosts, h.APIID())
	}

	// Derived-field refreshes are held back while the instances are inserted (see instanceChangedLocked);
	// refreshPopulatedLocked computes them once at the end.
	s.populating = true
	defer func() { s.populating = false }()
	var stacks, services, instances []*Object
	var stack *Object
	for i := range opts.Services {
		if i%opts.ServicesPerStack == 0 {
			stack = s.seedStackLocked(account, fmt.Sprintf("bulk-%03d", len(stacks)+1))
			stacks = append(stacks, stack)
			info.Stacks = append(info.Stacks, stack.APIID())
		}
		svc := s.insertPopulatedServiceLocked(stack, fmt.Sprintf("svc-%05d", i+1), opts.Scale, i)
		services = append(services, svc)
		info.Services = append(info.Services, svc.APIID())
		lc := serviceLaunchConfigs(svc)[0]
		for unit := 1; unit <= opts.Scale; unit++ {
			hostID := ""
			if len(hosts) > 0 {
				hostID = hosts[len(instances)%len(hosts)].APIID()
			}
			c := s.createServiceInstanceLocked(svc, lc, s.uuidLocked(), unit, hostID, true)
			instances = append(instances, c)
			info.Instances = append(info.Instances, c.APIID())
		}
	}
	s.refreshPopulatedLocked(stacks, services, hosts, instances)
	images := populateImages()
	for i := range opts.Containers {
		f := map[string]any{"imageUuid": "docker:" + images[i%len(images)], "name": fmt.Sprintf("bulk-c-%05d", i+1),
			"hostId": nil, "version": "0", "serviceIds": []any{}, "startOnCreate": true,
			"labels": map[string]any{"app": "standalone", "io.rancher.container.pull_image": "always"}}
		c := s.insertInstanceLocked(account, f, true, true)
		info.Containers = append(info.Containers, c.APIID())
	}
	return info, nil
}

// insertPopulatedServiceLocked stores an active service of the given scale with no units yet (the caller
// deploys them); n varies its labels and image.
func (s *Sim) insertPopulatedServiceLocked(stack *Object, name string, scale, n int) *Object {
	tiers := [...]string{"web", "worker", "batch"}
	images := populateImages()
	lc := map[string]any{
		"imageUuid": "docker:" + images[n%len(images)],
		"labels":    map[string]any{"app": name, "tier": tiers[n%len(tiers)]},
		"ports":     []any{fmt.Sprintf("%d:80/tcp", 10000+n%50000)},
	}
	normalizeLaunchConfig(lc, "launchConfig")
	f := map[string]any{"name": name, "stackId": stack.APIID(), "scale": float64(scale), "launchConfig": lc,
		"startOnCreate": true, "kind": "service", "createIndex": float64(0), "currentScale": float64(0),
		"instanceIds": []any{}, "upgrade": nil, "system": false}
	return s.insertLocked(&Object{Type: "service", BaseType: "service", AccountID: stack.AccountID,
		State: "active", Transitioning: "no", Fields: f})
}

// refreshPopulatedLocked sets what refreshServiceLocked, refreshHostLocked and refreshStackLocked would have
// set after each insert, in one pass over the new objects (all of one project, none removed). Objects whose
// derived fields change are touched, as the refresh functions do.
func (s *Sim) refreshPopulatedLocked(stacks, services, hosts, instances []*Object) {
	byService := map[string][]*Object{}
	byHost := map[string][]*Object{}
	for _, c := range instances { // already in id order
		byService[c.Str("serviceId")] = append(byService[c.Str("serviceId")], c)
		if h := c.Str("hostId"); h != "" {
			byHost[h] = append(byHost[h], c)
		}
	}
	// Existing instances on the hosts are none (the hosts are new); existing services are not touched.
	for _, svc := range services {
		insts := byService[svc.APIID()]
		setDerivedLocked(s, svc, map[string]any{
			"instanceIds":  apiIDs(insts),
			"currentScale": float64(s.currentScaleLocked(svc, insts)),
			"healthState":  s.serviceHealthLocked(svc, insts),
		})
	}
	for _, h := range hosts {
		setDerivedLocked(s, h, map[string]any{"instanceIds": apiIDs(byHost[h.APIID()])})
	}
	byStack := map[string][]*Object{}
	for _, svc := range services {
		byStack[svc.Str("stackId")] = append(byStack[svc.Str("stackId")], svc)
	}
	for _, st := range stacks {
		setDerivedLocked(s, st, map[string]any{"serviceIds": apiIDs(byStack[st.APIID()])})
	}
}

// setDerivedLocked stores derived fields and touches o when one of them changed.
func setDerivedLocked(s *Sim, o *Object, derived map[string]any) {
	changed := false
	for k, v := range derived {
		if !jsonEqual(o.Fields[k], v) {
			o.Fields[k] = v
			changed = true
		}
	}
	if changed {
		s.touchLocked(o)
	}
}

// apiIDs returns the API ids of objects in id order, as the JSON array the derived fields hold.
func apiIDs(objs []*Object) []any {
	sorted := append([]*Object(nil), objs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	out := make([]any, 0, len(sorted))
	for _, o := range sorted {
		out = append(out, o.APIID())
	}
	return out
}
