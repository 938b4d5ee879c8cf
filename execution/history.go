package execution

import (
	"slices"
	"strconv"
	"sync"
	"time"
)

// Outcomes of an execution.
const (
	OutcomeQueued   = "queued"
	OutcomeRunning  = "running"
	OutcomeDone     = "done"
	OutcomeIgnored  = "ignored"
	OutcomeFailed   = "failed"
	OutcomeRejected = "rejected"
	// OutcomeAccepted ends the record of a push trigger whose upgrades were queued (each has its own record).
	OutcomeAccepted = "accepted"
	// OutcomeRolledBack ends an upgrade that was rolled back (new containers unhealthy, an error in Cattle, the
	// deadline passed): the service runs its previous image again.
	OutcomeRolledBack = "rolled-back"
	// OutcomeTimedOut ends an upgrade that did not finish by its deadline and was left as it was, because the
	// receiver has rollbackOnFailure false.
	OutcomeTimedOut = "timed-out"
)

// maxSteps bounds the steps a record keeps; later steps replace the last one and are counted as omitted.
const maxSteps = 100

// maxCalls bounds the Cattle calls a record keeps, the same way: a trigger that keeps retrying (a host write
// settling, Cattle failing) must not grow its record without end.
const maxCalls = 100

// DefaultHistorySize is how many executions the history keeps when HistoryOptions.Size is zero.
const DefaultHistorySize = 1000

// Call is one Cattle call an execution made.
type Call struct {
	Method string `json:"method"`
	// Target names what was called: "services/1s5", "services/1s5?action=upgrade", "hosts".
	Target string `json:"target"`
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	Millis int64  `json:"millis"`
}

// Step is one thing that happened during an execution ("upgrade started", "new containers healthy 2/3").
type Step struct {
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
}

// ImageChange is the image an upgrade moves a service from and to.
type ImageChange struct {
	Old    string `json:"old,omitempty"`
	New    string `json:"new"`
	Digest string `json:"digest,omitempty"`
}

// Record is one execution of a receiver trigger: what came in, what was decided, which Cattle calls were made
// and how it ended. It is what /v1-webhooks/executions serves (webhook-service's missing "Processes" tab).
type Record struct {
	ID           string `json:"id"`
	ReceiverID   string `json:"receiverId"`
	ReceiverName string `json:"receiverName"`
	Driver       string `json:"driver"`
	// Target is the work-queue key the execution was serialized on, e.g. "service:1s5".
	Target string `json:"target,omitempty"`
	// Input summarises the trigger ("alertmanager firing, 2 alerts", "push docker.io/library/nginx:1.14").
	Input string `json:"input,omitempty"`
	// Decision says what the driver decided ("scale 2 → 3", "none: at max").
	Decision string `json:"decision,omitempty"`
	// Calls are the Cattle calls made, oldest first; at most maxCalls are kept (CallsOmitted counts the rest).
	Calls        []Call     `json:"calls"`
	CallsOmitted int        `json:"callsOmitted,omitempty"`
	Outcome      string     `json:"outcome"`
	Error        string     `json:"error,omitempty"`
	Received     time.Time  `json:"received"`
	Started      *time.Time `json:"started,omitempty"`
	Finished     *time.Time `json:"finished,omitempty"`
	// QueuedMillis is the wait between receipt and start; RunMillis the time from start to finish.
	QueuedMillis int64 `json:"queuedMillis"`
	RunMillis    int64 `json:"runMillis"`
	// Image is set by upgrades: the primary (or first changed) image before and after.
	Image *ImageChange `json:"image,omitempty"`
	// Steps are what happened, oldest first; at most maxSteps are kept (StepsOmitted counts the rest).
	Steps        []Step `json:"steps"`
	StepsOmitted int    `json:"stepsOmitted,omitempty"`
}

func (r *Record) clone() Record {
	c := *r
	c.Calls = slices.Clone(r.Calls)
	if c.Calls == nil {
		c.Calls = []Call{}
	}
	c.Steps = slices.Clone(r.Steps)
	if c.Steps == nil {
		c.Steps = []Step{}
	}
	if r.Image != nil {
		img := *r.Image
		c.Image = &img
	}
	return c
}

// History is a bounded, newest-first log of executions. Old records are dropped when it is full; a record that
// is still running when dropped keeps being updated by its owner but is no longer listed. Safe for concurrent use.
type History struct {
	mu   sync.Mutex
	size int
	ring []*Record
	next int
	seq  uint64
	now  func() time.Time
	// onFinal is called once per record when it gets its final outcome (see OnFinal).
	onFinal func(Record)
}

// NewHistory returns a history that keeps the last size executions (DefaultHistorySize when size <= 0).
func NewHistory(size int, now func() time.Time) *History {
	if size <= 0 {
		size = DefaultHistorySize
	}
	if now == nil {
		now = time.Now
	}
	return &History{size: size, now: now}
}

// OnFinal sets f to be called once for every record when it reaches its final outcome (done, rolled-back,
// timed-out, failed, ignored, rejected, accepted), with a copy of the record. It is called on the goroutine
// that finished the execution (a worker), after the history's lock is released, so it must not block: queue
// the work (notify.Notifier.Notify returns at once). Set it before executions start.
func (h *History) OnFinal(f func(Record)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.onFinal = f
}

// Start records a new execution received at received and returns its handle.
func (h *History) Start(receiverID, receiverName, driver string, received time.Time) *Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	r := &Record{
		ID:           "x" + strconv.FormatUint(h.seq, 10),
		ReceiverID:   receiverID,
		ReceiverName: receiverName,
		Driver:       driver,
		Outcome:      OutcomeQueued,
		Received:     received,
	}
	if len(h.ring) < h.size {
		h.ring = append(h.ring, r)
	} else {
		h.ring[h.next] = r
	}
	h.next = (h.next + 1) % h.size
	return &Entry{h: h, r: r}
}

// List returns copies of the records, newest first, restricted to receiverID when it is not empty, at most
// limit of them (all when limit <= 0).
func (h *History) List(receiverID string, limit int) []Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Record, 0, min(len(h.ring), max(limit, 0)))
	for i := 1; i <= len(h.ring); i++ {
		r := h.ring[(h.next-i+len(h.ring))%len(h.ring)]
		if receiverID != "" && r.ReceiverID != receiverID {
			continue
		}
		out = append(out, r.clone())
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

// Get returns a copy of the record with the given id, if it is still kept.
func (h *History) Get(id string) (Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.ring {
		if r.ID == id {
			return r.clone(), true
		}
	}
	return Record{}, false
}

// Entry updates one record of a History.
type Entry struct {
	h *History
	r *Record
}

// ID is the record's id.
func (e *Entry) ID() string { return e.r.ID }

func (e *Entry) update(f func(r *Record)) {
	e.h.mu.Lock()
	defer e.h.mu.Unlock()
	f(e.r)
}

// SetTarget records the queue key the execution runs under.
func (e *Entry) SetTarget(key string) { e.update(func(r *Record) { r.Target = key }) }

// SetInput records the summary of the trigger's input.
func (e *Entry) SetInput(s string) { e.update(func(r *Record) { r.Input = s }) }

// SetDecision records the driver's decision.
func (e *Entry) SetDecision(s string) { e.update(func(r *Record) { r.Decision = s }) }

// SetImage records the image change of an upgrade.
func (e *Entry) SetImage(c ImageChange) { e.update(func(r *Record) { r.Image = &c }) }

// Step appends a step, stamped with the history's clock. Past maxSteps the last step is replaced, so the
// newest is always visible.
func (e *Entry) Step(msg string) {
	now := e.h.now()
	e.update(func(r *Record) { r.addStep(now, msg) })
}

// AddStep appends a step to the kept record with that id, like Entry.Step, and reports whether it found the
// record. It is for what happens after an execution ended and its Entry is gone, such as the outcome
// notification ("notified webhook"); OnFinal is not called again.
func (h *History) AddStep(id, msg string) bool {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.ring {
		if r.ID == id {
			r.addStep(now, msg)
			return true
		}
	}
	return false
}

// addStep appends a step; past maxSteps the last one is replaced and counted as omitted.
func (r *Record) addStep(at time.Time, msg string) {
	if len(r.Steps) >= maxSteps {
		r.Steps[len(r.Steps)-1] = Step{Time: at, Message: msg}
		r.StepsOmitted++
		return
	}
	r.Steps = append(r.Steps, Step{Time: at, Message: msg})
}

// AddCall records a Cattle call. Past maxCalls the last call is replaced, so the newest is always visible.
func (e *Entry) AddCall(c Call) { e.update(func(r *Record) { r.addCall(c) }) }

// addCall appends a call; past maxCalls the last one is replaced and counted as omitted.
func (r *Record) addCall(c Call) {
	if len(r.Calls) >= maxCalls {
		r.Calls[len(r.Calls)-1] = c
		r.CallsOmitted++
		return
	}
	r.Calls = append(r.Calls, c)
}

// Running marks the execution as started by a worker; only the first call counts.
func (e *Entry) Running() {
	now := e.h.now()
	e.update(func(r *Record) {
		if r.Started != nil {
			return
		}
		r.Started = &now
		r.Outcome = OutcomeRunning
		r.QueuedMillis = now.Sub(r.Received).Milliseconds()
	})
}

// Finish records the final outcome; err (may be nil) says why it failed. The first Finish of a record calls
// the history's OnFinal hook.
func (e *Entry) Finish(outcome string, err error) {
	now := e.h.now()
	var final func(Record)
	var snapshot Record
	e.update(func(r *Record) {
		if r.Finished == nil {
			final = e.h.onFinal
		}
		r.Finished = &now
		r.Outcome = outcome
		if err != nil {
			r.Error = err.Error()
		}
		start := r.Received
		if r.Started != nil {
			start = *r.Started
		} else {
			r.QueuedMillis = now.Sub(r.Received).Milliseconds()
		}
		r.RunMillis = now.Sub(start).Milliseconds()
		if final != nil {
			snapshot = r.clone()
		}
	})
	if final != nil {
		final(snapshot)
	}
}

// Finished reports whether the record has its final outcome.
func (e *Entry) Finished() bool {
	e.h.mu.Lock()
	defer e.h.mu.Unlock()
	return e.r.Finished != nil
}

// Snapshot returns a copy of the record.
func (e *Entry) Snapshot() Record {
	e.h.mu.Lock()
	defer e.h.mu.Unlock()
	return e.r.clone()
}
