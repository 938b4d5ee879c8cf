package receivers

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestServiceUpgradeConfigNewMembers: tag policies, registry aliases, the new payload formats and the upgrade
// safety members are accepted, stored in the genericObject and rendered back; the secret is stored but never
// rendered (secretSet says it is there) nor logged; the trigger hands the executor the whole config.
func TestServiceUpgradeConfigNewMembers(t *testing.T) {
	e := newEnv(t)
	const secret = "It's a Secret to Everybody 7f3a"
	rec := e.create(`{"name":"ghcr-web","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":{"app":"web"},` +
		`"tagPolicy":"semver-minor","registryAliases":{"ghcr.io":"mirror.internal:5000"},"payloadFormat":"ghcr",` +
		`"secret":"` + secret + `","secretSet":false,"finishTimeoutSeconds":120,"unhealthyGraceSeconds":15,` +
		`"rollbackOnFailure":false,"batchSize":1,"intervalMillis":100}}`)
	id := str(rec, "id")
	want := map[string]any{"serviceSelector": map[string]any{"app": "web"}, "tagPolicy": "semver-minor",
		"registryAliases": map[string]any{"ghcr.io": "mirror.internal:5000"}, "payloadFormat": "ghcr",
		"secretSet": true, "finishTimeoutSeconds": 120.0, "unhealthyGraceSeconds": 15.0, "rollbackOnFailure": false,
		"batchSize": 1.0, "intervalMillis": 100.0, "type": "serviceUpgrade"}
	for name, got := range map[string]map[string]any{
		"create answer": obj(rec, "serviceUpgradeConfig"),
		"get":           obj(e.get("/v1-webhooks/receivers/"+id).json(t), "serviceUpgradeConfig"),
		"list":          obj(e.get("/v1-webhooks/receivers").json(t)["data"].([]any)[0].(map[string]any), "serviceUpgradeConfig"),
	} {
		if !equalJSON(got, want) {
			b, _ := json.Marshal(got)
			t.Errorf("%s renders %s, want %v (never the secret)", name, b, want)
		}
	}

	objs := e.genericObjects()
	if len(objs) != 1 {
		t.Fatalf("stored %d genericObjects, want 1", len(objs))
	}
	var stored map[string]any
	if err := json.Unmarshal(objs[0].ResourceData["config"], &stored); err != nil {
		t.Fatalf("decode stored config: %v", err)
	}
	if stored["secret"] != secret || stored["secretSet"] != nil || stored["tagPolicy"] != "semver-minor" {
		t.Errorf("stored config %v, want the secret stored and no secretSet", stored)
	}

	if tr := e.trigger(str(rec, "url"), `{}`); tr.status != http.StatusOK {
		t.Fatalf("trigger: %d %s", tr.status, tr.body)
	}
	all := e.exec.all()
	got := all[len(all)-1].Receiver.ServiceUpgrade
	if got.Secret != secret || got.TagPolicy != "semver-minor" || got.RegistryAliases["ghcr.io"] != "mirror.internal:5000" ||
		got.FinishTimeout().Seconds() != 120 || got.UnhealthyGrace().Seconds() != 15 || got.RollsBack() || got.SecretSet {
		t.Errorf("executor got %+v", got)
	}
	e.assertNoSecretsLogged(secret)
}

// TestUpdateKeepsTheSecretUnlessCleared: secrets are never rendered, so a client that PUTs back what it read
// sends none and must not lose it; an explicit "" removes it, a new value replaces it.
func TestUpdateKeepsTheSecretUnlessCleared(t *testing.T) {
	e := newEnv(t)
	rec := e.create(`{"name":"gh","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":{"app":"web"},` +
		`"tag":"1.14","payloadFormat":"ghcr","secret":"first","batchSize":1,"intervalMillis":2}}`)
	storedSecret := func() any {
		t.Helper()
		objs := e.genericObjects()
		var live []map[string]any
		for _, o := range objs {
			if o.State == "removed" || o.State == "removing" || o.Removed != "" {
				continue
			}
			var c map[string]any
			if err := json.Unmarshal(o.ResourceData["config"], &c); err != nil {
				t.Fatalf("decode stored config: %v", err)
			}
			live = append(live, c)
		}
		if len(live) != 1 {
			t.Fatalf("%d live genericObjects, want 1", len(live))
		}
		return live[0]["secret"]
	}
	put := func(id, body string) map[string]any {
		t.Helper()
		r := e.put("/v1-webhooks/receivers/"+id, body)
		if r.status != http.StatusOK {
			t.Fatalf("put %s: %d %s", body, r.status, r.body)
		}
		return r.json(t)
	}

	// What a client read, sent back with a changed tag.
	read := obj(e.get("/v1-webhooks/receivers/"+str(rec, "id")).json(t), "serviceUpgradeConfig")
	read["tag"] = "1.15"
	b, _ := json.Marshal(read)
	upd := put(str(rec, "id"), `{"serviceUpgradeConfig":`+string(b)+`}`)
	if cfg := obj(upd, "serviceUpgradeConfig"); cfg["tag"] != "1.15" || cfg["secretSet"] != true || cfg["secret"] != nil {
		t.Errorf("after a PUT without secret: %v, want tag 1.15 and the secret kept (secretSet true)", cfg)
	}
	if s := storedSecret(); s != "first" {
		t.Errorf("stored secret %v after a PUT without secret, want it kept", s)
	}

	upd = put(str(upd, "id"), `{"serviceUpgradeConfig":{"serviceSelector":{"app":"web"},"tag":"1.15","payloadFormat":"ghcr",`+
		`"secret":"second","batchSize":1,"intervalMillis":2}}`)
	if s := storedSecret(); s != "second" {
		t.Errorf("stored secret %v, want the new one", s)
	}
	upd = put(str(upd, "id"), `{"serviceUpgradeConfig":{"serviceSelector":{"app":"web"},"tag":"1.15","payloadFormat":"ghcr",`+
		`"secret":"","batchSize":1,"intervalMillis":2}}`)
	if cfg := obj(upd, "serviceUpgradeConfig"); cfg["secretSet"] != nil {
		t.Errorf("after clearing: %v, want no secretSet", cfg)
	}
	if s := storedSecret(); s != nil {
		t.Errorf("stored secret %v after clearing it, want none", s)
	}
	e.assertNoSecretsLogged("first", "second")
}

// TestSchemaListsUpgradeMembers: the serviceUpgrade schema offers the new formats, policies and safety members
// with their defaults.
func TestSchemaListsUpgradeMembers(t *testing.T) {
	e := newEnv(t)
	fields := obj(e.get("/v1-webhooks/schemas/serviceUpgrade").json(t), "resourceFields")
	formats, _ := obj(fields, "payloadFormat")["options"].([]any)
	var names []string
	for _, f := range formats {
		s, _ := f.(string)
		names = append(names, s)
	}
	if got := strings.Join(names, ","); got != "dockerhub,alicloud,azure,harbor,quay,ghcr,custom,distribution,auto" {
		t.Errorf("payloadFormat options %s", got)
	}
	if d := obj(fields, "finishTimeoutSeconds")["default"]; d != float64(DefaultFinishTimeoutSeconds) {
		t.Errorf("finishTimeoutSeconds default %v", d)
	}
	if d := obj(fields, "unhealthyGraceSeconds")["default"]; d != float64(DefaultUnhealthyGraceSeconds) {
		t.Errorf("unhealthyGraceSeconds default %v", d)
	}
	if d := obj(fields, "rollbackOnFailure")["default"]; d != true {
		t.Errorf("rollbackOnFailure default %v", d)
	}
	if opts, _ := obj(fields, "tagPolicy")["options"].([]any); len(opts) != 6 {
		t.Errorf("tagPolicy options %v", opts)
	}
	if obj(fields, "secret")["type"] != "password" {
		t.Errorf("secret field %v", obj(fields, "secret"))
	}
}
