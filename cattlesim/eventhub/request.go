package eventhub

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// waiter is one pending Request. It keeps only a progress count and the first
// final reply, so a chatty handler cannot grow it.
type waiter struct {
	id     string
	notify chan struct{} // capacity 1: "something arrived"

	mu       sync.Mutex
	progress int
	final    *Reply
}

// deliver records r and wakes the Request.
func (w *waiter) deliver(r Reply) {
	w.mu.Lock()
	if r.Transitioning == TransitioningYes {
		w.progress++
	} else if w.final == nil {
		w.final = &r
	}
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// take returns and resets what arrived since the last take.
func (w *waiter) take() (progress int, final *Reply) {
	w.mu.Lock()
	defer w.mu.Unlock()
	progress, final = w.progress, w.final
	w.progress = 0
	return progress, final
}

// matchReply hands r to the Request waiting on it, if any. Publishes without
// previousIds, or whose previousIds[0] is not the request id, match nothing.
func (h *Hub) matchReply(r Reply) {
	h.waitersMu.Lock()
	w := h.waiters[r.Name]
	h.waitersMu.Unlock()
	if w == nil || len(r.PreviousIDs) == 0 || r.PreviousIDs[0] != w.id {
		return
	}
	w.deliver(r)
}

// Request sends ev to accountID's subscribers as a request and waits for its
// final reply, like Cattle's event-based process handlers. It always assigns
// ev.ID (a UUID) and ev.ReplyTo ("reply.<n>"); TimeoutMillis defaults to
// 45000. Replies with transitioning "yes" are progress and restart the
// timeout; "error" ends the request with that Reply and a *ReplyError; any
// other final reply is success. With no final reply within TimeoutMillis the
// same event (same id) is sent once more, exposing non-idempotent handlers;
// after another TimeoutMillis Request gives up with a *TimeoutError. It also
// ends on ctx (wrapping ctx.Err()) and when the hub stops (ErrHubStopped).
// Invalid JSON in ev.Data is an immediate error.
func (h *Hub) Request(ctx context.Context, accountID string, ev Event) (Reply, error) {
	if h.isStopped.Load() {
		return Reply{}, ErrHubStopped
	}
	if len(ev.Data) > 0 && !json.Valid(ev.Data) {
		return Reply{}, fmt.Errorf("request %s: data is not valid json", ev.Name)
	}
	ev.ID = newUUID()
	ev.ReplyTo = newReplyTo()
	if ev.TimeoutMillis <= 0 {
		ev.TimeoutMillis = DefaultRequestTimeoutMillis
	}
	if ev.Time == 0 {
		ev.Time = time.Now().UnixMilli()
	}
	timeout := time.Duration(ev.TimeoutMillis) * time.Millisecond
	log := h.log.WithFields(logrus.Fields{"event_name": ev.Name, "event_id": ev.ID})
	if ev.ResourceID != "" {
		log = log.WithFields(logrus.Fields{"resource_type": ev.ResourceType, "resource_id": ev.ResourceID})
	}

	w := &waiter{id: ev.ID, notify: make(chan struct{}, 1)}
	h.waitersMu.Lock()
	h.waiters[ev.ReplyTo] = w
	h.waitersMu.Unlock()
	defer func() {
		h.waitersMu.Lock()
		delete(h.waiters, ev.ReplyTo)
		h.waitersMu.Unlock()
	}()

	const maxAttempts = 2 // eventing.retry=1: one re-send
	attempt := 1
	if h.emit(accountID, ev) == 0 {
		log.WithField("attempt", attempt).Debug("request has no subscriber yet")
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return Reply{}, fmt.Errorf("wait for reply to event %s: %w", ev.ID, ctx.Err())
		case <-h.quit:
			return Reply{}, ErrHubStopped
		case <-w.notify:
			progress, final := w.take()
			if final != nil {
				if final.Transitioning == TransitioningError {
					return *final, &ReplyError{EventID: ev.ID, EventName: ev.Name, Reply: *final}
				}
				return *final, nil
			}
			if progress > 0 {
				timer.Reset(timeout)
			}
		case <-timer.C:
			if attempt >= maxAttempts {
				log.WithField("attempt", attempt).Warn("request timed out")
				return Reply{}, &TimeoutError{EventID: ev.ID, EventName: ev.Name, Attempts: attempt, Timeout: timeout}
			}
			attempt++
			log.WithField("attempt", attempt).Info("re-sending request after timeout")
			h.emit(accountID, ev)
			timer.Reset(timeout)
		}
	}
}
