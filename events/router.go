package events

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// maxUnknownNames bounds the set of unknown event names remembered for the
// "log once per name" rule; past it unknown names are only counted.
const maxUnknownNames = 256

// Handler handles one event. It runs on the subscriber's delivery goroutine,
// in read order, so it must be quick: the expected shape is "compute a key,
// Queue.Add it". Returning ErrDeferred tells the Router a reply to a request
// event will be published later by someone else.
type Handler func(ctx context.Context, ev Event) error

// Sink receives decoded events in read order. Router implements it.
type Sink interface {
	Deliver(ctx context.Context, ev Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, ev Event)

// Deliver implements Sink.
func (f SinkFunc) Deliver(ctx context.Context, ev Event) { f(ctx, ev) }

// RouterOptions configures a Router.
type RouterOptions struct {
	// Replier, if set, answers every event that carries a replyTo once its
	// handler returned: success for nil, failure for an error or panic,
	// nothing for ErrDeferred. Without it request events get no reply.
	Replier *Replier
	// Logger defaults to a discarding logger.
	Logger logrus.FieldLogger
	// Metrics records handler durations, panics and unknown names.
	Metrics *Metrics
}

// Router dispatches events to handlers by name. Lookup tries the full name
// first, then the name without ";..." qualifiers. "ping" has a built-in
// no-op handler that Register may replace. Safe for concurrent use.
type Router struct {
	opts RouterOptions
	log  logrus.FieldLogger

	mu       sync.RWMutex
	handlers map[string]Handler
	builtin  map[string]bool
	unknown  map[string]struct{}
}

// NewRouter returns a Router with only the built-in ping handler.
func NewRouter(opts RouterOptions) *Router {
	return &Router{
		opts:     opts,
		log:      componentLogger(opts.Logger),
		handlers: map[string]Handler{PingEventName: func(context.Context, Event) error { return nil }},
		builtin:  map[string]bool{PingEventName: true},
		unknown:  make(map[string]struct{}),
	}
}

// Register installs h for events called name. Registering a name twice is an
// error, except for replacing a built-in handler.
func (r *Router) Register(name string, h Handler) error {
	if name == "" {
		return errors.New("register handler: empty event name")
	}
	if h == nil {
		return fmt.Errorf("register handler for %q: nil handler", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.handlers[name]; ok && !r.builtin[name] {
		return fmt.Errorf("register handler for %q: already registered", name)
	}
	r.handlers[name] = h
	delete(r.builtin, name)
	return nil
}

// EventNames returns the registered event names, sorted, for building the
// subscribe URL. "ping" is left out: Cattle sends it unasked.
func (r *Router) EventNames() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.handlers))
	for n := range r.handlers {
		if n != PingEventName {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Deliver implements Sink: it runs the event's handler, recovering panics,
// and publishes the reply a request event expects.
func (r *Router) Deliver(ctx context.Context, ev Event) {
	name, h := r.lookup(ev.Name)
	if h == nil {
		r.unhandled(ev)
		return
	}
	start := time.Now()
	err := callHandler(ctx, h, ev)
	r.opts.Metrics.observeHandler(name, time.Since(start).Seconds())

	if errors.Is(err, ErrDeferred) {
		return
	}
	if err != nil {
		r.logFailure(ev, err)
	}
	if ev.ReplyTo != "" && r.opts.Replier != nil {
		// The Replier logs and counts its own failures; nothing more to
		// do with the error here.
		_ = r.opts.Replier.Finish(ctx, ev, err)
	}
}

func (r *Router) lookup(name string) (string, Handler) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if h, ok := r.handlers[name]; ok {
		return name, h
	}
	base := BaseName(name)
	if h, ok := r.handlers[base]; ok {
		return base, h
	}
	return "", nil
}

func (r *Router) unhandled(ev Event) {
	r.opts.Metrics.unhandledEvent()
	r.mu.Lock()
	_, seen := r.unknown[ev.Name]
	if !seen && len(r.unknown) < maxUnknownNames {
		r.unknown[ev.Name] = struct{}{}
	} else {
		seen = true
	}
	r.mu.Unlock()
	if !seen {
		r.log.WithFields(eventFields(ev)).Debug("no handler for event name")
	}
}

func (r *Router) logFailure(ev Event, err error) {
	entry := r.log.WithFields(eventFields(ev)).WithError(err)
	var pe *PanicError
	if errors.As(err, &pe) {
		r.opts.Metrics.panicked()
		entry.WithField("stack", string(pe.Stack)).Error("event handler panicked")
		return
	}
	entry.Warn("event handler failed")
}

// callHandler runs h and turns a panic into a *PanicError.
func callHandler(ctx context.Context, h Handler, ev Event) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return h(ctx, ev)
}
