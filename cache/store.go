package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/imageref"
)

// Store is the in-memory copy of the cached Cattle resources and their indexes. The zero value is not usable;
// call NewStore.
type Store struct {
	mu      sync.RWMutex
	objects map[string]map[string]*entry // kind → API id → entry

	serviceLabels index // label term → service ids (primary and sidekick labels)
	serviceRepos  index // image repository → service ids (primary and sidekick images)
	hostLabels    index // label term → host ids
	serviceInsts  index // service id → instance ids
	receiverKeys  index // trigger key → receiver ids (several while an update replaces a receiver)

	gauge *prometheus.GaugeVec
	// seed keys maphash, the hash of renderings (see entry.hash): several times faster than FNV on multi-KB
	// rows, and its hashes are only compared within this store, so any seed will do.
	seed maphash.Seed
}

// entry is one cached object with what is needed to detect changes and to unindex it.
type entry struct {
	obj any
	// hash is the hash of the rendering obj was decoded from: Cattle renders an unchanged object identically in
	// events, reads and lists, so an equal hash means no change (a 64-bit collision is the accepted risk).
	hash  uint64
	terms []string // terms under which the object is indexed in its kind's primary index
	repos []string // services only: image repositories
	owner []string // instances only: service ids
	key   string   // receivers only: trigger key
}

// ErrNotCached is returned for resources of a type the cache does not keep.
var errNotCached = errors.New("resource type is not cached")

// NewStore returns an empty store. When reg is non-nil the gauge scale_subscriber_cache_objects{type} is
// registered on it.
func NewStore(reg prometheus.Registerer) (*Store, error) {
	s := &Store{
		objects:       map[string]map[string]*entry{},
		serviceLabels: index{},
		serviceRepos:  index{},
		hostLabels:    index{},
		serviceInsts:  index{},
		receiverKeys:  index{},
		seed:          maphash.MakeSeed(),
	}
	for _, k := range Kinds() {
		s.objects[k] = map[string]*entry{}
	}
	if reg != nil {
		s.gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scale_subscriber_cache_objects",
			Help: "Objects held in the cache, by type.",
		}, []string{"type"})
		if err := reg.Register(s.gauge); err != nil {
			return nil, fmt.Errorf("register cache metrics: %w", err)
		}
		for _, k := range Kinds() {
			s.gauge.WithLabelValues(k).Set(0)
		}
	}
	return s, nil
}

// decoded is an object decoded from Cattle JSON, ready to be stored.
type decoded struct {
	kind    string
	id      string
	removed bool
	ignore  bool // a genericObject that is not a receiver
	entry   *entry
}

// hashOf hashes a rendering for change detection (see entry.hash).
func (s *Store) hashOf(raw []byte) uint64 { return maphash.Bytes(s.seed, raw) }

// decode turns the REST/event rendering of a resource of the given kind, whose hash is h, into an entry.
func decode(kind string, raw json.RawMessage, h uint64) (decoded, error) {
	d := decoded{kind: kind, entry: &entry{hash: h}}
	var res *cattle.Resource
	switch kind {
	case KindService:
		var svc cattle.Service
		if err := json.Unmarshal(raw, &svc); err != nil {
			return d, fmt.Errorf("decode service: %w", err)
		}
		res, d.entry.obj = &svc.Resource, &svc
		d.entry.terms, d.entry.repos = serviceTerms(&svc)
	case KindHost:
		var h cattle.Host
		if err := json.Unmarshal(raw, &h); err != nil {
			return d, fmt.Errorf("decode host: %w", err)
		}
		res, d.entry.obj = &h.Resource, &h
		d.entry.terms = uniqueTerms(labelTerms(h.Labels))
	case KindInstance:
		var in cattle.Instance
		if err := json.Unmarshal(raw, &in); err != nil {
			return d, fmt.Errorf("decode instance: %w", err)
		}
		res, d.entry.obj = &in.Resource, &in
		d.entry.owner = instanceOwners(&in)
	case KindReceiver:
		var g cattle.GenericObject
		if err := json.Unmarshal(raw, &g); err != nil {
			return d, fmt.Errorf("decode generic object: %w", err)
		}
		res, d.entry.obj = &g.Resource, &g
		d.entry.key = g.Key
		d.ignore = g.Kind != ReceiverKind
	default:
		return d, fmt.Errorf("decode %s: %w", kind, errNotCached)
	}
	if res.ID == "" {
		return d, fmt.Errorf("decode %s: resource has no id", kind)
	}
	d.id = res.ID
	d.removed = res.IsRemoved()
	return d, nil
}

func serviceTerms(svc *cattle.Service) (terms, repos []string) {
	configs := make([]*cattle.LaunchConfig, 0, 1+len(svc.SecondaryLaunchConfigs))
	if svc.LaunchConfig != nil {
		configs = append(configs, svc.LaunchConfig)
	}
	for i := range svc.SecondaryLaunchConfigs {
		configs = append(configs, &svc.SecondaryLaunchConfigs[i])
	}
	for _, lc := range configs {
		terms = append(terms, labelTerms(lc.Labels())...)
		if repo := imageref.Repository(lc.ImageUUID()); repo != "" {
			repos = append(repos, repo)
		}
	}
	return uniqueTerms(terms), uniqueTerms(repos)
}

func instanceOwners(in *cattle.Instance) []string {
	owners := append([]string(nil), in.ServiceIDs...)
	if in.ServiceID != "" {
		owners = append(owners, in.ServiceID)
	}
	return uniqueTerms(owners)
}

// Upsert stores (or, when the resource is removed, deletes) one resource of the given kind from its JSON
// rendering. ok reports whether the cache changed; the Change says how.
func (s *Store) Upsert(kind string, raw json.RawMessage) (c Change, ok bool, err error) {
	return s.upsert(kind, "", raw)
}

// upsert is Upsert for a rendering that must carry id wantID (unless it is ""): an event names its resource,
// and a rendering of another object under that name is rejected rather than cached under either id.
func (s *Store) upsert(kind, wantID string, raw json.RawMessage) (c Change, ok bool, err error) {
	d, err := decode(kind, raw, s.hashOf(raw))
	if err != nil {
		return Change{}, false, err
	}
	if wantID != "" && d.id != wantID {
		return Change{}, false, fmt.Errorf("decode %s %s: the rendering is of %s", kind, wantID, d.id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, had := s.objects[kind][d.id]
	if !s.applyLocked(d) {
		return Change{}, false, nil
	}
	s.updateGaugeLocked(kind)
	_, has := s.objects[kind][d.id]
	return Change{Kind: kind, ID: d.id, Deleted: had && !has}, true, nil
}

// Delete removes one object; it reports whether it was there.
func (s *Store) Delete(kind, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleteLocked(kind, id) {
		s.updateGaugeLocked(kind)
		return true
	}
	return false
}

// Replace makes the cached objects of kind exactly rows (a full list from Cattle) and returns the ids that
// changed, appeared or disappeared. Rows that do not decode are skipped and reported in the error; the rest is
// still applied, so one bad row cannot blind the cache. A bad row whose id can still be read keeps the cached
// copy of that object: it is listed, so it exists, and a stale copy is better than a lost one.
//
// A row rendered exactly as its cached copy is not decoded again: a periodic resync of a quiet world costs a
// hash per row instead of a decode, and allocates no second copy of the cache while the first is alive.
func (s *Store) Replace(kind string, rows []json.RawMessage) (changed []string, err error) {
	return s.applyReplace(kind, s.planReplace(kind, rows))
}

// replacePlan is the outcome of the unlocked half of Replace: the listed rows, in list order, either decoded
// or recognised as unchanged.
type replacePlan struct {
	rows []plannedRow
	errs []error
}

// plannedRow is one listed row: unchanged (same), decoded (d.entry set) or undecodable (neither).
type plannedRow struct {
	raw   json.RawMessage
	hash  uint64
	same  string  // id of the cached object this row rendered byte for byte when planned
	d     decoded // the decoded row
	badID string  // id of a row that does not decode, when that much reads
}

// planReplace hashes every row and decodes those that differ from every cached copy, without holding the
// lock, so readers and events are not held up by the decode of a large list. Its view of the cache may be
// stale by the time applyReplace runs; applyReplace checks the rows it skipped again.
func (s *Store) planReplace(kind string, rows []json.RawMessage) replacePlan {
	s.mu.RLock()
	cached := make(map[uint64]string, len(s.objects[kind]))
	for id, e := range s.objects[kind] {
		cached[e.hash] = id
	}
	s.mu.RUnlock()
	p := replacePlan{rows: make([]plannedRow, len(rows))}
	for n, raw := range rows {
		pr := &p.rows[n]
		pr.raw, pr.hash = raw, s.hashOf(raw)
		// Equal hashes mean equal bytes (see entry.hash), and the bytes carry the id, so the row is that object's.
		if id, ok := cached[pr.hash]; ok {
			pr.same = id
			continue
		}
		p.decodeRow(kind, pr)
	}
	return p
}

// decodeRow decodes one planned row, or records why it cannot be.
func (p *replacePlan) decodeRow(kind string, pr *plannedRow) {
	d, err := decode(kind, pr.raw, pr.hash)
	if err == nil {
		pr.d = d
		return
	}
	p.errs = append(p.errs, err)
	var probe struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(pr.raw, &probe) == nil {
		pr.badID = probe.ID
	}
}

// applyReplace applies a plan under the lock, in list order. A row planned as unchanged whose cached copy
// changed since (an Upsert between the two halves) is decoded here after all, so the list still wins as it
// would have had nothing been skipped.
func (s *Store) applyReplace(kind string, p replacePlan) (changed []string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[string]struct{}, len(p.rows))
	for n := range p.rows {
		pr := &p.rows[n]
		if pr.same != "" {
			seen[pr.same] = struct{}{}
			if e := s.objects[kind][pr.same]; e != nil && e.hash == pr.hash {
				continue
			}
			pr.same = ""
			p.decodeRow(kind, pr)
		}
		if pr.d.entry == nil {
			if pr.badID != "" {
				seen[pr.badID] = struct{}{}
			}
			continue
		}
		seen[pr.d.id] = struct{}{}
		if s.applyLocked(pr.d) {
			changed = append(changed, pr.d.id)
		}
	}
	for id := range s.objects[kind] {
		if _, ok := seen[id]; !ok && s.deleteLocked(kind, id) {
			changed = append(changed, id)
		}
	}
	s.updateGaugeLocked(kind)
	sortIDs(changed)
	return slices.Compact(changed), errors.Join(p.errs...)
}

func (s *Store) applyLocked(d decoded) bool {
	if d.removed || d.ignore {
		return s.deleteLocked(d.kind, d.id)
	}
	old := s.objects[d.kind][d.id]
	if old != nil && old.hash == d.entry.hash {
		return false
	}
	if old != nil {
		s.unindexLocked(d.kind, d.id, old)
	}
	s.objects[d.kind][d.id] = d.entry
	s.indexLocked(d.kind, d.id, d.entry)
	return true
}

func (s *Store) deleteLocked(kind, id string) bool {
	old := s.objects[kind][id]
	if old == nil {
		return false
	}
	s.unindexLocked(kind, id, old)
	delete(s.objects[kind], id)
	return true
}

func (s *Store) indexLocked(kind, id string, e *entry) {
	switch kind {
	case KindService:
		s.serviceLabels.add(e.terms, id)
		s.serviceRepos.add(e.repos, id)
	case KindHost:
		s.hostLabels.add(e.terms, id)
	case KindInstance:
		s.serviceInsts.add(e.owner, id)
	case KindReceiver:
		if e.key != "" {
			s.receiverKeys.add([]string{e.key}, id)
		}
	}
}

func (s *Store) unindexLocked(kind, id string, e *entry) {
	switch kind {
	case KindService:
		s.serviceLabels.remove(e.terms, id)
		s.serviceRepos.remove(e.repos, id)
	case KindHost:
		s.hostLabels.remove(e.terms, id)
	case KindInstance:
		s.serviceInsts.remove(e.owner, id)
	case KindReceiver:
		if e.key != "" {
			s.receiverKeys.remove([]string{e.key}, id)
		}
	}
}

func (s *Store) updateGaugeLocked(kind string) {
	if s.gauge != nil {
		s.gauge.WithLabelValues(kind).Set(float64(len(s.objects[kind])))
	}
}
