package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/events"
)

// ResourceChangeEventName is the Cattle event this package subscribes to.
const ResourceChangeEventName = "resource.change"

// Applier applies a resource.change to the cache; *cache.Informer implements it. ApplyEvent takes the event's
// data, ApplyResource the resource already taken out of it.
type Applier interface {
	ApplyEvent(resourceType, resourceID string, data json.RawMessage) error
	ApplyResource(resourceType, resourceID string, resource json.RawMessage) error
}

// ResourceChange returns the handler of resource.change events: it applies the event to the cache. The keys to
// enqueue come from the cache's change notifications (see KeysFor), so an event that changes nothing enqueues
// nothing, and changes found by a relist enqueue exactly like live ones.
func ResourceChange(a Applier) events.Handler {
	return func(_ context.Context, ev events.Event) error {
		var err error
		// Decoding the frame found data's resource already: applying it as found saves decoding data a second
		// time, a quarter of an event's cost. Data that is not an object (or an event built in code) goes to
		// ApplyEvent, which decodes it and says what is wrong with it.
		if resource, ok := ev.Resource(); ok {
			err = a.ApplyResource(ev.ResourceType, ev.ResourceID, resource)
		} else {
			err = a.ApplyEvent(ev.ResourceType, ev.ResourceID, ev.Data)
		}
		if err != nil {
			return fmt.Errorf("apply resource.change %s %s: %w", ev.ResourceType, ev.ResourceID, err)
		}
		return nil
	}
}

// InstanceLookup finds cached instances; *cache.Store implements it.
type InstanceLookup interface {
	Instance(id string) (*cattle.Instance, bool)
}

// KeysFor returns the work-queue keys a cache change may concern: the object's own key, and for an instance its
// services' keys (an upgrade waits on the health of its new containers).
func KeysFor(c cache.Change, store InstanceLookup) []string {
	switch c.Kind {
	case cache.KindInstance:
		if c.Deleted {
			return nil
		}
		in, ok := store.Instance(c.ID)
		if !ok {
			return nil
		}
		keys := make([]string, 0, len(in.ServiceIDs)+1)
		seen := map[string]bool{}
		for _, id := range append(append([]string(nil), in.ServiceIDs...), in.ServiceID) {
			if id != "" && !seen[id] {
				seen[id] = true
				keys = append(keys, events.Key(cache.KindService, id))
			}
		}
		return keys
	default:
		return []string{events.Key(c.Kind, c.ID)}
	}
}
