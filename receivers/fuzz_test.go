package receivers

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/rancher/scale-subscriber/cattle"
)

// Fuzz targets of the two receiver decoders: the body of a create or update, and a stored genericObject.
// Plain `go test` runs the seeds only; scripts/fuzz runs each for a while.

// fuzzInputSeeds are create and update bodies: cattle-protocol.md §6.2's example, one per driver with every
// member, what a client sends back after reading a receiver, and bodies the original refused.
var fuzzInputSeeds = []string{
	`{"name":"scale-web-up","driver":"scaleService",
	  "scaleServiceConfig":{"serviceId":"1s12","action":"up","amount":1,"min":1,"max":5}}`,
	`{"name":"s","driver":"scaleService","scaleServiceConfig":{"serviceId":"1s12","action":"down","amount":2,"min":1,
	  "max":9223372036854775807,"cooldownSeconds":60,"onResolved":"act","type":"scaleService"}}`,
	`{"name":"h","driver":"scaleHost","scaleHostConfig":{"hostSelector":{"pool":"web","":""},"action":"down","amount":1,
	  "min":1,"max":3,"deleteOption":"mostRecent","hostTemplateId":"1ht1","onResolved":"ignore"}}`,
	`{"name":"u","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":{"app":"web"},"tag":"latest",
	  "payloadFormat":"ghcr","addressType":"registry-vpc","batchSize":2,"intervalMillis":2,"startFirst":true,
	  "tagPolicy":"semver-minor","tagPattern":"1.*","registryAliases":{"docker.io":"mirror:5000"},"secret":"s3cret",
	  "secretSet":true,"finishTimeoutSeconds":600,"unhealthyGraceSeconds":60,"rollbackOnFailure":false}}`,
	`{"name":"f","driver":"forwardPost","forwardPostConfig":{"projectId":"1a5","serviceName":"web","port":"8080","path":"/hook"}}`,
	`{"id":"1go4","type":"receiver","links":{"self":"http://rancher:8080/v1-webhooks/receivers/1go4?projectId=1a5"},"actions":{},
	  "url":"http://rancher:8080/v1-webhooks/endpoint?key=Ab3&projectId=1a5","driver":"scaleService","name":"scale-web-up",
	  "state":"active","scaleServiceConfig":{"serviceId":"1s12","amount":1,"action":"up","min":1,"max":5,"type":"scaleService"},
	  "serviceUpgradeConfig":{},"scaleHostConfig":{},"forwardPostConfig":{}}`,
	`{"name":"u","driver":"serviceUpgrade","serviceUpgradeConfig":{"secret":null,"serviceSelector":{}}}`,
	`{"name":"s","driver":"scaleService","scaleServiceConfig":{"amount":1.5}}`,
	`{"name":"s","driver":"scaleHost","scaleHostConfig":{"hostSelector":{"a":1}}}`,
	`{"name":"x","driver":"scaleWorld"}`, `{}`, `[]`, `null`, ``, `{"name":`,
}

// FuzzDecodeInput checks the create/update body decoder: a refusal is a 400 apiError; an accepted body with a
// known driver, stored as a create stores it (newGenericObject, Cattle's JSON) and read back as every reader
// reads it (decodeReceiver), gives the receiver that was stored: the same name, driver and config, member for
// member (an empty map reads back as none, as it is not stored).
func FuzzDecodeInput(f *testing.F) {
	for _, s := range fuzzInputSeeds {
		f.Add([]byte(s))
	}
	api := &API{}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1-webhooks/receivers?projectId=1a5", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		in, err := api.decodeInput(req)
		if err != nil {
			var aerr *apiError
			if !errors.As(err, &aerr) || aerr.status != http.StatusBadRequest {
				t.Fatalf("decodeInput error %T (%v), want a 400 apiError", err, err)
			}
			return
		}
		if !knownDriver(in.Driver) {
			return
		}
		rcv := Receiver{Name: in.Name, Driver: in.Driver, ProjectID: "1a5",
			URL: "http://rancher:8080/v1-webhooks/endpoint?key=k&projectId=1a5"}
		in.applyConfig(&rcv)
		rcv.setType()
		if rcv.Driver == DriverServiceUpgrade && rcv.ServiceUpgrade.SecretSet {
			t.Fatal("secretSet from a client body was kept")
		}
		got := storeAndRead(t, rcv, "k")
		checkSameReceiver(t, rcv, got)
	})
}

// fuzzStoredSeeds are stored genericObjects: what the original wrote (cattle-protocol.md §6.3), ours, and
// objects other programs or versions wrote.
var fuzzStoredSeeds = []string{
	`{"id":"1go4","type":"genericObject","name":"scale-web-up","kind":"webhookReceiver","key":"Ab3","state":"active",
	  "accountId":"1a5","resourceData":{"url":"http://rancher:8080/v1-webhooks/endpoint?key=Ab3&projectId=1a5",
	  "driver":"scaleService","config":{"serviceId":"1s12","action":"up","amount":1,"min":1,"max":5,"type":"scaleService"}}}`,
	`{"id":"1go5","name":"h","kind":"webhookReceiver","key":"k","resourceData":{"url":"u","driver":"scaleHost",
	  "config":{"hostSelector":{"pool":"web","n":5,"o":{"a":null}},"action":"down","amount":"2","min":1.9,"max":"3",
	  "deleteOption":"leastRecent","hostTemplateId":"1ht1"}}}`,
	`{"id":"1go6","name":"u","kind":"webhookReceiver","key":"k","resourceData":{"url":"u","driver":"serviceUpgrade",
	  "config":{"serviceSelector":{"app":"web"},"tag":"latest","payloadFormat":"alicloud","addressType":"registry",
	  "batchSize":1,"intervalMillis":2,"startFirst":"true","TagPolicy":"glob","tagPattern":"v*",
	  "registryAliases":{"a.io":"b.io"},"secret":"s","finishTimeoutSeconds":"600","unhealthyGraceSeconds":null,
	  "rollbackOnFailure":"false"}}}`,
	`{"id":"1go7","name":"f","resourceData":{"url":"u","driver":"forwardPost","config":{"projectId":"1a5",
	  "serviceName":"web","port":8080,"path":"/x"}}}`,
	`{"id":"1go8","name":"big","resourceData":{"url":"u","driver":"scaleService",
	  "config":{"amount":9223372036854775807,"min":-9223372036854775808,"max":9007199254740993}}}`,
	`{"id":"1go9","name":"n","resourceData":{"url":"u","driver":"scaleService",
	  "config":{"serviceId":"1s1","action":"up","amount":1,"min":1,"max":3},
	  "notify":{"webhook":{"url":"https://hooks.example.com/x","secret":"s","headers":{"Authorization":"Bearer t"},
	  "timeoutSeconds":5},"email":{"to":["ops@example.com"],"html":true},"states":["failed"]},
	  "rateLimit":{"perMinute":60,"burst":10}}}`,
	`{"resourceData":{"url":"u","driver":"scaleService","config":{"amount":"many"}}}`,
	`{"resourceData":{"url":"u","driver":"scaleWorld","config":{}}}`,
	`{"resourceData":{"url":5,"driver":"scaleService","config":{}}}`,
	`{"resourceData":{"driver":"scaleService","url":"u","config":[1]}}`,
	`{"resourceData":null}`, `{}`,
}

// FuzzDecodeStored checks the stored receiver decoder: a refusal wraps errBadStoredReceiver; an accepted object
// has a known driver and that driver's type, and storing the receiver again and reading it back gives the same
// receiver (lenient reading is stable: what it reads, we store and read identically).
func FuzzDecodeStored(f *testing.F) {
	for _, s := range fuzzStoredSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var obj cattle.GenericObject
		if err := json.Unmarshal(data, &obj); err != nil {
			return
		}
		r, err := decodeReceiver(&obj, "1a5")
		if err != nil {
			if !errors.Is(err, errBadStoredReceiver) {
				t.Fatalf("decodeReceiver error %v does not wrap errBadStoredReceiver", err)
			}
			return
		}
		if !knownDriver(r.Driver) || r.ProjectID == "" || r.ID != obj.ID || r.Name != obj.Name {
			t.Fatalf("decoded %+v from %+v", r, obj)
		}
		if typ := reflect.ValueOf(r.config()).FieldByName("Type").String(); typ != r.Driver {
			t.Fatalf("config type %q for driver %q", typ, r.Driver)
		}
		got := storeAndRead(t, r, obj.Key)
		checkSameReceiver(t, r, got)
	})
}

// storeAndRead stores rcv as a create does, passes the object through JSON as Cattle would, and reads it back.
func storeAndRead(t *testing.T, rcv Receiver, key string) Receiver {
	t.Helper()
	obj, err := newGenericObject(rcv, key)
	if err != nil {
		t.Fatalf("newGenericObject(%+v): %v", rcv, err)
	}
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatalf("encode stored object: %v", err)
	}
	var stored cattle.GenericObject
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatalf("decode stored object: %v\n%s", err, b)
	}
	if stored.Key != key || stored.Kind != "webhookReceiver" {
		t.Fatalf("stored key %q kind %q", stored.Key, stored.Kind)
	}
	got, err := decodeReceiver(&stored, rcv.ProjectID)
	if err != nil {
		t.Fatalf("a receiver we stored cannot be read back: %v\n%s", err, b)
	}
	return got
}

// checkSameReceiver compares what was stored with what was read back: everything but the id and state Cattle
// gives the new object (name, driver, url, the driver's config, notify, rate limit...), with empty maps and
// slices as none, since they are not stored.
func checkSameReceiver(t *testing.T, want, got Receiver) {
	t.Helper()
	want.ID, want.State, got.ID, got.State = "", "", "", ""
	emptyToNil(reflect.ValueOf(&want).Elem())
	emptyToNil(reflect.ValueOf(&got).Elem())
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("receiver changed through storage:\nstored %+v\n  read %+v", want, got)
	}
}

// emptyToNil sets the empty maps and slices reachable from v to nil.
func emptyToNil(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			emptyToNil(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				emptyToNil(f)
			}
		}
	case reflect.Map:
		if v.Len() == 0 && !v.IsNil() && v.CanSet() {
			v.Set(reflect.Zero(v.Type()))
		}
	case reflect.Slice:
		if v.Len() == 0 && !v.IsNil() && v.CanSet() {
			v.Set(reflect.Zero(v.Type()))
		}
		for i := range v.Len() {
			emptyToNil(v.Index(i))
		}
	}
}
