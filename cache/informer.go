package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/cattle"
)

// Source is what the informer needs from the Cattle client.
type Source interface {
	List(ctx context.Context, schemaID string, opts cattle.ListOptions, out any) error
	ByID(ctx context.Context, schemaID, id string, out any) error
}

// Change says that one cached object changed, appeared or disappeared.
type Change struct {
	Kind    string
	ID      string
	Deleted bool
}

// InformerOptions configures an Informer. Store and Source are required.
type InformerOptions struct {
	Store  *Store
	Source Source
	// OnChange is called for every object whose cached copy changed, on the goroutine that applied it. It must
	// be quick (enqueue a key).
	OnChange func(Change)
	// ResyncInterval is the period of the full relist; 0 disables periodic resyncs (relists still happen on
	// every reconnect).
	ResyncInterval time.Duration
	// PageSize is the page size of relists (Cattle's default is 100; larger pages mean fewer requests).
	PageSize int
	// MaxRefreshRounds bounds how often the post-relist refresh may repeat while events keep arriving.
	MaxRefreshRounds int
	// RetryInitial and RetryMax bound the backoff between failed relists.
	RetryInitial, RetryMax time.Duration
	Logger                 logrus.FieldLogger
}

// Informer keeps a Store equal to Cattle's truth (see the package doc for the protocol).
type Informer struct {
	opts InformerOptions
	log  logrus.FieldLogger

	// mu serialises applying events with the phases of a relist, so an event is either applied live or recorded
	// for the post-relist refresh, never lost between the two.
	mu        sync.Mutex
	relisting bool
	dirty     map[ref]struct{}

	trigger  chan struct{}
	synced   atomic.Bool
	lastSync atomic.Int64 // unix nanos of the last completed relist
	relists  atomic.Int64
}

type ref struct{ kind, id string }

// schemaOf is the Cattle schema each kind is listed and fetched from.
func schemaOf(kind string) string {
	switch kind {
	case KindService:
		return "service"
	case KindHost:
		return "host"
	case KindInstance:
		return "instance"
	case KindReceiver:
		return "genericObject"
	}
	return ""
}

// NewInformer validates opts and returns an Informer; it does nothing until Run.
func NewInformer(opts InformerOptions) (*Informer, error) {
	if opts.Store == nil || opts.Source == nil {
		return nil, errors.New("new informer: store and source are required")
	}
	if opts.OnChange == nil {
		opts.OnChange = func(Change) {}
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 1000
	}
	if opts.MaxRefreshRounds <= 0 {
		opts.MaxRefreshRounds = 10
	}
	if opts.RetryInitial <= 0 {
		opts.RetryInitial = 500 * time.Millisecond
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		l := logrus.New()
		l.SetOutput(discardWriter{})
		log = l
	}
	return &Informer{
		opts:    opts,
		log:     log.WithField("component", "cache"),
		dirty:   map[ref]struct{}{},
		trigger: make(chan struct{}, 1),
	}, nil
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// Resync asks for a relist. From this call on, events are recorded instead of applied until the relist and its
// refresh are done, so nothing that arrives meanwhile can be overwritten by an older list row.
func (i *Informer) Resync() {
	i.mu.Lock()
	i.relisting = true
	i.mu.Unlock()
	select {
	case i.trigger <- struct{}{}:
	default: // a relist is already pending; it will see everything recorded so far
	}
}

// OnConnect is the event subscriber's connect hook: every new connection may have missed events, so relist.
// It returns at once; the relist runs on the informer's goroutine while events keep flowing.
func (i *Informer) OnConnect(context.Context, uint64) error {
	i.Resync()
	return nil
}

// Synced reports whether a first full relist has completed.
func (i *Informer) Synced() bool { return i.synced.Load() }

// LastSync returns when the last relist completed (zero before the first).
func (i *Informer) LastSync() time.Time {
	n := i.lastSync.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Relists returns how many relists have completed.
func (i *Informer) Relists() int64 { return i.relists.Load() }

// resourceChangeData is the data member of a resource.change event.
type resourceChangeData struct {
	Resource json.RawMessage `json:"resource"`
}

// typeProbe reads the type members of a rendered resource.
type typeProbe struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	BaseType string `json:"baseType"`
}

// ApplyEvent applies one resource.change event (its resourceType, resourceId and data). Types the cache does not
// keep are ignored. Malformed data is an error (the caller logs and counts it); nothing is half-applied.
func (i *Informer) ApplyEvent(resourceType, resourceID string, data json.RawMessage) error {
	var d resourceChangeData
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("decode resource.change data: %w", err)
	}
	if len(d.Resource) == 0 || string(d.Resource) == "null" {
		return fmt.Errorf("resource.change for %s %s carries no resource", resourceType, resourceID)
	}
	var probe typeProbe
	if err := json.Unmarshal(d.Resource, &probe); err != nil {
		return fmt.Errorf("decode resource.change resource: %w", err)
	}
	kind := kindOf(resourceType)
	if kind == "" {
		kind = kindOf(probe.BaseType)
	}
	if kind == "" {
		kind = kindOf(probe.Type)
	}
	if kind == "" {
		return nil
	}
	id := probe.ID
	if id == "" {
		id = resourceID
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.relisting {
		i.dirty[ref{kind, id}] = struct{}{}
		return nil
	}
	return i.upsertLocked(kind, d.Resource)
}

func (i *Informer) upsertLocked(kind string, raw json.RawMessage) error {
	c, changed, err := i.opts.Store.Upsert(kind, raw)
	if err != nil {
		return err
	}
	if changed {
		i.opts.OnChange(c)
	}
	return nil
}

// Run relists once at start and then whenever Resync is called or the resync interval passes, until ctx ends.
func (i *Informer) Run(ctx context.Context) error {
	var tick <-chan time.Time
	if i.opts.ResyncInterval > 0 {
		t := time.NewTicker(i.opts.ResyncInterval)
		defer t.Stop()
		tick = t.C
	}
	i.Resync()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			i.Resync()
		case <-i.trigger:
			if !i.relistWithRetry(ctx) {
				return nil
			}
		}
	}
}

// relistWithRetry relists until it succeeds or ctx ends (false).
func (i *Informer) relistWithRetry(ctx context.Context) bool {
	wait := i.opts.RetryInitial
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := i.relist(ctx)
		if err == nil {
			i.log.WithFields(logrus.Fields{"duration": time.Since(start).String(), "attempt": attempt}).Debug("relist done")
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		i.log.WithError(err).WithField("attempt", attempt).Warn("relist failed, retrying")
		jitter := time.Duration(rand.Int64N(int64(wait)/2 + 1))
		t := time.NewTimer(wait + jitter)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(2*wait, i.opts.RetryMax)
	}
}

// relist lists every kind, replaces the store, refreshes what events named meanwhile and goes live.
func (i *Informer) relist(ctx context.Context) error {
	lists := make(map[string][]json.RawMessage, 4)
	for _, kind := range Kinds() {
		opts := cattle.ListOptions{PageSize: i.opts.PageSize}
		if kind == KindReceiver {
			opts.Filters = url.Values{"kind": {ReceiverKind}}
		}
		var rows []json.RawMessage
		if err := i.opts.Source.List(ctx, schemaOf(kind), opts, &rows); err != nil {
			return fmt.Errorf("relist %s: %w", kind, err)
		}
		lists[kind] = rows
	}
	i.mu.Lock()
	var changes []Change
	for _, kind := range Kinds() {
		changed, err := i.opts.Store.Replace(kind, lists[kind])
		if err != nil {
			i.log.WithError(err).WithField("resource_type", kind).Warn("relist skipped undecodable rows")
		}
		for _, id := range changed {
			_, has := get[any](i.opts.Store, kind, id)
			changes = append(changes, Change{Kind: kind, ID: id, Deleted: !has})
		}
	}
	i.mu.Unlock()
	for _, c := range changes {
		i.opts.OnChange(c)
	}
	if err := i.refresh(ctx); err != nil {
		return err
	}
	i.synced.Store(true)
	i.lastSync.Store(time.Now().UnixNano())
	i.relists.Add(1)
	return nil
}

// refresh re-reads by id every object an event named while relisting, until a round finds nothing new, then
// goes live. After MaxRefreshRounds it goes live anyway and re-reads what is left once more: under a storm
// that never pauses this is the best available order.
func (i *Informer) refresh(ctx context.Context) error {
	for round := 1; ; round++ {
		i.mu.Lock()
		pending := i.dirty
		i.dirty = map[ref]struct{}{}
		if len(pending) == 0 || round > i.opts.MaxRefreshRounds {
			i.relisting = false
			i.mu.Unlock()
			if len(pending) == 0 {
				return nil
			}
		} else {
			i.mu.Unlock()
		}
		for r := range pending {
			if err := i.fetch(ctx, r); err != nil {
				// Put the unfetched refs back so the next relist attempt refreshes them.
				i.mu.Lock()
				i.relisting = true
				for rest := range pending {
					i.dirty[rest] = struct{}{}
				}
				i.mu.Unlock()
				return err
			}
		}
		if round > i.opts.MaxRefreshRounds {
			return nil
		}
	}
}

// fetch re-reads one object and applies it (a 404 deletes it).
func (i *Informer) fetch(ctx context.Context, r ref) error {
	var raw json.RawMessage
	err := i.opts.Source.ByID(ctx, schemaOf(r.kind), r.id, &raw)
	i.mu.Lock()
	defer i.mu.Unlock()
	switch {
	case errors.Is(err, cattle.ErrNotFound):
		if i.opts.Store.Delete(r.kind, r.id) {
			i.opts.OnChange(Change{Kind: r.kind, ID: r.id, Deleted: true})
		}
		return nil
	case err != nil:
		return fmt.Errorf("refresh %s %s: %w", r.kind, r.id, err)
	}
	return i.upsertLocked(r.kind, raw)
}
