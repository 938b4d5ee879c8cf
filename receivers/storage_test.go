package receivers

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/upgrade"
)

func storedObject(t *testing.T, driver, url, config string) *cattle.GenericObject {
	t.Helper()
	data := map[string]json.RawMessage{}
	if driver != "" {
		data["driver"] = json.RawMessage(driver)
	}
	if url != "" {
		data["url"] = json.RawMessage(url)
	}
	if config != "" {
		data["config"] = json.RawMessage(config)
	}
	return &cattle.GenericObject{Resource: cattle.Resource{ID: "1go7", Name: "n", State: "active", AccountID: "1a5",
		Kind: "webhookReceiver"}, Key: "k", ResourceData: data}
}

// TestDecodeStoredIsLenientLikeMapstructure: stored configs written by other programs decode as the original
// decoded them (numbers as floats or strings, booleans as strings, non-string label values, names in any case).
func TestDecodeStoredIsLenientLikeMapstructure(t *testing.T) {
	cases := []struct {
		name, driver, config string
		check                func(Receiver) bool
	}{
		{"floats and strings for ints", `"scaleService"`, `{"serviceId":"1s1","amount":1.0,"action":"up","min":"1","max":5.9}`,
			func(r Receiver) bool {
				return r.ScaleService == ScaleServiceConfig{ServiceID: "1s1", Amount: 1, Action: "up", Min: 1, Max: 5, Type: "scaleService"}
			}},
		{"names in another case", `"scaleService"`, `{"ServiceId":"1s1","Amount":2,"ACTION":"down"}`,
			func(r Receiver) bool {
				return r.ScaleService.ServiceID == "1s1" && r.ScaleService.Amount == 2 && r.ScaleService.Action == "down"
			}},
		{"string boolean and numeric label", `"serviceUpgrade"`, `{"serviceSelector":{"app":"web","n":5},"tag":"1","startFirst":"true","batchSize":"2","intervalMillis":2}`,
			func(r Receiver) bool {
				c := r.ServiceUpgrade
				return c.StartFirst && c.BatchSize == 2 && c.ServiceSelector["n"] == "5" && c.ServiceSelector["app"] == "web"
			}},
		{"numeric port", `"forwardPost"`, `{"projectId":"1a5","serviceName":"web","port":8080,"path":"/x"}`,
			func(r Receiver) bool { return r.ForwardPost.Port == "8080" && r.ForwardPost.Type == "forwardPost" }},
		{"host template and nulls", `"scaleHost"`, `{"hostTemplateId":"1ht1","amount":null,"hostSelector":null,"action":"up"}`,
			func(r Receiver) bool { return r.ScaleHost.HostTemplateID == "1ht1" && r.ScaleHost.HostSelector == nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := decodeReceiver(storedObject(t, tc.driver, `"http://x/v1-webhooks/endpoint?key=k&projectId=1a5"`, tc.config), "1a5")
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !tc.check(r) || r.ID != "1go7" || r.ProjectID != "1a5" || r.URL == "" {
				t.Fatalf("decoded %+v", r)
			}
		})
	}
}

// TestDecodeStoredRefusesBrokenObjects: what the original skipped (list) or refused (get, trigger).
func TestDecodeStoredRefusesBrokenObjects(t *testing.T) {
	cases := []struct{ name, driver, url, config, want string }{
		{"no driver", "", `"u"`, `{}`, "bad driver"},
		{"driver not a string", `5`, `"u"`, `{}`, "bad driver"},
		{"no url", `"scaleService"`, "", `{}`, "bad url"},
		{"no config", `"scaleService"`, `"u"`, "", "bad config"},
		{"unknown driver", `"scaleWorld"`, `"u"`, `{}`, "not registered"},
		{"config not an object", `"scaleService"`, `"u"`, `[1]`, "not an object"},
		{"amount not a number", `"scaleService"`, `"u"`, `{"amount":"many"}`, "not an integer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeReceiver(storedObject(t, tc.driver, tc.url, tc.config), "1a5")
			if !errors.Is(err, errBadStoredReceiver) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestStoredShapeRoundTrips: what we write is what the original wrote, and reads back the same.
func TestStoredShapeRoundTrips(t *testing.T) {
	in := Receiver{Name: "n", Driver: DriverScaleHost, URL: "http://h/v1-webhooks/endpoint?key=K&projectId=1a5",
		ScaleHost: ScaleHostConfig{HostSelector: map[string]string{"pool": "workers"}, Amount: 1, Action: "down", Min: 1,
			Max: 4, DeleteOption: DeleteMostRecent, Type: DriverScaleHost}}
	obj, err := newGenericObject(in, "K")
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if obj.Kind != "webhookReceiver" || obj.Key != "K" || obj.Name != "n" {
		t.Fatalf("object %+v", obj)
	}
	wantCfg := `{"hostSelector":{"pool":"workers"},"amount":1,"action":"down","min":1,"max":4,"deleteOption":"mostRecent","type":"scaleHost"}`
	if string(obj.ResourceData["config"]) != wantCfg || string(obj.ResourceData["driver"]) != `"scaleHost"` {
		t.Fatalf("resourceData %s", mustMarshal(t, obj.ResourceData))
	}
	obj.ID, obj.AccountID = "1go3", "1a5"
	out, err := decodeReceiver(&obj, "1a5")
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	in.ID, in.ProjectID = "1go3", "1a5"
	if !equalJSON(out, in) || out.URL != in.URL {
		t.Fatalf("round trip %+v, want %+v", out, in)
	}
}

// TestKeys: 40 characters of [A-Za-z0-9], all different, and a broken source is an error, not a weak key.
func TestKeys(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		k, err := newKey(rand.Reader)
		if err != nil || !keyPattern.MatchString(k) || seen[k] {
			t.Fatalf("key %q err %v (dup %v)", k, err, seen[k])
		}
		seen[k] = true
	}
	if _, err := newKey(bytes.NewReader(bytes.Repeat([]byte{0xff}, 1<<20))); err == nil {
		t.Fatalf("a source of unusable bytes gave a key")
	}
	if _, err := newKey(bytes.NewReader(nil)); err == nil {
		t.Fatalf("an empty source gave a key")
	}
}

// TestValidTagAndID: the original's Docker tag rule (upgrade.ValidTag, which create validation runs) and the
// Cattle id shape.
func TestValidTagAndID(t *testing.T) {
	for tag, want := range map[string]bool{"1.14": true, "latest": true, "v1_2-rc.3": true, "_x": true,
		".1": false, "-1": false, "": false, "a:b": false, "a/b": false, strings.Repeat("a", 128): true, strings.Repeat("a", 129): false} {
		if upgrade.ValidTag(tag) != want {
			t.Errorf("upgrade.ValidTag(%q) = %v", tag, !want)
		}
	}
	for id, want := range map[string]bool{"1go4": true, "1s12": true, "1a5": true, "go4": false, "1go": false, "14": false,
		"1go4x": false, "1GO4": false, "1go4/../1s1": false, "": false} {
		if validID(id) != want {
			t.Errorf("validID(%q) = %v", id, !want)
		}
	}
}

// TestRequestURLs: links follow X-API-Request-Url, then X-Forwarded-*, then Host, as go-rancher's UrlBuilder.
func TestRequestURLs(t *testing.T) {
	cases := []struct {
		headers  map[string]string
		wantBase string
	}{
		{nil, "http://svc:8085"},
		{map[string]string{"X-API-Request-Url": "https://r.example.com/v1-webhooks/receivers?projectId=1a5"}, "https://r.example.com"},
		{map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "r.example.com, other"}, "https://r.example.com"},
		{map[string]string{"X-Forwarded-Proto": "http", "X-Forwarded-Port": "8080"}, "http://svc:8080"},
		{map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Port": "443", "X-Forwarded-Host": "r:9"}, "https://r:9"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "http://svc:8085/v1-webhooks/receivers?projectId=1a5", nil)
		for k, v := range tc.headers {
			r.Header.Set(k, v)
		}
		if got := responseBase(r); got != tc.wantBase {
			t.Errorf("headers %v: base %q, want %q", tc.headers, got, tc.wantBase)
		}
		if got := requestURL(r); got != tc.wantBase+"/v1-webhooks/receivers" {
			t.Errorf("headers %v: request url %q", tc.headers, got)
		}
	}
}
