package cattle

import (
	"encoding/json"
	"reflect"
	"testing"
)

// sameJSON compares two JSON documents semantically.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	return reflect.DeepEqual(decodeBody(t, a), decodeBody(t, b))
}

const fullLaunchConfig = `{
	"type":"launchConfig","imageUuid":"docker:nginx:1.13","version":"b1d2-0000",
	"labels":{"app":"web","io.rancher.scheduler.global":"true","weight":5,"on":true,"nested":{"a":[1,"b"]},"gone":null},
	"ports":["80:80/tcp"],"environment":{"A":"1"},"dataVolumes":["/data:\/data"],
	"healthCheck":{"port":80,"interval":2000,"requestLine":"GET / HTTP/1.0"},
	"networkMode":"managed","memory":null,"kind":"container","privileged":false,
	"tooNewForUs":{"deep":{"deeper":[{"x":1.5e3}]}},"html":"<a&b>"
}`

func TestLaunchConfigRoundTrip(t *testing.T) {
	var lc LaunchConfig
	if err := json.Unmarshal([]byte(fullLaunchConfig), &lc); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(lc)
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, out, []byte(fullLaunchConfig)) {
		t.Fatalf("round trip changed the config:\n%s", out)
	}
	// Through a pointer, in a slice and inside a service, as the upgrade does.
	svcJSON := `{"id":"1s1","type":"service","launchConfig":` + fullLaunchConfig + `,"secondaryLaunchConfigs":[` + fullLaunchConfig + `]}`
	var svc Service
	if err := json.Unmarshal([]byte(svcJSON), &svc); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{"pointer": svc.LaunchConfig, "slice element": svc.SecondaryLaunchConfigs[0]} {
		b, err := json.Marshal(v)
		if err != nil || !sameJSON(t, b, []byte(fullLaunchConfig)) {
			t.Fatalf("%s: round trip changed the config (%v):\n%s", name, err, b)
		}
	}
}

func TestLaunchConfigAccessors(t *testing.T) {
	var lc LaunchConfig
	if err := json.Unmarshal([]byte(fullLaunchConfig), &lc); err != nil {
		t.Fatal(err)
	}
	if lc.ImageUUID() != "docker:nginx:1.13" || lc.Version() != "b1d2-0000" || lc.Name() != "" || !lc.HasHealthCheck() {
		t.Fatalf("accessors: image %q version %q name %q health %v", lc.ImageUUID(), lc.Version(), lc.Name(), lc.HasHealthCheck())
	}
	wantLabels := Labels{"app": "web", "io.rancher.scheduler.global": "true", "weight": "5", "on": "true", "nested": `{"a":[1,"b"]}`, "gone": ""}
	if got := lc.Labels(); !reflect.DeepEqual(got, wantLabels) {
		t.Fatalf("labels = %v", got)
	}

	clone := lc.Clone()
	clone.SetImageUUID("docker:nginx:1.14")
	clone.SetLabel("io.rancher.container.pull_image", "always")
	if lc.ImageUUID() != "docker:nginx:1.13" || lc.Labels()["io.rancher.container.pull_image"] != "" {
		t.Fatal("changing the clone changed the original")
	}

	out, err := json.Marshal(clone)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	_ = json.Unmarshal([]byte(fullLaunchConfig), &want)
	want["imageUuid"] = "docker:nginx:1.14"
	wantLabelsJSON := map[string]any{}
	for k, v := range wantLabels {
		wantLabelsJSON[k] = v
	}
	wantLabelsJSON["io.rancher.container.pull_image"] = "always"
	want["labels"] = wantLabelsJSON
	if got := decodeBody(t, out); !reflect.DeepEqual(got, any(want)) {
		t.Fatalf("only image and labels may change:\n%s", out)
	}

	// Generic access to members without accessors.
	var ports []string
	if found, err := clone.Get("ports", &ports); !found || err != nil || !reflect.DeepEqual(ports, []string{"80:80/tcp"}) {
		t.Fatalf("Get(ports) = %v, %v, %v", ports, found, err)
	}
	if found, err := clone.Get("missing", &ports); found || err != nil {
		t.Fatalf("Get(missing) = %v, %v", found, err)
	}
	var n int
	if _, err := clone.Get("imageUuid", &n); err == nil {
		t.Fatal("Get into the wrong type succeeded")
	}
	if err := clone.Set("", 1); err == nil {
		t.Fatal("Set with an empty name succeeded")
	}
	if err := clone.Set("networkMode", "host"); err != nil {
		t.Fatal(err)
	}
	if raw, ok := clone.Raw("networkMode"); !ok || string(raw) != `"host"` {
		t.Fatalf("Raw(networkMode) = %s, %v", raw, ok)
	}
	clone.SetLabels(nil)
	clone.Delete("healthCheck")
	if clone.Labels() != nil || clone.HasHealthCheck() {
		t.Fatal("labels or healthCheck still present")
	}
}

func TestLaunchConfigEdges(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
		health  bool
		out     string
	}{
		{name: "empty object", in: `{}`, out: `{}`},
		{name: "null health check", in: `{"healthCheck":null}`, out: `{"healthCheck":null}`},
		{name: "not an object", in: `"docker:nginx"`, wantErr: true},
		{name: "sidekick", in: `{"name":"log","imageUuid":"docker:busybox"}`, out: `{"name":"log","imageUuid":"docker:busybox"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lc LaunchConfig
			err := json.Unmarshal([]byte(tt.in), &lc)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if lc.HasHealthCheck() != tt.health {
				t.Fatalf("HasHealthCheck = %v", lc.HasHealthCheck())
			}
			b, _ := json.Marshal(lc)
			if !sameJSON(t, b, []byte(tt.out)) {
				t.Fatalf("marshal = %s, want %s", b, tt.out)
			}
		})
	}
	var zero LaunchConfig
	zero.SetImageUUID("docker:a")
	if b, _ := json.Marshal(zero); string(b) != `{"imageUuid":"docker:a"}` {
		t.Fatalf("zero value after SetImageUUID = %s", b)
	}
	var svc Service
	if err := json.Unmarshal([]byte(`{"id":"1s1","launchConfig":null}`), &svc); err != nil || svc.LaunchConfig != nil {
		t.Fatalf("null launchConfig: %v %+v", err, svc.LaunchConfig)
	}
}
