package receivers

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cache"
)

// TestUpdateKeepsKeyAndURL: PUT changes name and config; the receiver gets a new id but keeps its key and
// trigger URL, the old object is removed, and the URL triggers the new config — also after Cattle has finished
// removing the old object and every event about it has reached the cache (the old and the new object share a
// key for a while; the removal of the old one must not unindex the new one).
func TestUpdateKeepsKeyAndURL(t *testing.T) {
	e := newEnv(t)
	rec := e.create(e.scaleWebBody("before"))
	oldID, triggerURL := str(rec, "id"), str(rec, "url")
	waitFor(t, 5*time.Second, func() bool {
		g, ok := e.store.Receiver(oldID)
		return ok && g.State == "active"
	}, "the receiver to be active in the cache")
	// Hold the old object in "removing" until the new one is active everywhere, so that the events of its
	// removal arrive last: the order in which they could unindex the key the two objects share.
	if err := e.sim.Stall("genericObject", oldID, true); err != nil {
		t.Fatalf("stall: %v", err)
	}

	r := e.put("/v1-webhooks/receivers/"+oldID,
		`{"name":"after","scaleServiceConfig":{"serviceId":"`+e.id("1a5/service/web")+`","action":"down","amount":2,"min":1,"max":9,"cooldownSeconds":60}}`)
	if r.status != http.StatusOK {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	upd := r.json(t)
	newID := str(upd, "id")
	if newID == oldID || str(upd, "url") != triggerURL || str(upd, "name") != "after" || str(upd, "driver") != "scaleService" {
		t.Fatalf("updated receiver %s", r.body)
	}
	if cfg := obj(upd, "scaleServiceConfig"); cfg["action"] != "down" || cfg["amount"] != 2.0 || cfg["max"] != 9.0 || cfg["cooldownSeconds"] != 60.0 {
		t.Errorf("config %v", cfg)
	}
	list := e.get("/v1-webhooks/receivers").json(t)["data"].([]any)
	if len(list) != 1 || str(list[0].(map[string]any), "id") != newID {
		t.Fatalf("list after update: %v", list)
	}

	check := func(when string) {
		t.Helper()
		n := len(e.exec.all())
		if tr := e.trigger(triggerURL, `{"x":1}`); tr.status != http.StatusOK {
			t.Fatalf("%s: trigger %d %s", when, tr.status, tr.body)
		}
		all := e.exec.all()
		if len(all) != n+1 {
			t.Fatalf("%s: executor ran %d times, want %d", when, len(all), n+1)
		}
		got := all[n].Receiver
		if got.ID != newID || got.Name != "after" || got.ScaleService.Action != "down" || got.ScaleService.Amount != 2 {
			t.Fatalf("%s: executed %+v", when, got)
		}
	}
	check("right after the update")

	waitFor(t, 5*time.Second, func() bool {
		oldObj, err := e.client.GetGenericObject(e.ctx, oldID)
		newCached, ok := e.store.Receiver(newID)
		return err == nil && oldObj.State == "removing" && ok && newCached.State == "active"
	}, "the old receiver removing in cattle and the new one active in the cache")
	check("while the old object is being removed")
	// A relist now brings the removing object back into the cache (lists include removing objects), so both
	// objects are cached under the shared key when the old one's removal arrives.
	relists := e.inf.Relists()
	e.inf.Resync()
	waitFor(t, 5*time.Second, func() bool { return e.inf.Relists() > relists }, "a relist")
	if g, ok := e.store.Receiver(oldID); !ok || g.State != "removing" {
		t.Fatalf("old receiver not cached as removing after the relist: %v", g)
	}
	check("with both objects cached")
	if err := e.sim.Stall("genericObject", oldID, false); err != nil {
		t.Fatalf("release: %v", err)
	}
	waitFor(t, 5*time.Second, func() bool {
		oldObj, err1 := e.client.GetGenericObject(e.ctx, oldID)
		newObj, err2 := e.client.GetGenericObject(e.ctx, newID)
		cached, ok := e.store.Receiver(newID)
		_, oldCached := e.store.Receiver(oldID)
		return err1 == nil && err2 == nil && oldObj.State == "removed" && newObj.State == "active" &&
			ok && cached.State == "active" && !oldCached
	}, "cattle and the cache to settle")
	check("after the old object's removal reached the cache")

	// The cache alone (without this API's memory of its writes, as another replica or a later TTL sees it)
	// finds the new receiver by the shared key.
	fresh, err := New(Options{Cattle: e.client, Store: e.store, Executor: e.exec, Synced: e.inf.Synced})
	if err != nil {
		t.Fatalf("new api: %v", err)
	}
	e2 := *e
	e2.url = serve(t, fresh)
	if tr := e2.trigger(triggerURL, ""); tr.status != http.StatusOK {
		t.Fatalf("trigger through the cache alone: %d %s", tr.status, tr.body)
	}
	if got := e.exec.all(); got[len(got)-1].Receiver.ID != newID {
		t.Fatalf("cache alone executed %s, want %s", got[len(got)-1].Receiver.ID, newID)
	}

	// The old id is gone for writes; a GET shows the removed object as the original did.
	wantError(t, e.put("/v1-webhooks/receivers/"+oldID, `{"name":"again"}`), http.StatusNotFound, "Webhook not found")
	if g := e.get("/v1-webhooks/receivers/" + oldID).json(t); str(g, "state") != "removed" {
		t.Errorf("old id: %v", g)
	}
	e.assertNoSecretsLogged(keyOf(t, triggerURL))
}

// TestUpdateRefusals: invalid configs, duplicate names, unknown drivers and ids change nothing; an update with
// no change keeps the id; a driver change needs a valid config of the new driver.
func TestUpdateRefusals(t *testing.T) {
	e := newEnv(t)
	rec := e.create(e.scaleWebBody("one"))
	e.create(e.scaleWebBody("two"))
	id := str(rec, "id")
	before := e.callIndex()

	wantError(t, e.put("/v1-webhooks/receivers/"+id, `{"name":"two"}`), http.StatusBadRequest, "webhook two already exists")
	wantError(t, e.put("/v1-webhooks/receivers/"+id, `{"scaleServiceConfig":{"action":"up"}}`), http.StatusBadRequest, "Invalid amount: 0")
	wantError(t, e.put("/v1-webhooks/receivers/"+id, `{"driver":"nope"}`), http.StatusBadRequest, "Invalid driver nope")
	wantError(t, e.put("/v1-webhooks/receivers/"+id, `{"driver":"scaleHost"}`), http.StatusBadRequest, "Scale action not provided")
	wantError(t, e.put("/v1-webhooks/receivers/"+id, `{"name":`), http.StatusBadRequest, "Bad request body")
	wantError(t, e.do(request{method: http.MethodPut, path: "/v1-webhooks/receivers/" + id + "?projectId=1a5",
		body: `{"name":"x"}`, ctype: "text/plain"}), http.StatusBadRequest, "Only application/json is supported")
	wantError(t, e.put("/v1-webhooks/receivers/1go999", `{"name":"x"}`), http.StatusNotFound, "Webhook not found")
	wantError(t, e.put("/v1-webhooks/receivers/not-an-id", `{"name":"x"}`), http.StatusNotFound, "Webhook not found")
	if n := e.writesSince(before); n != 0 {
		t.Errorf("%d writes reached cattle for refused updates", n)
	}

	// Sending back what was read changes nothing, not even the id.
	same := e.put("/v1-webhooks/receivers/"+id, string(e.get("/v1-webhooks/receivers/"+id).body))
	if same.status != http.StatusOK || str(same.json(t), "id") != id {
		t.Fatalf("no-op update: %d %s", same.status, same.body)
	}
	if n := e.writesSince(before); n != 0 {
		t.Errorf("no-op update wrote %d times", n)
	}

	// A driver change with a valid config of the new driver.
	r := e.put("/v1-webhooks/receivers/"+id, `{"driver":"scaleHost","scaleHostConfig":{"hostSelector":{"pool":"workers"},`+
		`"action":"up","amount":1,"min":1,"max":5}}`)
	if r.status != http.StatusOK {
		t.Fatalf("driver change: %d %s", r.status, r.body)
	}
	got := r.json(t)
	if str(got, "driver") != "scaleHost" || len(obj(got, "scaleServiceConfig")) != 0 || obj(got, "scaleHostConfig")["type"] != "scaleHost" {
		t.Errorf("after driver change: %s", r.body)
	}
	if names := receiverNames(e); len(names) != 2 {
		t.Errorf("receivers in cattle: %v", names)
	}
	if list := e.get("/v1-webhooks/receivers").json(t)["data"].([]any); len(list) != 2 {
		t.Errorf("listed %d receivers right after the driver change, want 2", len(list))
	}
	// The cache converges to Cattle: two live receivers.
	waitFor(t, 5*time.Second, func() bool {
		live := 0
		for _, g := range e.store.Receivers() {
			if g.Kind == cache.ReceiverKind && !gone(g) {
				live++
			}
		}
		return live == 2 && len(e.store.Receivers()) == 2
	}, "the cache to hold exactly the two live receivers")
}

// TestCacheKeyIndexAcrossReplacement pins the cache behaviour updates rely on, in the order of events that
// broke it: the new object is cached, then an event of the old one (being removed) arrives, then the old
// one's removal. The key must lead to the new object throughout.
func TestCacheKeyIndexAcrossReplacement(t *testing.T) {
	store := emptyStore(t)
	render := func(id, state string) json.RawMessage {
		return mustMarshal(t, map[string]any{"id": id, "type": "genericObject", "baseType": "genericObject",
			"kind": cache.ReceiverKind, "key": "K", "state": state, "accountId": "1a5"})
	}
	step := func(id, state string) {
		t.Helper()
		if _, _, err := store.Upsert(cache.KindReceiver, render(id, state)); err != nil {
			t.Fatalf("upsert %s %s: %v", id, state, err)
		}
	}
	want := func(when, id string) {
		t.Helper()
		g, ok := store.ReceiverByKey("K")
		if !ok || g.ID != id {
			t.Fatalf("%s: key leads to %v, want %s", when, g, id)
		}
	}
	step("1go1", "active")
	want("one receiver", "1go1")
	step("1go2", "requested")
	want("replacement created", "1go2")
	step("1go1", "removing")
	want("old one removing after the new one", "1go2")
	step("1go2", "active")
	step("1go1", "removed")
	want("old one removed", "1go2")
	step("1go3", "removing")
	want("a newer object being removed does not win over a live one", "1go2")
}
