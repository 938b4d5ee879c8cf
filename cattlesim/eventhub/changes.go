package eventhub

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/sirupsen/logrus"
)

// changeKey identifies one changed resource awaiting the next flush.
type changeKey struct {
	accountID    string
	resourceType string
	resourceID   string
}

// ResourceChanged marks a resource as changed. It only records the key in a
// set (so memory is bounded by the number of distinct resources, and repeated
// changes within a tick coalesce); the next flush renders the resource's
// state at that moment. It never blocks beyond a short internal lock and
// never calls back into the caller, so it is safe under the caller's locks.
func (h *Hub) ResourceChanged(accountID, resourceType, resourceID string) {
	if h.isStopped.Load() {
		return
	}
	h.changesMu.Lock()
	h.pending[changeKey{accountID: accountID, resourceType: resourceType, resourceID: resourceID}] = struct{}{}
	h.changesMu.Unlock()
}

// flush sends one resource.change per pending resource to every matching
// subscriber, rendered for that subscriber now. Changes marked while it runs
// wait for the next tick. cancel aborts waits on full queues.
func (h *Hub) flush(cancel <-chan struct{}) {
	h.flushMu.Lock()
	defer h.flushMu.Unlock()

	h.changesMu.Lock()
	if len(h.pending) == 0 {
		h.changesMu.Unlock()
		return
	}
	pending := h.pending
	h.pending = make(map[changeKey]struct{}, len(pending))
	h.changesMu.Unlock()

	// Cattle gives no order across resources; sorting just makes runs
	// reproducible.
	keys := make([]changeKey, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b changeKey) int {
		return cmp.Or(cmp.Compare(a.accountID, b.accountID), cmp.Compare(a.resourceType, b.resourceType),
			cmp.Compare(a.resourceID, b.resourceID))
	})

	conns := h.snapshot()
	now := time.Now().UnixMilli()
	for _, k := range keys {
		id := newUUID() // one bus event per resource, shared by every subscriber
		for _, c := range conns {
			names := c.route.deliveryNames(k.accountID, eventResourceChange)
			if len(names) == 0 || c.stopping() {
				continue
			}
			resource, apiType, ok := h.render(c, k)
			if !ok {
				continue
			}
			data, err := json.Marshal(struct {
				Resource json.RawMessage `json:"resource"`
			}{resource})
			if err != nil {
				c.log.WithFields(logrus.Fields{"resource_type": k.resourceType, "resource_id": k.resourceID, "err": err}).
					Error("render returned invalid json, dropping resource change")
				continue
			}
			for _, name := range names {
				ev := Event{ID: id, Name: name, ResourceID: k.resourceID, ResourceType: apiType, Data: data, Time: now}
				h.deliver(c, &ev, cancel)
			}
		}
	}
}

// render calls the subscriber's Render, turning a panic into "gone" so a bug
// in the emulator's renderer cannot kill the hub.
func (h *Hub) render(c *conn, k changeKey) (resource json.RawMessage, apiType string, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			c.log.WithFields(logrus.Fields{"resource_type": k.resourceType, "resource_id": k.resourceID, "err": p}).
				Error("render panicked, dropping resource change")
			resource, apiType, ok = nil, "", false
		}
	}()
	resource, apiType, ok = c.sub.Render(k.resourceType, k.resourceID)
	if ok && apiType == "" {
		apiType = k.resourceType
	}
	return resource, apiType, ok
}

// deliver encodes ev with the hub's framing and queues it on c.
func (h *Hub) deliver(c *conn, ev *Event, cancel <-chan struct{}) bool {
	msg, err := encodeEvent(ev, h.opts.ExplicitNulls)
	if err != nil {
		c.log.WithFields(logrus.Fields{"event_name": ev.Name, "event_id": ev.ID, "err": err}).Error("encode event failed")
		return false
	}
	return c.enqueue(msg, cancel)
}
