package eventhub

import "time"

// Emit delivers ev, an event of account accountID, to every subscriber whose
// names match (see the routing rules in the package doc). A missing ID or
// Time is filled in. Emit does not wait for replies; it may block up to
// WriteTimeout per subscriber whose queue is full (that subscriber is then
// disconnected as a slow consumer).
func (h *Hub) Emit(accountID string, ev Event) {
	h.emit(accountID, ev)
}

// emit is Emit returning how many frames were queued.
func (h *Hub) emit(accountID string, ev Event) int {
	if ev.ID == "" {
		ev.ID = newUUID()
	}
	if ev.Time == 0 {
		ev.Time = time.Now().UnixMilli()
	}
	queued := 0
	for _, c := range h.snapshot() {
		for _, name := range c.route.deliveryNames(accountID, ev.Name) {
			e := ev
			e.Name = name
			if h.deliver(c, &e, h.quit) {
				queued++
			}
		}
	}
	return queued
}
