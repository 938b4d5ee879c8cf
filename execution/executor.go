package execution

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/alertmanager"
	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/handlers"
	"github.com/rancher/scale-subscriber/receivers"
	"github.com/rancher/scale-subscriber/scale"
	"github.com/rancher/scale-subscriber/upgrade"
)

// EventName is the name of the event a trigger becomes; it is routed locally, never subscribed from Cattle.
const EventName = "webhook.execute"

// DefaultAnswerTimeout is how long a scale trigger waits for its execution before being answered 202 Accepted.
const DefaultAnswerTimeout = 30 * time.Second

// Options configures an Executor. Cattle, Cache, Queue and Router are required.
type Options struct {
	Cattle Cattle
	Cache  Cache
	Queue  Enqueuer
	// Router routes webhook.execute events; Register installs the handler on it.
	Router *events.Router
	// History records executions; a new one of DefaultHistorySize when nil.
	History *History
	// Forwarder relays forwardPost triggers; without it they are answered 501.
	Forwarder *Forwarder
	// AnswerTimeout bounds how long a scale trigger waits for its result (DefaultAnswerTimeout when zero).
	AnswerTimeout time.Duration
	// HostCreateSettleWindow is how long after a host create got no answer a listing without its host settles
	// it as not applied (DefaultHostCreateSettleWindow when zero); the Cattle client's request timeout is used
	// when it is longer (hostsettle.go).
	HostCreateSettleWindow time.Duration
	// MaxWaiting bounds the triggers waiting for a worker (DefaultMaxIntents when zero).
	MaxWaiting int
	// Deduper recognises repeated Alertmanager notifications; a default one when nil.
	Deduper *alertmanager.Deduper
	// PushDeduper recognises a registry's repeated delivery of a push already applied (same digest); a
	// default one when nil.
	PushDeduper *upgrade.Deduper
	// OnFinal, when set, is called once for every execution record when it reaches its final outcome (see
	// History.OnFinal): the hook outcome notifications hang on. It must not block.
	OnFinal func(Record)
	Logger  logrus.FieldLogger
	Metrics *Metrics
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Executor runs receiver triggers; it implements receivers.Executor.
type Executor struct {
	cattle    Cattle
	cache     Cache
	queue     Enqueuer
	router    *events.Router
	history   *History
	forwarder *Forwarder
	book      *Book
	upgrades  upgrades
	cooldown  *scale.Cooldown
	recent    recentScales
	deduper   *alertmanager.Deduper
	pushes    *upgrade.Deduper
	timeout   time.Duration
	// settleWindow is the larger of Options.HostCreateSettleWindow and the Cattle client's request timeout.
	settleWindow time.Duration
	// duplicates remembers the create markers already reported as applied twice (see reportDuplicates).
	duplicates *markerSet
	log        logrus.FieldLogger
	metrics    *Metrics
	now        func() time.Time
}

// New builds an Executor.
func New(opts Options) (*Executor, error) {
	if opts.Cattle == nil || opts.Cache == nil || opts.Queue == nil || opts.Router == nil {
		return nil, errors.New("new executor: cattle, cache, queue and router are required")
	}
	x := &Executor{
		cattle:    opts.Cattle,
		cache:     opts.Cache,
		queue:     opts.Queue,
		router:    opts.Router,
		history:   opts.History,
		forwarder: opts.Forwarder,
		book:      NewBook(opts.MaxWaiting),
		cooldown:  scale.NewCooldown(scale.DefaultCooldownEntries),
		deduper:   opts.Deduper,
		pushes:    opts.PushDeduper,
		timeout:   opts.AnswerTimeout,
		log:       opts.Logger,
		metrics:   opts.Metrics,
		now:       opts.Now,
	}
	if x.now == nil {
		x.now = time.Now
	}
	if x.history == nil {
		x.history = NewHistory(0, x.now)
	}
	if x.deduper == nil {
		x.deduper = alertmanager.NewDeduper(alertmanager.DeduperOptions{})
	}
	if x.pushes == nil {
		x.pushes = upgrade.NewDeduper(upgrade.DeduperOptions{})
	}
	if opts.OnFinal != nil {
		x.history.OnFinal(opts.OnFinal)
	}
	if x.timeout <= 0 {
		x.timeout = DefaultAnswerTimeout
	}
	if x.settleWindow = opts.HostCreateSettleWindow; x.settleWindow <= 0 {
		x.settleWindow = DefaultHostCreateSettleWindow
	}
	x.settleWindow = max(x.settleWindow, x.cattle.Timeout())
	x.duplicates = newMarkerSet(maxReportedMarkers)
	if x.log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		x.log = l
	}
	x.log = x.log.WithField("component", "execution")
	return x, nil
}

// Registry is where the Executor's reconcilers are registered (the key dispatcher).
type Registry interface {
	Register(kind string, r handlers.Reconciler) error
}

// Register installs the webhook.execute handler on the router and the reconcilers of services and host groups
// on the dispatcher.
func (x *Executor) Register(d Registry) error {
	register := d.Register
	if err := x.router.Register(EventName, x.handleExecute); err != nil {
		return fmt.Errorf("register executor: %w", err)
	}
	if err := register(cache.KindService, x.reconcileService); err != nil {
		return fmt.Errorf("register executor: %w", err)
	}
	if err := register(hostGroupKind, x.reconcileHostGroup); err != nil {
		return fmt.Errorf("register executor: %w", err)
	}
	return nil
}

// History is the execution history.
func (x *Executor) History() *History { return x.history }

// Waiting is the number of triggers waiting for a worker.
func (x *Executor) Waiting() int { return x.book.Len() }

func logFields(key, driver string) logrus.Fields {
	return logrus.Fields{"key": key, "driver": driver}
}

// executeData is the payload of a webhook.execute event.
type executeData struct {
	ExecutionID string `json:"executionId"`
	ReceiverID  string `json:"receiverId"`
}

// submit hands an intent to the router as a webhook.execute event, whose handler files it under its key and
// queues the key. It fails only when too many triggers wait or routing failed.
func (x *Executor) submit(ctx context.Context, in *intent, receiverID string) error {
	if err := x.book.park(in); err != nil {
		return err
	}
	kind, id, _ := events.SplitKey(in.key)
	data, err := json.Marshal(executeData{ExecutionID: in.entry.ID(), ReceiverID: receiverID})
	if err != nil {
		x.book.unpark(in.entry.ID())
		return fmt.Errorf("encode %s event: %w", EventName, err)
	}
	x.router.Deliver(ctx, events.Event{ID: in.entry.ID(), Name: EventName, ResourceType: kind, ResourceID: id,
		Data: data, Time: x.now().UnixMilli()})
	if x.book.unparkIfParked(in.entry.ID()) {
		return fmt.Errorf("route %s event: the handler did not take it", EventName)
	}
	return nil
}

// handleExecute is the webhook.execute handler: it files the parked intent under its key and queues the key.
func (x *Executor) handleExecute(_ context.Context, ev events.Event) error {
	var d executeData
	if err := json.Unmarshal(ev.Data, &d); err != nil || d.ExecutionID == "" {
		return events.Permanent(fmt.Errorf("decode %s event %s: missing executionId", EventName, ev.ID))
	}
	key, err := x.book.file(d.ExecutionID)
	if err != nil {
		return events.Permanent(fmt.Errorf("file execution %s: %w", d.ExecutionID, err))
	}
	x.queue.Add(key)
	return nil
}

// reconcileService runs the trigger work of one service: scale triggers waiting on it, and its push work.
func (x *Executor) reconcileService(ctx context.Context, id string) error {
	key := events.Key(cache.KindService, id)
	var scales []*intent
	for _, in := range x.book.take(key) {
		if in.upgrade != nil {
			x.wantUpgrade(id, in)
			continue
		}
		scales = append(scales, in)
	}
	if len(scales) > 0 {
		if err := x.applyScale(ctx, key, id, scales); err != nil {
			return err
		}
	}
	return x.stepUpgrade(ctx, key, id)
}

// reconcileHostGroup runs the scaleHost triggers waiting on one host group.
func (x *Executor) reconcileHostGroup(ctx context.Context, id string) error {
	key := events.Key(hostGroupKind, id)
	batch := x.book.take(key)
	if len(batch) == 0 {
		return nil
	}
	return x.applyScaleHost(ctx, key, batch)
}

// GiveUp answers the triggers of a key the workers gave up on after repeated retryable failures. It is the
// workers' OnFailure hook. Triggers filed after the last attempt started stay and the key is queued again. So
// do triggers whose scale PUT got no answer, and scaleHost triggers with host writes sent: Cattle may have
// applied them, so they are not answered "retry" (the sender's retry would apply them twice) but kept until a
// read of the service (a host listing) settles them.
func (x *Executor) GiveUp(key string, err error) {
	var keep []*intent
	fresh := false
	for _, in := range x.book.take(key) {
		if in.sent != nil {
			in.entry.Step("cattle kept failing: " + err.Error() + "; still to learn whether the scale PUT was applied")
			keep = append(keep, in)
			continue
		}
		if in.hosts.sent() {
			noteHostWorkKept(in, err)
			keep = append(keep, in)
			continue
		}
		if in.attempts == 0 {
			keep = append(keep, in)
			fresh = true
			continue
		}
		x.log.WithFields(logFields(key, in.entry.Snapshot().Driver)).WithError(err).Error("trigger given up")
		in.finish(OutcomeFailed, err, errorAnswer(http.StatusServiceUnavailable, in.entry.ID(), key,
			"cattle kept failing; retry later: "+err.Error()))
	}
	if len(keep) > 0 {
		x.book.putBack(key, keep)
		if fresh {
			x.queue.Add(key)
		} else {
			// Only triggers whose writes may have reached Cattle (a scale PUT, host writes): Cattle just failed
			// several times in a row, give it a moment before the read that settles them.
			x.queue.AddAfter(key, waitGuard)
		}
	}
}

// Execute runs one trigger; it implements receivers.Executor.
func (x *Executor) Execute(ctx context.Context, t receivers.Trigger) receivers.Outcome {
	rec := t.Receiver
	e := x.history.Start(rec.ID, rec.Name, rec.Driver, t.Received)
	var a Answer
	switch rec.Driver {
	case receivers.DriverScaleService:
		a = x.executeScaleService(ctx, e, t)
	case receivers.DriverScaleHost:
		a = x.executeScaleHost(ctx, e, t)
	case receivers.DriverServiceUpgrade:
		a = x.executeServiceUpgrade(ctx, e, t)
	case receivers.DriverForwardPost:
		a = x.executeForwardPost(ctx, e, t)
	default:
		e.Finish(OutcomeRejected, fmt.Errorf("unknown driver %q", rec.Driver))
		a = errorAnswer(http.StatusBadRequest, e.ID(), "", "Invalid driver "+rec.Driver)
	}
	x.metrics.observe(rec.Driver, e.Snapshot().Outcome, a.Status, x.now().Sub(t.Received))
	return receivers.Outcome{Status: a.Status, Body: a.Body}
}

// awaitAnswer waits for an intent's answer; past the answer timeout the sender gets 202 and the work goes on.
func (x *Executor) awaitAnswer(ctx context.Context, in *intent) Answer {
	t := time.NewTimer(x.timeout)
	defer t.Stop()
	select {
	case a := <-in.done:
		return a
	case <-t.C:
	case <-ctx.Done():
	}
	return Answer{Status: http.StatusAccepted, Body: reply{ExecutionID: in.entry.ID(), Target: in.key,
		Decision: scale.Decision{Result: "accepted"},
		Message:  "still queued behind other work on the target; see /v1-webhooks/executions"}}
}

// enqueueAndWait submits an intent and waits for its answer.
func (x *Executor) enqueueAndWait(ctx context.Context, in *intent, receiverID string) Answer {
	if err := x.submit(ctx, in, receiverID); err != nil {
		in.entry.Finish(OutcomeRejected, err)
		return errorAnswer(http.StatusServiceUnavailable, in.entry.ID(), in.key, err.Error())
	}
	return x.awaitAnswer(ctx, in)
}
