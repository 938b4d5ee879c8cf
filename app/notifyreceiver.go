package app

import (
	"context"
	"sync"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/receivers"
)

// maxRememberedKeys bounds receiverKeys: one entry per receiver triggered recently, a few hundred bytes each.
const maxRememberedKeys = 1024

// receiverKeys remembers the trigger key of each receiver whose trigger ran, by receiver id. An update of a
// receiver stores a new genericObject (new id, same key) and removes the old one, so an execution that ends
// after its receiver was updated (an upgrade runs for minutes) names an id the cache no longer holds; the key
// finds the receiver as it is now, with its current notify config. Bounded: the oldest entry goes first.
type receiverKeys struct {
	mu    sync.Mutex
	keys  map[string]string
	order []string
}

func (k *receiverKeys) remember(id, key string) {
	if id == "" || key == "" {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys == nil {
		k.keys = make(map[string]string)
	}
	if _, ok := k.keys[id]; !ok {
		k.order = append(k.order, id)
	}
	k.keys[id] = key
	for len(k.order) > maxRememberedKeys {
		delete(k.keys, k.order[0])
		k.order = k.order[1:]
	}
}

func (k *receiverKeys) key(id string) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[id]
	return key, ok
}

// rememberingExecutor notes the key of every triggered receiver in keys, then runs the trigger on next.
func (a *App) rememberingExecutor(keys *receiverKeys, next receivers.Executor) receivers.Executor {
	return receivers.ExecutorFunc(func(ctx context.Context, t receivers.Trigger) receivers.Outcome {
		if obj, ok := a.store.Receiver(t.Receiver.ID); ok {
			keys.remember(obj.ID, obj.Key)
		}
		return next.Execute(ctx, t)
	})
}

// notifyReceiver finds the live receiver an execution belongs to, as it is now: by id, else (it was
// replaced by an update) by the key remembered for that id. A receiver deleted meanwhile is not found: its
// owner no longer wants to hear from it.
func (a *App) notifyReceiver(keys *receiverKeys, id string) (receivers.Receiver, bool) {
	obj, ok := a.store.Receiver(id)
	if !ok || leaving(obj) {
		key, known := keys.key(id)
		if !known {
			return receivers.Receiver{}, false
		}
		if obj, ok = a.store.ReceiverByKey(key); !ok || leaving(obj) {
			return receivers.Receiver{}, false
		}
	}
	rcv, err := receivers.DecodeStored(obj, a.client.ProjectID())
	if err != nil {
		a.log.WithError(err).WithField("receiver_id", obj.ID).Warn("receiver unreadable, outcome not notified")
		return receivers.Receiver{}, false
	}
	return rcv, true
}

// leaving reports whether a receiver is being removed (deleted, or replaced by an update).
func leaving(obj *cattle.GenericObject) bool {
	switch obj.State {
	case "removing", "removed", "purging", "purged":
		return true
	}
	return obj.IsRemoved()
}
