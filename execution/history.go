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
)

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
	Decision string     `json:"decision,omitempty"`
	Calls    []Call     `json:"calls"`
	Outcome  string     `json:"outcome"`
	Error    string     `json:"error,omitempty"`
	Received time.Time  `json:"received"`
	Started  *time.Time `json:"started,omitempty"`
	Finished *time.Time `json:"finished,omitempty"`
	// QueuedMillis is the wait between receipt and start; RunMillis the time from start to finish.
	QueuedMillis int64 `json:"queuedMillis"`
	RunMillis    int64 `json:"runMillis"`
}

func (r *Record) clone() Record {
	c := *r
	c.Calls = slices.Clone(r.Calls)
	if c.Calls == nil {
		c.Calls = []Call{}
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

// AddCall records a Cattle call.
func (e *Entry) AddCall(c Call) { e.update(func(r *Record) { r.Calls = append(r.Calls, c) }) }

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

// Finish records the final outcome; err (may be nil) says why it failed.
func (e *Entry) Finish(outcome string, err error) {
	now := e.h.now()
	e.update(func(r *Record) {
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
	})
}

// Snapshot returns a copy of the record.
func (e *Entry) Snapshot() Record {
	e.h.mu.Lock()
	defer e.h.mu.Unlock()
	return e.r.clone()
}
