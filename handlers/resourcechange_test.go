package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/events"
)

// applierFunc adapts a function to Applier.
type applierFunc func(resourceType, resourceID string, data json.RawMessage) error

func (f applierFunc) ApplyEvent(resourceType, resourceID string, data json.RawMessage) error {
	return f(resourceType, resourceID, data)
}

func TestResourceChangePassesTheEventToTheCache(t *testing.T) {
	var gotType, gotID string
	var gotData json.RawMessage
	h := ResourceChange(applierFunc(func(typ, id string, data json.RawMessage) error {
		gotType, gotID, gotData = typ, id, data
		return nil
	}))
	ev := events.Event{ID: "e1", Name: ResourceChangeEventName, ResourceType: "loadBalancerService", ResourceID: "1s3",
		Data: json.RawMessage(`{"resource":{"id":"1s3"}}`)}
	if err := h(context.Background(), ev); err != nil {
		t.Fatalf("handler: %v", err)
	}
	if gotType != "loadBalancerService" || gotID != "1s3" || string(gotData) != string(ev.Data) {
		t.Fatalf("applier got (%q, %q, %s)", gotType, gotID, gotData)
	}
}

func TestResourceChangeWrapsCacheErrors(t *testing.T) {
	cause := errors.New("decode service: boom")
	h := ResourceChange(applierFunc(func(string, string, json.RawMessage) error { return cause }))
	err := h(context.Background(), events.Event{Name: ResourceChangeEventName, ResourceType: "service", ResourceID: "1s1"})
	if !errors.Is(err, cause) {
		t.Fatalf("error %v does not wrap the cache's error", err)
	}
	if !strings.Contains(err.Error(), "service 1s1") {
		t.Fatalf("error %q does not name the resource", err)
	}
}

// fakeInstances is an InstanceLookup over a map.
type fakeInstances map[string]*cattle.Instance

func (f fakeInstances) Instance(id string) (*cattle.Instance, bool) {
	in, ok := f[id]
	return in, ok
}

func TestKeysFor(t *testing.T) {
	store := fakeInstances{
		"1i1": {Resource: cattle.Resource{ID: "1i1"}, ServiceID: "1s1"},
		"1i2": {Resource: cattle.Resource{ID: "1i2"}, ServiceIDs: []string{"1s1", "1s2"}, ServiceID: "1s1"},
		"1i3": {Resource: cattle.Resource{ID: "1i3"}},
	}
	cases := []struct {
		name   string
		change cache.Change
		want   []string
	}{
		{"service", cache.Change{Kind: cache.KindService, ID: "1s1"}, []string{"service:1s1"}},
		{"deleted service", cache.Change{Kind: cache.KindService, ID: "1s1", Deleted: true}, []string{"service:1s1"}},
		{"host", cache.Change{Kind: cache.KindHost, ID: "1h2"}, []string{"host:1h2"}},
		{"receiver", cache.Change{Kind: cache.KindReceiver, ID: "1go4"}, []string{"receiver:1go4"}},
		{"instance of a service", cache.Change{Kind: cache.KindInstance, ID: "1i1"}, []string{"service:1s1"}},
		{"instance of several services, deduplicated", cache.Change{Kind: cache.KindInstance, ID: "1i2"},
			[]string{"service:1s1", "service:1s2"}},
		{"standalone instance", cache.Change{Kind: cache.KindInstance, ID: "1i3"}, nil},
		{"deleted instance", cache.Change{Kind: cache.KindInstance, ID: "1i1", Deleted: true}, nil},
		{"instance no longer cached", cache.Change{Kind: cache.KindInstance, ID: "1i9"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := KeysFor(tc.change, store)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("KeysFor(%+v) = %v, want %v", tc.change, got, tc.want)
			}
			for _, k := range got {
				if _, _, ok := events.SplitKey(k); !ok {
					t.Fatalf("key %q does not split", k)
				}
			}
		})
	}
}

// noSource is a cache.Source for an informer that is never run: events apply live from the start.
type noSource struct{}

func (noSource) List(context.Context, string, cattle.ListOptions, any) error {
	return errors.New("not listing")
}
func (noSource) ByID(context.Context, string, string, any) error { return errors.New("not reading") }

// TestResourceChangeEnqueuesThroughTheCache wires the handler, the informer and a queue the way app does:
// events that change the cache enqueue their keys, events that change nothing enqueue nothing.
func TestResourceChangeEnqueuesThroughTheCache(t *testing.T) {
	store, err := cache.NewStore(nil)
	if err != nil {
		t.Fatal(err)
	}
	q := events.NewQueue(events.QueueOptions{})
	defer q.ShutDown()
	inf, err := cache.NewInformer(cache.InformerOptions{Store: store, Source: noSource{}, OnChange: func(c cache.Change) {
		for _, k := range KeysFor(c, store) {
			q.Add(k)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	h := ResourceChange(inf)
	deliver := func(typ, id string, resource map[string]any) {
		t.Helper()
		data, err := json.Marshal(map[string]any{"resource": resource})
		if err != nil {
			t.Fatal(err)
		}
		if err := h(context.Background(), events.Event{Name: ResourceChangeEventName, ResourceType: typ, ResourceID: id,
			Data: data}); err != nil {
			t.Fatalf("deliver %s %s: %v", typ, id, err)
		}
	}
	drain := func() []string {
		var keys []string
		for q.Len() > 0 {
			k, _ := q.Get()
			keys = append(keys, k)
			q.Done(k)
		}
		slices.Sort(keys)
		return keys
	}

	svc := map[string]any{"id": "1s1", "type": "service", "baseType": "service", "state": "active", "scale": 1}
	deliver("service", "1s1", svc)
	deliver("container", "1i1", map[string]any{"id": "1i1", "type": "container", "baseType": "instance",
		"state": "running", "serviceIds": []string{"1s1"}})
	deliver("host", "1h1", map[string]any{"id": "1h1", "type": "host", "baseType": "host", "state": "active"})
	deliver("stack", "1st1", map[string]any{"id": "1st1", "type": "stack", "baseType": "stack", "state": "active"})
	if got, want := drain(), []string{"host:1h1", "service:1s1"}; !slices.Equal(got, want) {
		t.Fatalf("keys after first events = %v, want %v", got, want)
	}
	deliver("service", "1s1", svc) // identical: nothing to do
	if got := drain(); len(got) != 0 {
		t.Fatalf("an event that changed nothing enqueued %v", got)
	}
	err = h(context.Background(), events.Event{Name: ResourceChangeEventName, ResourceType: "service", ResourceID: "1s1",
		Data: json.RawMessage(`{"resource":{"id":"1s1","scale":"x"}}`)})
	if err == nil {
		t.Fatal("undecodable resource: want an error")
	}
	if got := drain(); len(got) != 0 {
		t.Fatalf("an undecodable event enqueued %v", got)
	}
	if _, ok := store.Service("1s1"); !ok {
		t.Fatal("an undecodable event lost the cached service")
	}
}
