package cattle

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"
	"unicode/utf8"
)

// Fuzz targets of the lossless codecs an upgrade and a host clone depend on. Plain `go test` runs the seeds
// only; scripts/fuzz runs each for a while.

// fuzzLaunchConfigSeeds are launch configs as Cattle sends them (cattle-protocol.md §1.12 (b), §3.4).
var fuzzLaunchConfigSeeds = []string{
	`{"type":"launchConfig","imageUuid":"docker:nginx:1.13","labels":{"app":"web"},"version":"b1d2"}`,
	`{"type":"launchConfig","kind":"container","imageUuid":"docker:registry.local:5000/team/app:2.0","name":"sidekick",
	  "labels":{"io.rancher.sidekicks":"sidekick","io.rancher.container.pull_image":"always","n":5,"b":true,"o":{"x":[1]},"z":null},
	  "ports":["8080:80/tcp"],"environment":{"A":"1","B":"x\u003cy"},"dataVolumes":["/data:/data"],
	  "healthCheck":{"port":80,"interval":2000,"unhealthyThreshold":3,"requestLine":"GET / HTTP/1.0"},
	  "memory":1.5e9,"cpuShares":null,"startOnCreate":true,"version":"0","vcpu":1}`,
	`{"imageUuid":"docker:rancher/none","labels":"not an object","healthCheck":null}`,
	`{"imageUuid":5,"name":null,"version":{"a":1}}`,
	`{}`, `null`, `[]`, `"x"`, `{"a":1,"a":2}`,
}

// FuzzLaunchConfig checks that a launch config keeps every member through a decode/encode round trip (the
// upgrade sends the config back whole), that encoding is then a fixed point, that the accessors read the
// same config the same way, and that switching the image of a clone changes the image of the clone only.
func FuzzLaunchConfig(f *testing.F) {
	for _, s := range fuzzLaunchConfigSeeds {
		f.Add([]byte(s), "docker:nginx:1.14")
	}
	f.Add([]byte(fuzzLaunchConfigSeeds[1]), "")
	f.Fuzz(func(t *testing.T, data []byte, image string) {
		var members map[string]json.RawMessage
		wantErr := json.Unmarshal(data, &members) != nil
		var lc LaunchConfig
		if err := json.Unmarshal(data, &lc); (err != nil) != wantErr {
			t.Fatalf("LaunchConfig decoding error %v; decoding as an object gave error %v", err, wantErr)
		} else if err != nil {
			return
		}
		if !slices.Equal(lc.Keys(), slices.Sorted(maps.Keys(members))) {
			t.Fatalf("members %q, the object has %q", lc.Keys(), slices.Sorted(maps.Keys(members)))
		}
		for k, v := range members {
			raw, ok := lc.Raw(k)
			if !ok || !fuzzSameJSON(t, raw, v) {
				t.Fatalf("member %q = %s (present %v), the object has %s", k, raw, ok, v)
			}
		}

		encoded, err := json.Marshal(lc)
		if err != nil {
			t.Fatalf("a decoded launch config does not encode: %v", err)
		}
		var back LaunchConfig
		if err := json.Unmarshal(encoded, &back); err != nil {
			t.Fatalf("the encoding of a launch config does not decode: %v\n%s", err, encoded)
		}
		checkSameLaunchConfig(t, &lc, &back)
		again, err := json.Marshal(back)
		if err != nil || !bytes.Equal(again, encoded) {
			t.Fatalf("encoding is not a fixed point (%v):\n%s\n%s", err, encoded, again)
		}

		if !utf8.ValidString(image) {
			return
		}
		upgraded := lc.Clone()
		upgraded.SetImageUUID(image)
		upgraded.SetLabel("io.rancher.container.pull_image", "always")
		if upgraded.ImageUUID() != image || upgraded.Labels()["io.rancher.container.pull_image"] != "always" {
			t.Fatalf("after setting image %q: image %q, labels %v", image, upgraded.ImageUUID(), upgraded.Labels())
		}
		if after, _ := json.Marshal(lc); !bytes.Equal(after, encoded) {
			t.Fatalf("changing a clone changed the original:\n%s\n%s", encoded, after)
		}
		for _, k := range lc.Keys() {
			if k == launchConfigImageUUID || k == launchConfigLabels {
				continue
			}
			was, _ := lc.Raw(k)
			now, ok := upgraded.Raw(k)
			if !ok || !bytes.Equal(was, now) {
				t.Fatalf("setting the image changed member %q: %s → %s", k, was, now)
			}
		}
		for k, v := range lc.Labels() {
			if k != "io.rancher.container.pull_image" && upgraded.Labels()[k] != v {
				t.Fatalf("setting a label changed label %q: %q → %q", k, v, upgraded.Labels()[k])
			}
		}
		sent, err := json.Marshal(upgraded)
		if err != nil {
			t.Fatalf("an upgraded launch config does not encode: %v", err)
		}
		var received LaunchConfig
		if err := json.Unmarshal(sent, &received); err != nil || received.ImageUUID() != image {
			t.Fatalf("the upgraded config reads back image %q (%v), want %q", received.ImageUUID(), err, image)
		}
	})
}

// checkSameLaunchConfig compares two launch configs member by member, as JSON values, and through the
// accessors.
func checkSameLaunchConfig(t *testing.T, a, b *LaunchConfig) {
	t.Helper()
	if !slices.Equal(a.Keys(), b.Keys()) {
		t.Fatalf("members changed: %q → %q", a.Keys(), b.Keys())
	}
	for _, k := range a.Keys() {
		x, _ := a.Raw(k)
		y, _ := b.Raw(k)
		if !fuzzSameJSON(t, x, y) {
			t.Fatalf("member %q changed: %s → %s", k, x, y)
		}
	}
	if a.ImageUUID() != b.ImageUUID() || a.Name() != b.Name() || a.Version() != b.Version() ||
		a.HasHealthCheck() != b.HasHealthCheck() || !reflect.DeepEqual(a.Labels(), b.Labels()) {
		t.Fatalf("accessors read differently: %q %q %q %v %v / %q %q %q %v %v", a.ImageUUID(), a.Name(), a.Version(),
			a.HasHealthCheck(), a.Labels(), b.ImageUUID(), b.Name(), b.Version(), b.HasHealthCheck(), b.Labels())
	}
}

// fuzzHostSeeds are hosts as Cattle sends them (cattle-protocol.md §4.1): a cloneable machine-driver host, a
// custom host, odd members.
var fuzzHostSeeds = []string{
	`{"id":"1h3","type":"host","name":"node01.example.com","hostname":"node01","state":"active","agentState":null,
	  "driver":"amazonec2","labels":{"pool":"web","gpu":1,"spot":false},
	  "amazonec2Config":{"region":"eu-west-1","instanceType":"t2.medium","tags":{"a":"b"},"rootSize":"16"},
	  "launchConfig":"not a driver config","staleConfig":null,"emptyConfig":{},"Config":{"x":1},
	  "engineInstallUrl":"https://releases.rancher.com/install-docker/17.03.sh","engineOpt":{"log-level":"warn"},
	  "engineInsecureRegistry":["reg:5000"],"memory":4096,"milliCpu":2000,
	  "links":{"self":"http://rancher/v2-beta/projects/1a5/hosts/1h3"},"actions":{"deactivate":"http://x/?action=deactivate"}}`,
	`{"id":"1h1","type":"host","hostname":"custom-1","state":"active","agentIpAddress":"10.0.0.1","labels":{},
	  "hostTemplateId":"1ht1","physicalHostId":"1ph1","instanceIds":["1i1","1i2"],"data":{"fields":{"a":1}},
	  "created":"2017-07-28T09:10:11Z","createdTS":1501233011000,"removed":null,"transitioningProgress":50}`,
	`{"digitaloceanConfig":{"size":"1gb"},"packetConfig":{"plan":"t1"},"driver":"packet","DriverConfigs":{"xConfig":{}}}`,
	`{"hostname":5}`, `{}`, `null`, `[]`, `{"aConfig":{},"aConfig":[]}`,
}

// FuzzHost checks that a host survives decode → encode → decode (known members as values, every driver config
// kept), that encoding is then a fixed point, and that a Clone encodes like the host.
func FuzzHost(f *testing.F) {
	for _, s := range fuzzHostSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Host
		if err := json.Unmarshal(data, &h); err != nil {
			return
		}
		encoded, err := json.Marshal(h)
		if err != nil {
			t.Fatalf("a decoded host does not encode: %v (%+v)", err, h)
		}
		var back Host
		if err := json.Unmarshal(encoded, &back); err != nil {
			t.Fatalf("the encoding of a host does not decode: %v\n%s", err, encoded)
		}
		if !reflect.DeepEqual(normHost(t, h), normHost(t, back)) {
			t.Fatalf("the host changed through encoding:\n%+v\n%+v\n%s", h, back, encoded)
		}
		again, err := json.Marshal(back)
		if err != nil || !bytes.Equal(again, encoded) {
			t.Fatalf("encoding is not a fixed point (%v):\n%s\n%s", err, encoded, again)
		}
		clone, err := json.Marshal(h.Clone())
		if err != nil || !bytes.Equal(clone, encoded) {
			t.Fatalf("a clone encodes differently (%v):\n%s\n%s", err, encoded, clone)
		}
		n1, c1, ok1 := h.DriverConfig()
		n2, c2, ok2 := back.DriverConfig()
		if n1 != n2 || ok1 != ok2 || (ok1 && !fuzzSameJSON(t, c1, c2)) {
			t.Fatalf("DriverConfig changed: %q %s %v → %q %s %v", n1, c1, ok1, n2, c2, ok2)
		}
	})
}

// normHost is h as a value: raw members as decoded JSON, and empty maps as nil (they are omitted on encoding,
// as Cattle omits them).
func normHost(t *testing.T, h Host) map[string]any {
	t.Helper()
	raw := func(m json.RawMessage) any {
		if m == nil {
			return nil
		}
		return fuzzJSONValue(t, m)
	}
	rawMap := func(m map[string]json.RawMessage) map[string]any {
		if len(m) == 0 {
			return nil
		}
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[k] = raw(v)
		}
		return out
	}
	strMap := func(m map[string]string) map[string]string {
		if len(m) == 0 {
			return nil
		}
		return m
	}
	c := h
	c.Links, c.Actions, c.Labels = strMap(h.Links), strMap(h.Actions), strMap(h.Labels)
	c.Data, c.DriverConfigs = nil, nil
	c.EngineOpt, c.EngineEnv, c.EngineLabel, c.EngineInsecureRegistry, c.EngineRegistryMirror = nil, nil, nil, nil, nil
	if len(c.InstanceIDs) == 0 {
		c.InstanceIDs = nil
	}
	return map[string]any{
		"fields": c, "data": rawMap(h.Data), "driverConfigs": rawMap(h.DriverConfigs),
		"engine": []any{raw(h.EngineOpt), raw(h.EngineEnv), raw(h.EngineLabel), raw(h.EngineInsecureRegistry),
			raw(h.EngineRegistryMirror)},
	}
}

// fuzzSameJSON compares two raw values as JSON (numbers by their text).
func fuzzSameJSON(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	return reflect.DeepEqual(fuzzJSONValue(t, a), fuzzJSONValue(t, b))
}

func fuzzJSONValue(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("raw value %q is not JSON: %v", raw, err)
	}
	return v
}
