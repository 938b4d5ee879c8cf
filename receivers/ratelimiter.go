package receivers

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// RejectionRecorder records a trigger the API refused before running it (over its rate limit), so the
// execution history shows it, and returns the record's id. *execution.Executor implements it.
type RejectionRecorder interface {
	RecordRejected(t Trigger, status int, reason string) string
}

// maxIdleBuckets is how many buckets the limiter keeps before it drops the full ones (a full bucket is the
// same as no bucket). Only live receivers' keys reach it, so this bounds nothing an outsider controls.
const maxIdleBuckets = 4096

// limiter holds one token bucket per receiver, keyed by the trigger key: an update changes the receiver's id
// but keeps its key, so it cannot be used to reset the bucket. Safe for concurrent use.
type limiter struct {
	mu sync.Mutex
	// def is the service-wide limit; nil means receivers without their own limit are not limited.
	def     *RateLimit
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
	// capacity and perSecond are the limit of the last take, so pruning knows when the bucket is full again.
	capacity, perSecond float64
	// refusing: the previous take was refused. A run of refusals is logged once, not once per request.
	refusing bool
}

func newLimiter(def *RateLimit) *limiter {
	return &limiter{def: def, buckets: make(map[string]*bucket)}
}

// take spends one token of key's bucket under lim (the service-wide limit when lim is nil). When there is none,
// ok is false and wait says when the next one comes; first says this refusal starts a run of refusals. eff is
// the limit applied (zero when none applies).
func (l *limiter) take(key string, lim *RateLimit, now time.Time) (ok bool, wait time.Duration, first bool, eff RateLimit) {
	if lim == nil {
		lim = l.def
	}
	if lim == nil {
		return true, 0, false, RateLimit{}
	}
	eff = *lim
	capacity := float64(eff.capacity())
	perSecond := float64(eff.PerMinute) / 60
	l.mu.Lock()
	defer l.mu.Unlock()
	b, found := l.buckets[key]
	if !found {
		l.pruneLocked(now)
		b = &bucket{tokens: capacity, last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(capacity, b.tokens+elapsed*perSecond)
		b.last = now
	}
	b.tokens = math.Min(b.tokens, capacity) // the limit may have been lowered since
	b.capacity, b.perSecond = capacity, perSecond
	if b.tokens >= 1 {
		b.tokens--
		b.refusing = false
		return true, 0, false, eff
	}
	first = !b.refusing
	b.refusing = true
	wait = time.Duration((1 - b.tokens) / perSecond * float64(time.Second))
	return false, wait, first, eff
}

// pruneLocked drops the buckets that are full again (the same as no bucket) once there are many.
func (l *limiter) pruneLocked(now time.Time) {
	if len(l.buckets) < maxIdleBuckets {
		return
	}
	for key, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*b.perSecond >= b.capacity {
			delete(l.buckets, key)
		}
	}
}

// checkRate spends a token of the receiver's bucket. Over the limit it records the refusal in the history
// (when the Executor keeps one) and returns a 429 whose Retry-After says when a trigger will be accepted again;
// nothing is read or run.
func (a *API) checkRate(w http.ResponseWriter, key string, rcv Receiver, received time.Time) error {
	ok, wait, first, eff := a.limits.take(key, rcv.RateLimit, received)
	if ok {
		return nil
	}
	retry := max(1, int64(math.Ceil(wait.Seconds())))
	reason := fmt.Sprintf("over the rate limit of %d triggers a minute (burst %d)", eff.PerMinute, eff.capacity())
	execution := ""
	if a.rejections != nil {
		execution = a.rejections.RecordRejected(Trigger{Receiver: rcv, Received: received}, http.StatusTooManyRequests, reason)
	}
	log := a.log.WithFields(logrus.Fields{"receiver_id": rcv.ID, "receiver_name": rcv.Name,
		"per_minute": eff.PerMinute, "burst": eff.capacity()})
	if first {
		log.Warn("receiver over its rate limit: triggers refused with 429 until it is under again")
	} else {
		log.Debug("trigger refused: rate limit")
	}
	w.Header().Set("Retry-After", strconv.FormatInt(retry, 10))
	msg := fmt.Sprintf("Too many triggers: receiver %s allows %d a minute (burst %d); retry in %d s", rcv.Name,
		eff.PerMinute, eff.capacity(), retry)
	if execution != "" {
		msg += " (execution " + execution + ")"
	}
	return fail(http.StatusTooManyRequests, "%s", msg)
}
