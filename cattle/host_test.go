package cattle

import (
	"encoding/json"
	"reflect"
	"testing"
)

const cloneableHost = `{
	"id":"1h3","type":"host","name":"node01.example.com","hostname":"node01","state":"active","agentState":null,
	"driver":"amazonec2","labels":{"pool":"web","gpu":1,"spot":false},
	"amazonec2Config":{"region":"eu-west-1","instanceType":"t2.medium","tags":{"a":"b"},"rootSize":"16"},
	"launchConfig":"not a driver config","staleConfig":null,"emptyConfig":{},"Config":{"x":1},
	"engineInstallUrl":"https://releases.rancher.com/install-docker/17.03.sh","engineOpt":{"log-level":"warn"},
	"engineInsecureRegistry":["reg:5000"],"memory":4096,"milliCpu":2000,
	"links":{"self":"http://rancher/v2-beta/projects/1a5/hosts/1h3"}
}`

func TestHostDriverConfigs(t *testing.T) {
	var h Host
	if err := json.Unmarshal([]byte(cloneableHost), &h); err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"amazonec2Config", "emptyConfig"}
	var keys []string
	for k := range h.DriverConfigs {
		keys = append(keys, k)
	}
	if len(keys) != len(wantKeys) || h.DriverConfigs["amazonec2Config"] == nil || h.DriverConfigs["emptyConfig"] == nil {
		t.Fatalf("driver configs = %v, want %v", keys, wantKeys)
	}
	name, cfg, ok := h.DriverConfig()
	if !ok || name != "amazonec2Config" ||
		!sameJSON(t, cfg, []byte(`{"region":"eu-west-1","instanceType":"t2.medium","tags":{"a":"b"},"rootSize":"16"}`)) {
		t.Fatalf("DriverConfig = %q %s %v", name, cfg, ok)
	}
	if h.Hostname != "node01" || h.Driver != "amazonec2" || h.Memory != 4096 ||
		!reflect.DeepEqual(h.Labels, Labels{"pool": "web", "gpu": "1", "spot": "false"}) {
		t.Fatalf("host = %+v", h)
	}

	// A clone with a new hostname keeps the driver config and engine options.
	clone := h.Clone()
	clone.Hostname = "node02"
	clone.Name = ""
	clone.DriverConfigs["amazonec2Config"] = json.RawMessage(`{"region":"changed"}`)
	out, err := json.Marshal(clone)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if string(got["hostname"]) != `"node02"` || got["name"] != nil {
		t.Fatalf("clone = %s", out)
	}
	if !sameJSON(t, got["amazonec2Config"], []byte(`{"region":"changed"}`)) ||
		!sameJSON(t, got["engineOpt"], []byte(`{"log-level":"warn"}`)) ||
		!sameJSON(t, got["engineInsecureRegistry"], []byte(`["reg:5000"]`)) {
		t.Fatalf("clone lost driver or engine config: %s", out)
	}
	if _, _, ok := h.DriverConfig(); !ok || !sameJSON(t, h.DriverConfigs["amazonec2Config"], []byte(`{"region":"eu-west-1","instanceType":"t2.medium","tags":{"a":"b"},"rootSize":"16"}`)) {
		t.Fatal("changing the clone changed the original")
	}

	// Round trip of the original keeps the driver configs verbatim.
	b, _ := json.Marshal(h)
	var again Host
	if err := json.Unmarshal(b, &again); err != nil || !reflect.DeepEqual(again.DriverConfigs, h.DriverConfigs) {
		t.Fatalf("round trip: %v\n%s", err, b)
	}
}

func TestHostDriverConfigChoice(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantName string
		wantOK   bool
	}{
		{"custom host", `{"id":"1h1","hostname":"a"}`, "", false},
		{"driver names its config", `{"driver":"packet","packetConfig":{"a":1},"otherConfig":{"b":2}}`, "packetConfig", true},
		{"single config without driver", `{"digitaloceanConfig":{"a":1}}`, "digitaloceanConfig", true},
		{"ambiguous", `{"aConfig":{"a":1},"bConfig":{"b":2}}`, "", false},
		{"null and non-object configs ignored", `{"aConfig":null,"bConfig":"x","cConfig":[1]}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Host
			if err := json.Unmarshal([]byte(tt.in), &h); err != nil {
				t.Fatal(err)
			}
			name, _, ok := h.DriverConfig()
			if name != tt.wantName || ok != tt.wantOK {
				t.Fatalf("DriverConfig = %q %v, want %q %v", name, ok, tt.wantName, tt.wantOK)
			}
		})
	}
}

func TestHostList(t *testing.T) {
	var hosts []Host
	in := `[` + cloneableHost + `,{"id":"1h4","hostname":"custom","labels":"garbage"},null]`
	if err := json.Unmarshal([]byte(in), &hosts); err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 3 || hosts[0].DriverConfigs == nil || hosts[1].DriverConfigs != nil || hosts[1].Labels != nil {
		t.Fatalf("hosts = %+v", hosts)
	}
	if err := json.Unmarshal([]byte(`{"id":5}`), &hosts[0]); err == nil {
		t.Fatal("a host with a numeric id decoded without error")
	}
}
