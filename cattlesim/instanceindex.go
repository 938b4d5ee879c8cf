package cattlesim

import (
	"slices"
	"sort"
)

// instanceIndex finds the live (non-removed) instances of a service or on a host without scanning every
// instance: every container change refreshes its service's and its host's derived fields, and a scan made
// that cost grow with the world instead of with the service (quadratic for a world built change by change).
//
// An instance is indexed under the values its serviceId, serviceIds and hostId hold when it is inserted, and
// leaves the index when it is marked removed. That is exact because those fields never change afterwards:
// they are read-only on the API (schemadefs.go), only the creation paths set them (insertInstanceLocked's
// callers fill them in before inserting), and removed objects are never restored. Lookups still apply the
// caller's full test (account, field values, liveness), so the index only narrows the candidates; the
// procedure tests compare it with a full scan after every test (procs_helpers_test.go).
//
// It also keeps each host's load, the number of its live instances (placed on it, in its account, neither
// removed nor in a gone state), which placement compares across every active host for each new unit: counting
// them there made building a world unit by unit quadratic. An instance's state is the one input of the load
// that changes after the insert, and it changes only in setStateLocked and failLocked, which recount it.
type instanceIndex struct {
	byService map[string]map[int64]*Object // serviceId or serviceIds member → instance id → instance
	byHost    map[string]map[int64]*Object // hostId → instance id → instance
	keys      map[*Object]instanceKeys     // what each indexed instance was indexed under
	load      map[hostSlot]int             // live instances per host
	loaded    map[*Object]bool             // the indexed instances counted in load
}

// hostSlot is what a host's load is kept under: its API id within its account, as placement asks for it (a
// scan compared an instance with the hosts of its own account only).
type hostSlot struct {
	account int64
	host    string
}

// instanceKeys are the index keys of one instance.
type instanceKeys struct {
	services []string
	host     string
}

func newInstanceIndex() *instanceIndex {
	return &instanceIndex{
		byService: map[string]map[int64]*Object{},
		byHost:    map[string]map[int64]*Object{},
		keys:      map[*Object]instanceKeys{},
		load:      map[hostSlot]int{},
		loaded:    map[*Object]bool{},
	}
}

// keysOf reads the index keys from an instance's fields: every service id it names, and its host.
func keysOf(c *Object) instanceKeys {
	k := instanceKeys{host: c.Str("hostId")}
	for _, id := range append(c.StrSlice("serviceIds"), c.Str("serviceId")) {
		if id != "" && !slices.Contains(k.services, id) {
			k.services = append(k.services, id)
		}
	}
	return k
}

// add indexes a newly inserted instance.
func (ix *instanceIndex) add(c *Object) {
	k := keysOf(c)
	ix.keys[c] = k
	for _, id := range k.services {
		addTo(ix.byService, id, c)
	}
	if k.host != "" {
		addTo(ix.byHost, k.host, c)
	}
	ix.recount(c)
}

// remove unindexes an instance that was marked removed (under the keys it was added with).
func (ix *instanceIndex) remove(c *Object) {
	k, ok := ix.keys[c]
	if !ok {
		return
	}
	if ix.loaded[c] {
		ix.unload(c, k.host)
	}
	delete(ix.keys, c)
	for _, id := range k.services {
		removeFrom(ix.byService, id, c)
	}
	if k.host != "" {
		removeFrom(ix.byHost, k.host, c)
	}
}

// recount brings an indexed instance's part in its host's load in line with its state.
func (ix *instanceIndex) recount(c *Object) {
	k, ok := ix.keys[c]
	if !ok || k.host == "" {
		return
	}
	switch live := !gone(c); {
	case live && !ix.loaded[c]:
		ix.loaded[c] = true
		ix.load[hostSlot{c.AccountID, k.host}]++
	case !live && ix.loaded[c]:
		ix.unload(c, k.host)
	}
}

// unload takes a counted instance out of its host's load.
func (ix *instanceIndex) unload(c *Object, host string) {
	delete(ix.loaded, c)
	slot := hostSlot{c.AccountID, host}
	if ix.load[slot]--; ix.load[slot] == 0 {
		delete(ix.load, slot)
	}
}

func addTo(m map[string]map[int64]*Object, key string, c *Object) {
	set := m[key]
	if set == nil {
		set = map[int64]*Object{}
		m[key] = set
	}
	set[c.ID] = c
}

func removeFrom(m map[string]map[int64]*Object, key string, c *Object) {
	set := m[key]
	delete(set, c.ID)
	if len(set) == 0 {
		delete(m, key)
	}
}

// instancesIn returns the non-removed instances of one index set that match pred, in id order (the order a
// scan of the whole table returned them in).
func instancesIn(set map[int64]*Object, pred func(*Object) bool) []*Object {
	var out []*Object
	for _, c := range set {
		if c.Removed == nil && pred(c) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// indexInstanceLocked adds an instance to the index when it is inserted (insertLocked).
func (s *Sim) indexInstanceLocked(o *Object) {
	if o.BaseType == "instance" {
		s.instIndex.add(o)
	}
}

// unindexInstanceLocked drops an instance from the index when it is marked removed (markRemovedLocked).
func (s *Sim) unindexInstanceLocked(o *Object) {
	if o.BaseType == "instance" {
		s.instIndex.remove(o)
	}
}

// instanceStateLocked keeps the host loads current when an object's state changed (setStateLocked,
// failLocked).
func (s *Sim) instanceStateLocked(o *Object) {
	if o.BaseType == "instance" {
		s.instIndex.recount(o)
	}
}

// hostLoadLocked is the number of live instances of the account placed on host hostID: for a host of that
// account, what len(hostInstancesLocked(host, true)) counts, without listing them.
func (s *Sim) hostLoadLocked(accountID int64, hostID string) int {
	return s.instIndex.load[hostSlot{accountID, hostID}]
}

// serviceInstancesLocked returns the service's non-removed instances (instanceIds), in id order.
func (s *Sim) serviceInstancesLocked(svc *Object) []*Object {
	id := svc.APIID()
	return instancesIn(s.instIndex.byService[id], func(c *Object) bool {
		return c.AccountID == svc.AccountID &&
			(c.Str("serviceId") == id || slices.Contains(c.StrSlice("serviceIds"), id))
	})
}

// hostInstancesWhereLocked returns the non-removed instances of the host's account placed on it that match
// pred, in id order.
func (s *Sim) hostInstancesWhereLocked(host *Object, pred func(*Object) bool) []*Object {
	id := host.APIID()
	return instancesIn(s.instIndex.byHost[id], func(c *Object) bool {
		return c.AccountID == host.AccountID && c.Str("hostId") == id && pred(c)
	})
}
