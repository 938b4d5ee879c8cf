package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/events"
)

// applyCall is one call the handler made to its Applier.
type applyCall struct {
	method, resourceType, resourceID string
	raw                              json.RawMessage // data for ApplyEvent, the resource for ApplyResource
}

// recordingApplier records the handler's calls and answers err to each.
type recordingApplier struct {
	calls []applyCall
	err   error
}

func (r *recordingApplier) ApplyEvent(resourceType, resourceID string, data json.RawMessage) error {
	r.calls = append(r.calls, applyCall{"ApplyEvent", resourceType, resourceID, data})
	return r.err
}

func (r *recordingApplier) ApplyResource(resourceType, resourceID string, resource json.RawMessage) error {
	r.calls = append(r.calls, applyCall{"ApplyResource", resourceType, resourceID, resource})
	return r.err
}

// decodeFrame decodes a frame as the subscriber does.
func decodeFrame(t *testing.T, frame string) events.Event {
	t.Helper()
	ev, err := events.DecodeEvent([]byte(frame))
	if err != nil {
		t.Fatalf("decode %s: %v", frame, err)
	}
	return ev
}

// TestResourceChangePassesTheEventToTheCache: a decoded frame's resource goes to the cache as the frame's decode
// found it (no second decode of data); data that is not an object, and events built in code, go as data.
func TestResourceChangePassesTheEventToTheCache(t *testing.T) {
	const resource = `{"id":"1s3","type":"loadBalancerService"}`
	tests := []struct {
		name string
		ev   events.Event
		want applyCall
	}{
		{"decoded frame", decodeFrame(t, `{"id":"e1","name":"resource.change","resourceType":"loadBalancerService",`+
			`"resourceId":"1s3","data":{"resource":`+resource+`}}`),
			applyCall{"ApplyResource", "loadBalancerService", "1s3", json.RawMessage(resource)}},
		{"decoded frame without a resource", decodeFrame(t, `{"name":"resource.change","resourceType":"service",`+
			`"resourceId":"1s1","data":{"other":1}}`),
			applyCall{"ApplyResource", "service", "1s1", nil}},
		{"decoded frame, data not an object", decodeFrame(t, `{"name":"resource.change","resourceType":"service",`+
			`"resourceId":"1s1","data":["x"]}`),
			applyCall{"ApplyEvent", "service", "1s1", json.RawMessage(`["x"]`)}},
		{"decoded frame without data", decodeFrame(t, `{"name":"resource.change","resourceType":"service","resourceId":"1s1"}`),
			applyCall{"ApplyEvent", "service", "1s1", nil}},
		{"built event", events.Event{ID: "e1", Name: ResourceChangeEventName, ResourceType: "loadBalancerService",
			ResourceID: "1s3", Data: json.RawMessage(`{"resource":` + resource + `}`)},
			applyCall{"ApplyEvent", "loadBalancerService", "1s3", json.RawMessage(`{"resource":` + resource + `}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a recordingApplier
			if err := ResourceChange(&a)(context.Background(), tt.ev); err != nil {
				t.Fatalf("handler: %v", err)
			}
			if len(a.calls) != 1 {
				t.Fatalf("applier calls %+v, want one", a.calls)
			}
			got := a.calls[0]
			if got.method != tt.want.method || got.resourceType != tt.want.resourceType ||
				got.resourceID != tt.want.resourceID || string(got.raw) != string(tt.want.raw) ||
				(got.raw == nil) != (tt.want.raw == nil) {
				t.Fatalf("applier got %s(%q, %q, %q), want %s(%q, %q, %q)", got.method, got.resourceType, got.resourceID,
					got.raw, tt.want.method, tt.want.resourceType, tt.want.resourceID, tt.want.raw)
			}
		})
	}
}

func TestResourceChangeWrapsCacheErrors(t *testing.T) {
	cause := errors.New("decode service: boom")
	for _, ev := range []events.Event{
		{Name: ResourceChangeEventName, ResourceType: "service", ResourceID: "1s1"},
		decodeFrame(t, `{"name":"resource.change","resourceType":"service","resourceId":"1s1","data":{"resource":{}}}`),
	} {
		a := recordingApplier{err: cause}
		err := ResourceChange(&a)(context.Background(), ev)
		if !errors.Is(err, cause) {
			t.Fatalf("error %v does not wrap the cache's error (%s)", err, a.calls[0].method)
		}
		if !strings.Contains(err.Error(), "service 1s1") {
			t.Fatalf("error %q does not name the resource", err)
		}
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
	// deliver sends the event as Cattle frames it, decoded as the subscriber decodes it.
	deliver := func(typ, id string, resource map[string]any) {
		t.Helper()
		frame, err := json.Marshal(map[string]any{"name": ResourceChangeEventName, "resourceType": typ, "resourceId": id,
			"data": map[string]any{"resource": resource}})
		if err != nil {
			t.Fatal(err)
		}
		if err := h(context.Background(), decodeFrame(t, string(frame))); err != nil {
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
	err = h(context.Background(), decodeFrame(t, `{"name":"resource.change","resourceType":"service","resourceId":"1s1",`+
		`"data":{"resource":{"id":"1s1","scale":"x"}}}`))
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

// TestResourceChangeAppliesDecodedFramesAsBefore: for a decoded frame the handler applies the resource the
// frame's decode found, without decoding data again. For every frame, well-formed or not, the outcome must be
// the one of decoding data in the cache (Informer.ApplyEvent, the handler's only path before): the same error,
// the same cached objects, the same changes reported, and the same repair (a relist, which makes the informer
// hold later events).
func TestResourceChangeAppliesDecodedFramesAsBefore(t *testing.T) {
	svc := func(id, state string) string {
		return `{"id":"` + id + `","type":"service","baseType":"service","state":"` + state + `","scale":1}`
	}
	frame := func(typ, id, data string) string {
		f := `{"id":"e1","name":"resource.change","resourceType":"` + typ + `","resourceId":"` + id + `"`
		if data != "" {
			f += `,"data":` + data
		}
		return f + "}"
	}
	updated := svc("1s1", "updating-active")
	tests := []struct{ name, frame string }{
		{"change", frame("service", "1s1", `{"resource":`+updated+`}`)},
		{"unchanged", frame("service", "1s1", `{"resource":`+svc("1s1", "active")+`}`)},
		{"new object", frame("service", "1s2", `{"resource":`+svc("1s2", "active")+`}`)},
		{"whitespace", frame("service", "1s1", "{ \n\"resource\"\t:  "+updated+" \r\n}")},
		{"key in another case", frame("service", "1s1", `{"Resource":`+updated+`}`)},
		{"escaped key", frame("service", "1s1", `{"res\u006furce":`+updated+`}`)},
		{"last duplicate wins", frame("service", "1s1", `{"resource":null,"resource":`+updated+`}`)},
		{"later null wins", frame("service", "1s1", `{"resource":`+updated+`,"resource":null}`)},
		{"resource null", frame("service", "1s1", `{"resource":null}`)},
		{"no resource", frame("service", "1s1", `{"other":`+updated+`}`)},
		{"resource nested only", frame("service", "1s1", `{"other":{"resource":`+updated+`}}`)},
		{"resource a string", frame("service", "1s1", `{"resource":"1s1"}`)},
		{"resource a number", frame("service", "1s1", `{"resource":-5}`)},
		{"resource an array", frame("service", "1s1", `{"resource":[`+updated+`]}`)},
		{"resource a boolean", frame("service", "1s1", `{"resource":true}`)},
		{"data an array", frame("service", "1s1", `[`+updated+`]`)},
		{"data a string", frame("service", "1s1", `"x"`)},
		{"data null", frame("service", "1s1", `null`)},
		{"data absent", frame("service", "1s1", "")},
		{"another object than named", frame("service", "1s1", `{"resource":`+svc("1s3", "active")+`}`)},
		{"undecodable resource", frame("service", "1s1", `{"resource":{"id":"1s1","type":"service","scale":"x"}}`)},
		{"uncached type", frame("stack", "1st1", `{"resource":{"id":"1st1","type":"stack","baseType":"stack"}}`)},
		{"type and id probed", frame("", "", `{"resource":`+svc("1s4", "active")+`}`)},
		{"probed type not cached", frame("", "1st1", `{"resource":{"id":"1st1","type":"stack"}}`)},
		{"probe of undecodable resource", frame("", "1s1", `{"resource":{"id":1}}`)},
	}
	// run applies frame with apply to a cache that holds 1s1 (active) and reports the outcome.
	run := func(t *testing.T, frame string, apply func(*cache.Informer, events.Event) error) string {
		t.Helper()
		store, err := cache.NewStore(nil)
		if err != nil {
			t.Fatal(err)
		}
		var changes []cache.Change
		inf, err := cache.NewInformer(cache.InformerOptions{Store: store, Source: noSource{},
			OnChange: func(c cache.Change) { changes = append(changes, c) }})
		if err != nil {
			t.Fatal(err)
		}
		if err := inf.ApplyEvent("service", "1s1", json.RawMessage(`{"resource":`+svc("1s1", "active")+`}`)); err != nil {
			t.Fatal(err)
		}
		changes = nil
		applyErr := apply(inf, decodeFrame(t, frame))
		// A repair starts a relist, and until it is done the informer holds events instead of applying them.
		if err := inf.ApplyEvent("host", "1h9", json.RawMessage(`{"resource":{"id":"1h9","type":"host"}}`)); err != nil {
			t.Fatal(err)
		}
		_, live := store.Host("1h9")
		out := map[string]any{"error": fmt.Sprint(applyErr), "changes": changes, "repaired": !live}
		for _, id := range []string{"1s1", "1s2", "1s3", "1s4"} {
			if s, ok := store.Service(id); ok {
				out[id] = s.State
			}
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := run(t, tt.frame, func(inf *cache.Informer, ev events.Event) error {
				if err := inf.ApplyEvent(ev.ResourceType, ev.ResourceID, ev.Data); err != nil {
					return fmt.Errorf("apply resource.change %s %s: %w", ev.ResourceType, ev.ResourceID, err)
				}
				return nil
			})
			now := run(t, tt.frame, func(inf *cache.Informer, ev events.Event) error {
				return ResourceChange(inf)(context.Background(), ev)
			})
			if now != before {
				t.Fatalf("frame %s\nthrough the handler: %s\ndecoding data:      %s", tt.frame, now, before)
			}
		})
	}
}
