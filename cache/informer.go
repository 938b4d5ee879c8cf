package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
	// RequestRetries bounds how often one request of a relist (a page, or a re-read by id) that failed with a
	// retryable error is retried in place before the relist is given up and started over after the backoff
	// above; zero means DefaultRequestRetries, negative means none. It stacks on the Cattle client's own GET
	// retries (see retryRequest for why both exist).
	RequestRetries int
	// RequestRetryInitial is the wait before a request's first retry, doubled per retry up to RetryMax; zero
	// means DefaultRequestRetryInitial.
	RequestRetryInitial time.Duration
	// WaitForConnect makes Run wait for the first Resync (the subscriber's OnConnect) instead of relisting at
	// once. A list made before the subscription is up cannot be trusted (changes between it and the subscribe
	// are lost) and is repeated after the connect anyway, so with a subscriber it is only a wasted relist.
	WaitForConnect bool
	Logger         logrus.FieldLogger
	// Registerer, when set, gets the informer's metrics (scale_subscriber_cache_relists_total and its siblings,
	// see metrics.go).
	Registerer prometheus.Registerer
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
	// fetching holds the refs being re-read by id once the informer is live again; the value turns true when
	// a live event for that ref is applied while the read is in flight, so the (possibly older) read is not
	// written over it.
	fetching map[ref]bool

	trigger  chan struct{}
	synced   atomic.Bool
	lastSync atomic.Int64 // unix nanos of the last completed relist
	relists  atomic.Int64
	retries  atomic.Int64 // relist requests retried in place
	// relistFailures counts relists given up and started over after the backoff.
	relistFailures atomic.Int64
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
	switch {
	case opts.RequestRetries == 0:
		opts.RequestRetries = DefaultRequestRetries
	case opts.RequestRetries < 0:
		opts.RequestRetries = 0
	}
	if opts.RequestRetryInitial <= 0 {
		opts.RequestRetryInitial = DefaultRequestRetryInitial
	}
	log := opts.Logger
	if log == nil {
		l := logrus.New()
		l.SetOutput(discardWriter{})
		log = l
	}
	i := &Informer{
		opts:     opts,
		log:      log.WithField("component", "cache"),
		dirty:    map[ref]struct{}{},
		fetching: map[ref]bool{},
		trigger:  make(chan struct{}, 1),
	}
	if opts.Registerer != nil {
		if err := i.registerInformerMetrics(opts.Registerer); err != nil {
			return nil, err
		}
	}
	return i, nil
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

// RetriedRequests returns how many requests of relists have been retried in place (see retryRequest).
func (i *Informer) RetriedRequests() int64 { return i.retries.Load() }

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
// keep are ignored. Malformed data is an error (the caller logs and counts it) and nothing is half-applied; when
// the event still names a cached kind and an id, that object is re-read by a relist so it is not left stale.
//
// The event's resourceType and resourceId say which object it is (Cattle's events always carry both); only
// when one is missing is the rendering probed for its id and type. Probing costs a full scan of the rendering,
// about a quarter of what applying an event costs, and the typed decode still rejects a bad rendering,
// including one of another object than the event names.
func (i *Informer) ApplyEvent(resourceType, resourceID string, data json.RawMessage) error {
	var d resourceChangeData
	if err := json.Unmarshal(data, &d); err != nil {
		i.repair(kindOf(resourceType), resourceID)
		return fmt.Errorf("decode resource.change data: %w", err)
	}
	return i.ApplyResource(resourceType, resourceID, d.Resource)
}

// ApplyResource is ApplyEvent for a caller that has already taken the resource out of the event's data, as
// decoding the frame does (events.Event.Resource): it saves a full encoding/json pass over data per event, a
// quarter of what applying one costs. resource is data's "resource" member, nil or null when it has none (an
// error, as for ApplyEvent). It is not validated here: callers pass bytes from a frame encoding/json already
// validated. Applied live, the typed decode (or the probe) still rejects anything that is not JSON, with the same
// repair as any malformed event; during a relist the object is only marked for re-reading, so nothing is decoded.
func (i *Informer) ApplyResource(resourceType, resourceID string, resource json.RawMessage) error {
	resource = bytes.TrimSpace(resource)
	if len(resource) == 0 || string(resource) == "null" {
		i.repair(kindOf(resourceType), resourceID)
		return fmt.Errorf("resource.change for %s %s carries no resource", resourceType, resourceID)
	}
	if resource[0] != '{' {
		i.repair(kindOf(resourceType), resourceID)
		return fmt.Errorf("decode resource.change resource: %s %s is rendered as %s, not an object",
			resourceType, resourceID, jsonKind(resource[0]))
	}
	kind, id := kindOf(resourceType), resourceID
	if kind == "" || id == "" {
		var probe typeProbe
		if err := json.Unmarshal(resource, &probe); err != nil {
			i.repair(kind, id)
			return fmt.Errorf("decode resource.change resource: %w", err)
		}
		if kind == "" {
			kind = kindOf(probe.BaseType)
		}
		if kind == "" {
			kind = kindOf(probe.Type)
		}
		if kind == "" {
			return nil
		}
		if probe.ID != "" {
			id = probe.ID
		}
	}
	r := ref{kind, id}
	i.mu.Lock()
	if i.relisting {
		i.dirty[r] = struct{}{}
		i.mu.Unlock()
		return nil
	}
	if _, inFlight := i.fetching[r]; inFlight {
		i.fetching[r] = true
	}
	err := i.upsertLocked(kind, id, resource)
	i.mu.Unlock()
	if err != nil {
		i.repair(kind, id)
	}
	return err
}

// jsonKind names the JSON type of a value that is not an object by its first byte, for errors.
func jsonKind(first byte) string {
	switch first {
	case '"':
		return "a JSON string"
	case '[':
		return "a JSON array"
	case 't', 'f':
		return "a JSON boolean"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a JSON number"
	}
	// Only a caller of ApplyResource can pass this; ApplyEvent's decode of data rejects it first.
	return "invalid JSON"
}

// repair schedules a re-read of one object whose event could not be applied: it is recorded for the refresh
// of a relist, which Resync starts. Cattle sends no undecodable objects in practice, so a full relist is an
// acceptable price for never keeping a stale copy.
func (i *Informer) repair(kind, id string) {
	if kind == "" || id == "" {
		return
	}
	i.mu.Lock()
	i.dirty[ref{kind, id}] = struct{}{}
	i.mu.Unlock()
	i.Resync()
}

// upsertLocked applies one rendering of object kind/id (or, with id "", of whichever object it renders).
func (i *Informer) upsertLocked(kind, id string, raw json.RawMessage) error {
	c, changed, err := i.opts.Store.upsert(kind, id, raw)
	if err != nil {
		return err
	}
	if changed {
		i.opts.OnChange(c)
	}
	return nil
}

// Run relists once at start (unless WaitForConnect) and then whenever Resync is called or the resync interval
// passes, until ctx ends.
func (i *Informer) Run(ctx context.Context) error {
	var tick <-chan time.Time
	if i.opts.ResyncInterval > 0 {
		t := time.NewTicker(i.opts.ResyncInterval)
		defer t.Stop()
		tick = t.C
	}
	if !i.opts.WaitForConnect {
		i.Resync()
	}
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

// relistWithRetry relists until it succeeds or ctx ends (false). A relist fails when one of its requests
// still fails after its retries in place (retryRequest); the next attempt starts over after a backoff.
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
		i.relistFailures.Add(1)
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
	// Record events from here on even if Resync already did: a Resync that came while the previous relist was
	// finishing had its flag cleared when that relist went live, and a list row must never overwrite an event
	// applied after the row was rendered.
	i.mu.Lock()
	i.relisting = true
	i.mu.Unlock()
	lists := make(map[string][]json.RawMessage, 4)
	for _, kind := range Kinds() {
		rows, err := i.listKind(ctx, kind)
		if err != nil {
			return fmt.Errorf("relist %s: %w", kind, err)
		}
		lists[kind] = rows
	}
	i.replace(lists)
	if err := i.refresh(ctx); err != nil {
		return err
	}
	i.synced.Store(true)
	i.lastSync.Store(time.Now().UnixNano())
	i.relists.Add(1)
	return nil
}

// replace replaces the store's objects of each listed kind with its list and reports every change. It runs
// only while events are recorded (relisting), so no event can reach the store meanwhile, and it does not hold
// mu: a first sync decodes for seconds, and the event path must not wait for it just to record a ref.
func (i *Informer) replace(lists map[string][]json.RawMessage) {
	var changes []Change
	for _, kind := range Kinds() {
		rows, ok := lists[kind]
		if !ok {
			continue
		}
		changed, err := i.opts.Store.Replace(kind, rows)
		if err != nil {
			i.log.WithError(err).WithField("resource_type", kind).Warn("relist skipped undecodable rows")
		}
		for _, id := range changed {
			_, has := get[any](i.opts.Store, kind, id)
			changes = append(changes, Change{Kind: kind, ID: id, Deleted: !has})
		}
	}
	for _, c := range changes {
		i.opts.OnChange(c)
	}
}

// listKind lists every row of kind, a page at a time in id order, each page asking for the ids after the last
// one seen (id_gt; Cattle's schemas make id filterable with lt/gt). Cattle's own pagination is by offset, and
// lists hide removed rows: a row removed from an earlier page while the relist walks on shifts every later row
// back by one, so the row at the next page boundary would be skipped (and, on a first sync, never cached until
// it changes). A server that ignores id_gt is detected (the next page does not move past the last id) and
// listed by offset instead, with a warning.
func (i *Informer) listKind(ctx context.Context, kind string) ([]json.RawMessage, error) {
	var all []json.RawMessage
	last := ""
	for {
		filters := url.Values{}
		if kind == KindReceiver {
			filters.Set("kind", ReceiverKind)
		}
		if last != "" {
			filters.Set("id_gt", last)
		}
		var rows []json.RawMessage
		opts := cattle.ListOptions{Filters: filters, Sort: "id", Order: cattle.OrderAsc, Limit: i.opts.PageSize}
		// A failed page is asked again with the same id_gt: the rows before it stay valid (see retryRequest).
		what := "list " + kind
		if last != "" {
			what += " after " + last
		}
		err := i.retryRequest(ctx, what, func() error {
			rows = nil
			return i.opts.Source.List(ctx, schemaOf(kind), opts, &rows)
		})
		if err != nil {
			return nil, err
		}
		if last != "" && len(rows) > 0 && !idAfter(rowID(rows[0]), last) {
			i.log.WithField("resource_type", kind).Warn("server ignores id_gt, relisting by offset")
			return i.listByOffset(ctx, kind)
		}
		all = append(all, rows...)
		if len(rows) < i.opts.PageSize {
			return all, nil
		}
		if last = rowID(rows[len(rows)-1]); last == "" {
			return nil, fmt.Errorf("list %s: row without an id", kind)
		}
	}
}

// listByOffset lists every row of kind following Cattle's offset pagination.
func (i *Informer) listByOffset(ctx context.Context, kind string) ([]json.RawMessage, error) {
	opts := cattle.ListOptions{PageSize: i.opts.PageSize}
	if kind == KindReceiver {
		opts.Filters = url.Values{"kind": {ReceiverKind}}
	}
	// The client follows the offset pages itself, so a failure here repeats this kind's whole listing, not the
	// relist.
	var rows []json.RawMessage
	err := i.retryRequest(ctx, "list "+kind+" by offset", func() error {
		rows = nil
		return i.opts.Source.List(ctx, schemaOf(kind), opts, &rows)
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// rowID reads the id of a listed row ("" when it has none).
func rowID(raw json.RawMessage) string {
	var probe struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &probe) != nil {
		return ""
	}
	return probe.ID
}

// idAfter reports whether API id a sorts after b within one type ("1s10" after "1s9").
func idAfter(a, b string) bool {
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a > b
}
