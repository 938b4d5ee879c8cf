package cache

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNewStoreRegistersGaugeOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewStore(reg); err != nil {
		t.Fatalf("first store: %v", err)
	}
	got := gaugeValues(t, reg)
	for _, k := range Kinds() {
		if v, ok := got[k]; !ok || v != 0 {
			t.Errorf("gauge{type=%q} = %v, present %v; want 0 from the start", k, v, ok)
		}
	}
	if _, err := NewStore(reg); err == nil {
		t.Fatal("second store on the same registry: want a registration error, got nil")
	}
	if _, err := NewStore(nil); err != nil {
		t.Fatalf("store without registry: %v", err)
	}
}

func TestUpsertInsertUpdateAndNoop(t *testing.T) {
	s, reg := newTestStore(t)
	v1 := serviceJSON(t, "1s1", "v1", lc("docker:nginx:1.13", map[string]string{"app": "web"}))

	c, ok, err := s.Upsert(KindService, v1)
	if err != nil || !ok {
		t.Fatalf("insert: ok=%v err=%v; want a change", ok, err)
	}
	if want := (Change{Kind: KindService, ID: "1s1"}); c != want {
		t.Fatalf("insert change = %+v, want %+v", c, want)
	}
	first, _ := s.Service("1s1")

	// The same rendering again is not a change (events repeat after reconnects and relists).
	if _, ok, err := s.Upsert(KindService, v1); err != nil || ok {
		t.Fatalf("identical upsert: ok=%v err=%v; want no change", ok, err)
	}

	v2 := serviceJSON(t, "1s1", "v2", lc("docker:nginx:1.14", map[string]string{"app": "web"}))
	c, ok, err = s.Upsert(KindService, v2)
	if err != nil || !ok || c.Deleted {
		t.Fatalf("update: change=%+v ok=%v err=%v", c, ok, err)
	}
	if got := serviceVersion(s, "1s1"); got != "v2" {
		t.Fatalf("after update the cache holds %q, want v2", got)
	}
	// Objects are immutable: what a reader got before the update is untouched by it.
	if first.Description != "v1" || first.LaunchConfig.ImageUUID() != "docker:nginx:1.13" {
		t.Fatalf("a reader's copy changed under it: %q %q", first.Description, first.LaunchConfig.ImageUUID())
	}
	if got := gaugeValues(t, reg)[KindService]; got != 1 {
		t.Fatalf("gauge{type=service} = %v, want 1", got)
	}
}

func TestUpsertRemovedDeletes(t *testing.T) {
	s, reg := newTestStore(t)
	if _, _, err := s.Upsert(KindHost, hostJSON(t, "1h1", "v1", map[string]string{"pool": "a"})); err != nil {
		t.Fatal(err)
	}
	c, ok, err := s.Upsert(KindHost, removedJSON(t, "1h1", "host"))
	if err != nil || !ok {
		t.Fatalf("removed snapshot: ok=%v err=%v; want a change", ok, err)
	}
	if want := (Change{Kind: KindHost, ID: "1h1", Deleted: true}); c != want {
		t.Fatalf("change = %+v, want %+v", c, want)
	}
	if _, has := s.Host("1h1"); has {
		t.Fatal("removed host still cached")
	}
	if got := s.HostsMatching(map[string]string{"pool": "a"}); len(got) != 0 {
		t.Fatalf("removed host still indexed: %v", hostIDs(got))
	}
	if got := gaugeValues(t, reg)[KindHost]; got != 0 {
		t.Fatalf("gauge{type=host} = %v, want 0", got)
	}
	// A removed snapshot of something never cached changes nothing.
	if _, ok, err := s.Upsert(KindHost, removedJSON(t, "1h9", "host")); err != nil || ok {
		t.Fatalf("removed unknown host: ok=%v err=%v; want no change", ok, err)
	}
	// Purging and a removed timestamp alone count as removed too.
	if _, _, err := s.Upsert(KindHost, hostJSON(t, "1h2", "v1", nil)); err != nil {
		t.Fatal(err)
	}
	purging := mustJSON(t, map[string]any{"id": "1h2", "type": "host", "state": "purging"})
	if _, ok, _ := s.Upsert(KindHost, purging); !ok {
		t.Fatal("purging host: want a deletion")
	}
}

func TestUpsertGenericObjectThatIsNotAReceiver(t *testing.T) {
	s, _ := newTestStore(t)
	other := mustJSON(t, map[string]any{"id": "1go1", "type": "genericObject", "kind": "somethingElse", "key": "k"})
	if _, ok, err := s.Upsert(KindReceiver, other); err != nil || ok {
		t.Fatalf("foreign genericObject: ok=%v err=%v; want ignored", ok, err)
	}
	if s.Len(KindReceiver) != 0 {
		t.Fatal("a genericObject of another kind was cached")
	}
	// A receiver whose kind changes away stops being one.
	if _, _, err := s.Upsert(KindReceiver, receiverJSON(t, "1go2", "v1", "secret")); err != nil {
		t.Fatal(err)
	}
	changed := mustJSON(t, map[string]any{"id": "1go2", "type": "genericObject", "kind": "other", "key": "secret"})
	c, ok, err := s.Upsert(KindReceiver, changed)
	if err != nil || !ok || !c.Deleted {
		t.Fatalf("receiver turned foreign: change=%+v ok=%v err=%v; want a deletion", c, ok, err)
	}
	if _, found := s.ReceiverByKey("secret"); found {
		t.Fatal("former receiver still found by key")
	}
}

func TestUpsertBadInputIsAnErrorAndLosesNothing(t *testing.T) {
	s, reg := newTestStore(t)
	good := serviceJSON(t, "1s1", "v1", lc("docker:nginx:1.13", map[string]string{"app": "web"}))
	if _, _, err := s.Upsert(KindService, good); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		kind string
		raw  json.RawMessage
		want string
	}{
		{"truncated json", KindService, json.RawMessage(`{"id":"1s1","type":"service","scale":`), "decode service"},
		{"wrong member type", KindService, json.RawMessage(`{"id":"1s1","type":"service","scale":"many"}`), "decode service"},
		{"not an object", KindService, json.RawMessage(`[1,2]`), "decode service"},
		{"no id", KindService, json.RawMessage(`{"type":"service","name":"x"}`), "no id"},
		{"bad host", KindHost, json.RawMessage(`{"id":`), "decode host"},
		{"bad instance", KindInstance, json.RawMessage(`{"id":1}`), "decode instance"},
		{"bad receiver", KindReceiver, json.RawMessage(`nope`), "decode generic object"},
		{"unknown kind", "stack", json.RawMessage(`{"id":"1st1"}`), "not cached"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ok, err := s.Upsert(tc.kind, tc.raw)
			if err == nil || ok {
				t.Fatalf("ok=%v err=%v; want an error and no change", ok, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
			if got := serviceVersion(s, "1s1"); got != "v1" {
				t.Fatalf("the cached service became %q after bad input; want v1 kept", got)
			}
		})
	}
	if !errors.Is(func() error { _, _, err := s.Upsert("stack", json.RawMessage(`{}`)); return err }(), errNotCached) {
		t.Error("unknown kind error does not wrap errNotCached")
	}
	if got := gaugeValues(t, reg); got[KindService] != 1 || got[KindHost] != 0 {
		t.Fatalf("gauge after bad input = %v", got)
	}
}

func TestDelete(t *testing.T) {
	s, reg := newTestStore(t)
	if _, _, err := s.Upsert(KindInstance, instanceJSON(t, "1i1", "v1", "1s1")); err != nil {
		t.Fatal(err)
	}
	if !s.Delete(KindInstance, "1i1") {
		t.Fatal("delete of a cached instance reported false")
	}
	if s.Delete(KindInstance, "1i1") {
		t.Fatal("second delete reported true")
	}
	if got := s.InstancesOfService("1s1"); len(got) != 0 {
		t.Fatalf("deleted instance still indexed under its service: %v", instanceIDs(got))
	}
	if got := gaugeValues(t, reg)[KindInstance]; got != 0 {
		t.Fatalf("gauge{type=instance} = %v, want 0", got)
	}
}

func TestReplace(t *testing.T) {
	s, reg := newTestStore(t)
	for _, raw := range []json.RawMessage{
		serviceJSON(t, "1s1", "v1", lc("docker:a", nil)), // stays identical
		serviceJSON(t, "1s2", "v1", lc("docker:b", nil)), // updated
		serviceJSON(t, "1s3", "v1", lc("docker:c", nil)), // gone from the list
	} {
		if _, _, err := s.Upsert(KindService, raw); err != nil {
			t.Fatal(err)
		}
	}
	changed, err := s.Replace(KindService, []json.RawMessage{
		serviceJSON(t, "1s10", "v1", lc("docker:d", nil)), // new
		serviceJSON(t, "1s1", "v1", lc("docker:a", nil)),
		serviceJSON(t, "1s2", "v2", lc("docker:b", nil)),
	})
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	// Sorted numerically within the type: 1s2 before 1s10.
	if want := []string{"1s2", "1s3", "1s10"}; !slices.Equal(changed, want) {
		t.Fatalf("changed = %v, want %v", changed, want)
	}
	if want := []string{"1s1", "1s2", "1s10"}; !slices.Equal(serviceIDs(s.Services()), want) {
		t.Fatalf("services = %v, want %v", serviceIDs(s.Services()), want)
	}
	if got := serviceVersion(s, "1s2"); got != "v2" {
		t.Fatalf("1s2 = %q, want v2", got)
	}
	if got := s.ServicesWithRepository("docker:c"); len(got) != 0 {
		t.Fatalf("dropped service still indexed: %v", serviceIDs(got))
	}
	if got := gaugeValues(t, reg)[KindService]; got != 3 {
		t.Fatalf("gauge{type=service} = %v, want 3", got)
	}

	// Removed rows in a list (lists hide them, but an include or _removed could show them) are not kept.
	changed, err = s.Replace(KindService, []json.RawMessage{
		serviceJSON(t, "1s1", "v1", lc("docker:a", nil)),
		serviceJSON(t, "1s2", "v2", lc("docker:b", nil)),
		removedJSON(t, "1s10", "service"),
	})
	if err != nil || !slices.Equal(changed, []string{"1s10"}) {
		t.Fatalf("replace with a removed row: changed=%v err=%v", changed, err)
	}
}

func TestReplaceBadRowsKeepTheRest(t *testing.T) {
	s, _ := newTestStore(t)
	for _, raw := range []json.RawMessage{
		hostJSON(t, "1h1", "v1", nil),
		hostJSON(t, "1h2", "v1", nil),
		hostJSON(t, "1h3", "v1", nil),
	} {
		if _, _, err := s.Upsert(KindHost, raw); err != nil {
			t.Fatal(err)
		}
	}
	changed, err := s.Replace(KindHost, []json.RawMessage{
		hostJSON(t, "1h1", "v2", nil),
		json.RawMessage(`{"id":"1h2","type":"host","memory":"lots"}`), // listed but undecodable
		json.RawMessage(`{"id":`),                                     // not even an id
		hostJSON(t, "1h4", "v1", nil),
	})
	if err == nil || !strings.Contains(err.Error(), "decode host") {
		t.Fatalf("replace error = %v, want the undecodable rows reported", err)
	}
	// 1h3 is gone from the list; 1h2 is listed (it exists) so its cached copy is kept rather than lost.
	if want := []string{"1h1", "1h3", "1h4"}; !slices.Equal(changed, want) {
		t.Fatalf("changed = %v, want %v", changed, want)
	}
	if want := []string{"1h1", "1h2", "1h4"}; !slices.Equal(hostIDs(s.Hosts()), want) {
		t.Fatalf("hosts = %v, want %v", hostIDs(s.Hosts()), want)
	}
	if h, _ := s.Host("1h2"); h.Description != "v1" {
		t.Fatalf("1h2 = %q, want the cached v1 kept", h.Description)
	}
}

func TestCountsAndLen(t *testing.T) {
	s, reg := newTestStore(t)
	mustUpsert := func(kind string, raw json.RawMessage) {
		t.Helper()
		if _, _, err := s.Upsert(kind, raw); err != nil {
			t.Fatal(err)
		}
	}
	mustUpsert(KindService, serviceJSON(t, "1s1", "v1", lc("docker:a", nil)))
	mustUpsert(KindHost, hostJSON(t, "1h1", "v1", nil))
	mustUpsert(KindHost, hostJSON(t, "1h2", "v1", nil))
	mustUpsert(KindInstance, instanceJSON(t, "1i1", "v1", "1s1"))
	mustUpsert(KindReceiver, receiverJSON(t, "1go1", "v1", "k1"))
	want := map[string]int{KindService: 1, KindHost: 2, KindInstance: 1, KindReceiver: 1}
	got := s.Counts()
	for k, n := range want {
		if got[k] != n || s.Len(k) != n {
			t.Errorf("%s: Counts=%d Len=%d, want %d", k, got[k], s.Len(k), n)
		}
		if g := gaugeValues(t, reg)[k]; g != float64(n) {
			t.Errorf("gauge{type=%q} = %v, want %d", k, g, n)
		}
	}
}
