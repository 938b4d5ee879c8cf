package cache

import (
	"sort"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/imageref"
)

// Objects returned by the read methods are shared and immutable: never modify them (Clone a LaunchConfig
// before changing it).

// Service returns the cached service with that id.
func (s *Store) Service(id string) (*cattle.Service, bool) {
	return get[*cattle.Service](s, KindService, id)
}

// Host returns the cached host with that id.
func (s *Store) Host(id string) (*cattle.Host, bool) {
	return get[*cattle.Host](s, KindHost, id)
}

// Instance returns the cached instance with that id.
func (s *Store) Instance(id string) (*cattle.Instance, bool) {
	return get[*cattle.Instance](s, KindInstance, id)
}

// Receiver returns the cached receiver genericObject with that id.
func (s *Store) Receiver(id string) (*cattle.GenericObject, bool) {
	return get[*cattle.GenericObject](s, KindReceiver, id)
}

// ReceiverByKey returns the receiver whose trigger key is key. Callers that authenticate a trigger must still
// compare the key in constant time (the map lookup hashes it, which leaks nothing useful, but the contract is
// stated where the secret is checked). Two receivers share a key while an update replaces one genericObject by
// another (genericObjects cannot be changed in place): the live one wins over one being removed, then the
// newest (highest id), so the event of the old object's removal can neither shadow nor unindex the new one.
func (s *Store) ReceiverByKey(key string) (*cattle.GenericObject, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var best *cattle.GenericObject
	for _, id := range sortedIDs(s.receiverKeys[key]) {
		e := s.objects[KindReceiver][id]
		if e == nil {
			continue
		}
		g, ok := e.obj.(*cattle.GenericObject)
		if ok && (best == nil || receiverLeaving(best) || !receiverLeaving(g)) {
			best = g
		}
	}
	return best, best != nil
}

// receiverLeaving reports whether a receiver is being removed (removed ones are never cached).
func receiverLeaving(g *cattle.GenericObject) bool {
	return g.State == "removing" || g.State == "purging"
}

// Services returns every cached service, ordered by id.
func (s *Store) Services() []*cattle.Service { return all[*cattle.Service](s, KindService) }

// Hosts returns every cached host, ordered by id.
func (s *Store) Hosts() []*cattle.Host { return all[*cattle.Host](s, KindHost) }

// Instances returns every cached instance, ordered by id.
func (s *Store) Instances() []*cattle.Instance { return all[*cattle.Instance](s, KindInstance) }

// Receivers returns every cached receiver, ordered by id.
func (s *Store) Receivers() []*cattle.GenericObject {
	return all[*cattle.GenericObject](s, KindReceiver)
}

// ServicesMatching returns the services with at least one launch config (primary or sidekick) whose labels
// satisfy every selector pair (see MatchLabels), ordered by id.
func (s *Store) ServicesMatching(selector map[string]string) []*cattle.Service {
	candidates := s.candidates(s.serviceLabels, KindService, selector)
	out := make([]*cattle.Service, 0, len(candidates))
	for _, e := range candidates {
		svc, ok := e.(*cattle.Service)
		if ok && serviceMatches(svc, selector) {
			out = append(out, svc)
		}
	}
	return out
}

// ServicesWithRepository returns the services whose primary or sidekick image is in repository, ordered by id.
// Both sides are normalised with imageref, so "nginx", "docker.io/library/nginx" and "docker:nginx:1.13" name
// the same repository.
func (s *Store) ServicesWithRepository(repository string) []*cattle.Service {
	if repo := imageref.Repository(repository); repo != "" {
		repository = repo
	}
	s.mu.RLock()
	ids := sortedIDs(s.serviceRepos[repository])
	out := make([]*cattle.Service, 0, len(ids))
	for _, id := range ids {
		if svc, ok := s.objects[KindService][id].obj.(*cattle.Service); ok {
			out = append(out, svc)
		}
	}
	s.mu.RUnlock()
	return out
}

// HostsMatching returns the hosts whose labels satisfy every selector pair, ordered by id.
func (s *Store) HostsMatching(selector map[string]string) []*cattle.Host {
	candidates := s.candidates(s.hostLabels, KindHost, selector)
	out := make([]*cattle.Host, 0, len(candidates))
	for _, e := range candidates {
		h, ok := e.(*cattle.Host)
		if ok && MatchLabels(h.Labels, selector) {
			out = append(out, h)
		}
	}
	return out
}

// InstancesOfService returns the cached instances that belong to the service, ordered by id.
func (s *Store) InstancesOfService(serviceID string) []*cattle.Instance {
	s.mu.RLock()
	ids := sortedIDs(s.serviceInsts[serviceID])
	out := make([]*cattle.Instance, 0, len(ids))
	for _, id := range ids {
		if in, ok := s.objects[KindInstance][id].obj.(*cattle.Instance); ok {
			out = append(out, in)
		}
	}
	s.mu.RUnlock()
	return out
}

// Len returns how many objects of kind are cached.
func (s *Store) Len(kind string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.objects[kind])
}

// Counts returns the number of cached objects per kind.
func (s *Store) Counts() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]int, len(s.objects))
	for k, m := range s.objects {
		out[k] = len(m)
	}
	return out
}

func serviceMatches(svc *cattle.Service, selector map[string]string) bool {
	if svc.LaunchConfig != nil && MatchLabels(svc.LaunchConfig.Labels(), selector) {
		return true
	}
	for i := range svc.SecondaryLaunchConfigs {
		if MatchLabels(svc.SecondaryLaunchConfigs[i].Labels(), selector) {
			return true
		}
	}
	return false
}

// candidates narrows a selector query with the index of its most selective pair, then returns those objects
// for the caller to verify against the full selector.
func (s *Store) candidates(ix index, kind string, selector map[string]string) []any {
	if len(selector) == 0 {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var best map[string]struct{}
	first := true
	for k, v := range selector {
		set := ix[selectorTerm(k, v)]
		if first || len(set) < len(best) {
			best, first = set, false
		}
	}
	out := make([]any, 0, len(best))
	for _, id := range sortedIDs(best) {
		if e := s.objects[kind][id]; e != nil {
			out = append(out, e.obj)
		}
	}
	return out
}

func get[T any](s *Store, kind, id string) (T, bool) {
	s.mu.RLock()
	e := s.objects[kind][id]
	s.mu.RUnlock()
	var zero T
	if e == nil {
		return zero, false
	}
	obj, ok := e.obj.(T)
	return obj, ok
}

func all[T any](s *Store, kind string) []T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, 0, len(s.objects[kind]))
	for id := range s.objects[kind] {
		ids = append(ids, id)
	}
	sortIDs(ids)
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		if obj, ok := s.objects[kind][id].obj.(T); ok {
			out = append(out, obj)
		}
	}
	return out
}

func sortedIDs(set map[string]struct{}) []string {
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	sortIDs(ids)
	return ids
}

// sortIDs orders API ids numerically within a type ("1s2" before "1s10"): shorter first, then lexically.
func sortIDs(ids []string) {
	sort.Slice(ids, func(i, j int) bool {
		if len(ids[i]) != len(ids[j]) {
			return len(ids[i]) < len(ids[j])
		}
		return ids[i] < ids[j]
	})
}
