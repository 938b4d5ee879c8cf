package cattlesim

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"sync"
	"time"

	"github.com/rancher/scale-subscriber/cattlesim/eventhub"
	"github.com/sirupsen/logrus"
)

// Timings sets how fast the state machines move. Zero values take defaults derived from Step, so a test can
// make everything fast with one knob and still slow down one phase (e.g. container health checks).
type Timings struct {
	// Step is the delay of one transition (a transitioning state becoming its done state). Default 100ms.
	Step time.Duration
	// ContainerStart is how long a container takes from creating to running. Default Step.
	ContainerStart time.Duration
	// HealthCheck is how long a new container stays "initializing" before its health rule applies. Default Step.
	HealthCheck time.Duration
	// HostProvision is how long a machine-driver host stays provisioning. Default 2*Step.
	HostProvision time.Duration
}

func (t Timings) withDefaults() Timings {
	if t.Step <= 0 {
		t.Step = 100 * time.Millisecond
	}
	if t.ContainerStart <= 0 {
		t.ContainerStart = t.Step
	}
	if t.HealthCheck <= 0 {
		t.HealthCheck = t.Step
	}
	if t.HostProvision <= 0 {
		t.HostProvision = 2 * t.Step
	}
	return t
}

// Options configures a Sim.
type Options struct {
	// Timings of the state machines.
	Timings Timings
	// PingInterval is the period of the subscribe websocket's application "ping" (Cattle: 5s).
	PingInterval time.Duration
	// FlushInterval is the resource.change coalescing tick (Cattle: 1s). Default 100ms for a fast emulator.
	FlushInterval time.Duration
	// MaxConnectionLifetime closes every subscription after this long, forcing reconnects (Cattle: ~12h). 0 = never.
	MaxConnectionLifetime time.Duration
	// MaxPings closes a subscription after this many pings (Cattle: 8640). 0 = unlimited.
	MaxPings int
	// ExplicitNulls frames events with every omitted field as an explicit null, like pre-1.6 servers did.
	ExplicitNulls bool
	// ReplyTimeout is the default timeoutMillis of request events sent through /_sim/requests.
	ReplyTimeout time.Duration
	// Logger receives the emulator's own logs. Default: discard.
	Logger logrus.FieldLogger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// RandSeed seeds fault injection and generated keys; 0 = time-based.
	RandSeed int64
}

// Credential is an API key pair known to the emulator.
type Credential struct {
	AccessKey string
	SecretKey string
	// AccountID is the numeric id of the account the key authenticates as (a project for environment keys).
	AccountID int64
	// Kind is the account kind: "project" (environment key: QUALIFIED, bound to its project), "admin" (may use any
	// project, QUALIFIED) or "service" (RAW subscriber, any project).
	Kind string
}

// Faults are injected into REST API answers (not /_sim/ and not the websocket).
type Faults struct {
	ErrorRate   float64 `json:"errorRate,omitempty"`
	ErrorStatus int     `json:"errorStatus,omitempty"`
	LatencyMs   int     `json:"latencyMs,omitempty"`
}

// Call is one REST request the emulator received, for tests that assert what a client did.
type Call struct {
	Time      time.Time `json:"time"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Query     string    `json:"query,omitempty"`
	Status    int       `json:"status"`
	ProjectID string    `json:"projectId,omitempty"`
	Body      string    `json:"body,omitempty"`
	// Headers are the forwarded request headers of a service proxy call (/r/...), credentials removed.
	Headers map[string]string `json:"headers,omitempty"`
}

// maxCalls bounds the call log.
const maxCalls = 20000

// changeNotifier receives every change; the event hub implements it.
type changeNotifier interface {
	ResourceChanged(accountID, resourceType, resourceID string)
}

type noopNotifier struct{}

func (noopNotifier) ResourceChanged(string, string, string) {}

// Sim is the emulator. Create it with New, serve Handler(), and Close it when done.
type Sim struct {
	opts  Options
	log   logrus.FieldLogger
	now   func() time.Time
	sched *scheduler

	mu      sync.Mutex
	closed  bool
	rng     *rand.Rand
	nextID  map[string]int64
	objects map[string]map[int64]*Object // base type → numeric id → object
	// instIndex finds the live instances of a service or a host (instanceindex.go).
	instIndex *instanceIndex
	creds     map[string]Credential // access key → credential
	faults    Faults
	calls     []Call
	// callsDropped counts calls evicted from (or cleared out of) the log, so call indexes stay stable.
	callsDropped int
	notifier     changeNotifier
	// hub serves the event websocket and publishes; it is the notifier (subscribe.go).
	hub *eventhub.Hub
	// schemas are immutable after New: schema id → definition (schemadefs.go).
	schemas map[string]*Schema
	// healthRules maps an imageUuid to the healthState its new containers get once their check has run.
	healthRules map[string]string
	// stalled marks objects ("<baseType>:<id>") whose state machines are held; parked holds their continuations.
	stalled map[string]bool
	parked  map[string][]func()
	// populating holds back per-instance derived-field refreshes while Populate inserts (populate.go).
	populating bool
}

// New builds an empty emulator (no projects, no keys). Use a seed (see seed.go) or the control API to fill it.
func New(opts Options) *Sim {
	opts.Timings = opts.Timings.withDefaults()
	if opts.PingInterval <= 0 {
		opts.PingInterval = 5 * time.Second
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 100 * time.Millisecond
	}
	if opts.ReplyTimeout <= 0 {
		opts.ReplyTimeout = 45 * time.Second
	}
	log := opts.Logger
	if log == nil {
		l := logrus.New()
		l.SetOutput(discard{})
		log = l
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	seed := opts.RandSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	s := &Sim{
		opts:        opts,
		log:         log.WithField("component", "cattlesim"),
		now:         now,
		sched:       newScheduler(),
		rng:         rand.New(rand.NewSource(seed)),
		nextID:      map[string]int64{},
		objects:     map[string]map[int64]*Object{},
		instIndex:   newInstanceIndex(),
		creds:       map[string]Credential{},
		notifier:    noopNotifier{},
		schemas:     newSchemas(),
		healthRules: map[string]string{},
		stalled:     map[string]bool{},
		parked:      map[string][]func(){},
	}
	s.hub = eventhub.New(eventhub.Options{
		PingInterval:  opts.PingInterval,
		MaxPings:      opts.MaxPings,
		MaxLifetime:   opts.MaxConnectionLifetime,
		FlushInterval: opts.FlushInterval,
		ExplicitNulls: opts.ExplicitNulls,
		Logger:        log,
	})
	s.notifier = s.hub
	return s
}

// Run runs the event hub (coalesced resource.change delivery) until ctx is done, then closes every
// subscription and returns nil. Call it once, next to serving Handler().
func (s *Sim) Run(ctx context.Context) error {
	if err := s.hub.Run(ctx); err != nil {
		return fmt.Errorf("run event hub: %w", err)
	}
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Timings returns the effective state-machine timings.
func (s *Sim) Timings() Timings { return s.opts.Timings }

// Close stops every state machine timer. Serving stops with the HTTP server that serves Handler().
func (s *Sim) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.sched.close()
}

// after runs fn with the lock held after d. Continuations of a stalled object are parked until it is released.
func (s *Sim) after(o *Object, d time.Duration, fn func()) {
	key := stallKey(o.BaseType, o.ID)
	s.sched.after(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		if s.stalled[key] {
			s.parked[key] = append(s.parked[key], fn)
			return
		}
		fn()
	})
}

func stallKey(baseType string, id int64) string { return fmt.Sprintf("%s:%d", baseType, id) }

// setStalledLocked holds or releases an object's state machines; released continuations run at once.
func (s *Sim) setStalledLocked(o *Object, stalled bool) {
	key := stallKey(o.BaseType, o.ID)
	if stalled {
		s.stalled[key] = true
		return
	}
	delete(s.stalled, key)
	parked := s.parked[key]
	delete(s.parked, key)
	for _, fn := range parked {
		s.after(o, 0, fn)
	}
}

// insertLocked stores a new object: assigns its id and creation time and announces it.
func (s *Sim) insertLocked(o *Object) *Object {
	s.nextID[o.BaseType]++
	o.ID = s.nextID[o.BaseType]
	if o.Created.IsZero() {
		o.Created = s.now().UTC().Truncate(time.Second)
	}
	if o.Fields == nil {
		o.Fields = map[string]any{}
	}
	if o.Transitioning == "" {
		o.Transitioning = "no"
	}
	if _, ok := o.Fields["uuid"]; !ok {
		o.Fields["uuid"] = s.uuidLocked()
	}
	table := s.objects[o.BaseType]
	if table == nil {
		table = map[int64]*Object{}
		s.objects[o.BaseType] = table
	}
	table[o.ID] = o
	s.indexInstanceLocked(o)
	s.touchLocked(o)
	return o
}

// insertWithIDLocked stores a new object under a chosen numeric id (seeds use it for well-known ids such as
// project 1a5); later inserts continue after the highest id used.
func (s *Sim) insertWithIDLocked(o *Object, id int64) *Object {
	prev := s.nextID[o.BaseType]
	s.nextID[o.BaseType] = id - 1
	s.insertLocked(o)
	s.nextID[o.BaseType] = max(prev, id)
	return o
}

// touchLocked records that o changed: bumps its revision and tells the event hub.
func (s *Sim) touchLocked(o *Object) {
	o.Revision++
	account := o.AccountID
	if o.BaseType == "account" {
		account = o.ID
	}
	s.notifier.ResourceChanged(FormatID("account", account), o.BaseType, o.APIID())
}

// setStateLocked moves o to state, deriving transitioning and its message, and announces the change.
// transitioning states get "yes"/"In Progress"; others "no" with no message.
func (s *Sim) setStateLocked(o *Object, state string, transitioning bool) {
	o.State = state
	if transitioning {
		o.Transitioning = "yes"
		o.TransitioningMessage = "In Progress"
	} else {
		o.Transitioning = "no"
		o.TransitioningMessage = ""
		o.TransitioningProgress = nil
	}
	s.instanceStateLocked(o)
	s.touchLocked(o)
}

// failLocked marks o's last process as failed (transitioning "error" with a message) and announces it.
func (s *Sim) failLocked(o *Object, state, message string) {
	o.State = state
	o.Transitioning = "error"
	o.TransitioningMessage = message
	s.instanceStateLocked(o)
	s.touchLocked(o)
}

// markRemovedLocked sets the removed timestamp (hiding o from lists) and the state "removed".
func (s *Sim) markRemovedLocked(o *Object) {
	t := s.now().UTC().Truncate(time.Second)
	o.Removed = &t
	s.unindexInstanceLocked(o)
	s.setStateLocked(o, "removed", false)
}

// getLocked returns the object with that base type and numeric id (removed ones included), or nil.
func (s *Sim) getLocked(baseType string, id int64) *Object {
	return s.objects[baseType][id]
}

// listLocked returns every object of a base type in id order, removed ones included.
func (s *Sim) listLocked(baseType string) []*Object {
	table := s.objects[baseType]
	out := make([]*Object, 0, len(table))
	for _, o := range table {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// uuidLocked returns a random RFC 4122 v4 UUID from the emulator's seeded source.
func (s *Sim) uuidLocked() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(s.rng.Intn(256))
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// AddCredential registers an API key pair.
func (s *Sim) AddCredential(c Credential) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds[c.AccessKey] = c
}

// Credentials returns every known key pair, sorted by access key.
func (s *Sim) Credentials() []Credential {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Credential, 0, len(s.creds))
	for _, k := range sortedKeys(s.creds) {
		out = append(out, s.creds[k])
	}
	return out
}
