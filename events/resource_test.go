package events

import (
	"bytes"
	"encoding/json"
	"testing"
)

// resourceData is how encoding/json reads a resource.change's data (cache.Informer.ApplyEvent decodes data
// into the same shape): Event.Resource must agree with it on every object.
type resourceData struct {
	Resource json.RawMessage `json:"resource"`
}

// checkResource checks ev.Resource against encoding/json's own reading of ev.Data: found (ok) exactly when
// encoding/json decodes Data into resourceData, and then the same member, byte for byte (null as nil).
func checkResource(t *testing.T, ev Event) {
	t.Helper()
	got, ok := ev.Resource()
	var want resourceData
	err := json.Unmarshal(ev.Data, &want)
	if ok != (err == nil) {
		t.Fatalf("Resource ok = %v, but encoding/json decoding data %q into resourceData gives error %v", ok, ev.Data, err)
	}
	if !ok {
		if got != nil {
			t.Fatalf("Resource = %q with ok false", got)
		}
		return
	}
	if w := nullToNil(want.Resource); !bytes.Equal(got, w) || (got == nil) != (w == nil) {
		t.Fatalf("Resource of data %q = %q, encoding/json reads %q", ev.Data, got, want.Resource)
	}
}

func TestEventResource(t *testing.T) {
	const res = `{"id":"1i2","type":"container","labels":{"resource":"x"},"name":"a\"}b"}`
	tests := []struct {
		name string
		data string // the frame's data member, "" for none
		want string // the resource Resource gives; "" for nil
		ok   bool
	}{
		{name: "resource.change", data: `{"resource":` + res + `}`, want: res, ok: true},
		{name: "whitespace around everything", data: "{ \n\t\"resource\" \r: " + res + " \n}", want: res, ok: true},
		{name: "members before and after", data: `{"a":[1,{"resource":2}],"b":"\\\"resource\\\"","resource":` + res +
			`,"c":{"d":[]},"e":-1.5e3,"f":true,"g":null}`, want: res, ok: true},
		{name: "no resource", data: `{"kind":"dockerMachine","options":{}}`, ok: true},
		{name: "empty object", data: `{}`, ok: true},
		{name: "resource null", data: `{"resource":null}`, ok: true},
		{name: "resource not an object", data: `{"resource":"1i2"}`, want: `"1i2"`, ok: true},
		{name: "resource a number", data: `{"resource":12}`, want: `12`, ok: true},
		{name: "only nested resource", data: `{"a":{"resource":{"id":"1"}}}`, ok: true},
		{name: "key in another case", data: `{"Resource":` + res + `}`, want: res, ok: true},
		{name: "key with long s", data: `{"reſource":` + res + `}`, want: res, ok: true},
		{name: "escaped key", data: `{"res\u006furce":` + res + `}`, want: res, ok: true},
		{name: "escaped other key", data: `{"res\u006fur":1,"resource":2}`, want: `2`, ok: true},
		{name: "not quite the key", data: `{"resources":[],"resourc":1,"resource ":2}`, ok: true},
		{name: "last duplicate wins", data: `{"resource":1,"RESOURCE":2}`, want: `2`, ok: true},
		{name: "later null wins", data: `{"resource":` + res + `,"resource":null}`, ok: true},
		{name: "data absent"},
		{name: "data null", data: `null`},
		{name: "data an array", data: `[{"resource":1}]`},
		{name: "data a string", data: `"{\"resource\":1}"`},
		{name: "data a number", data: `5`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := `{"name":"resource.change"}`
			if tt.data != "" {
				frame = `{"name":"resource.change","data":` + tt.data + `}`
			}
			ev, err := DecodeEvent([]byte(frame))
			if err != nil {
				t.Fatalf("DecodeEvent: %v", err)
			}
			got, ok := ev.Resource()
			if ok != tt.ok || string(got) != tt.want || (got == nil) != (tt.want == "") {
				t.Fatalf("Resource() = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
			checkResource(t, ev)
			var viaUnmarshal Event
			if err := json.Unmarshal([]byte(frame), &viaUnmarshal); err != nil {
				t.Fatal(err)
			}
			if got2, ok2 := viaUnmarshal.Resource(); ok2 != ok || string(got2) != string(got) {
				t.Fatalf("after json.Unmarshal into Event, Resource() = %q, %v; after DecodeEvent %q, %v", got2, ok2, got, ok)
			}
		})
	}
}

// TestEventResourceOnlyForDecodedData: Resource vouches only for the Data it was found in, so an event built in
// code, or whose Data was replaced after decoding, makes the caller decode Data itself.
func TestEventResourceOnlyForDecodedData(t *testing.T) {
	built := Event{Name: "resource.change", Data: json.RawMessage(`{"resource":{"id":"1s1"}}`)}
	if got, ok := built.Resource(); ok || got != nil {
		t.Fatalf("built event: Resource() = %q, %v; want nil, false", got, ok)
	}
	ev, err := DecodeEvent([]byte(`{"name":"resource.change","data":{"resource":{"id":"1s1"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := ev.Resource(); !ok || string(got) != `{"id":"1s1"}` {
		t.Fatalf("decoded event: Resource() = %q, %v", got, ok)
	}
	copied := ev // events travel by value: the copy keeps what decoding found
	if _, ok := copied.Resource(); !ok {
		t.Fatal("a copy of a decoded event lost its resource")
	}
	replaced := ev
	replaced.Data = json.RawMessage(`{"resource":{"id":"1s2"}}`)
	if got, ok := replaced.Resource(); ok {
		t.Fatalf("Data replaced: Resource() = %q, true; want false", got)
	}
	emptied := ev
	emptied.Data = nil
	if _, ok := emptied.Resource(); ok {
		t.Fatal("Data removed: Resource() still reports a resource")
	}
}

// BenchmarkObjectMember measures the member scan DecodeEvent adds for data (in place of cache's second
// json.Unmarshal of data), on the data of a resource.change of a container as cattlesim renders it.
func BenchmarkObjectMember(b *testing.B) {
	data := []byte(`{"resource":` + benchContainer + `}`)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := objectMember(data, resourceMember); !ok {
			b.Fatal("no member")
		}
	}
}

// BenchmarkObjectMemberUnmarshal is what the scan replaces: encoding/json reading the same data into a struct
// with a json.RawMessage field.
func BenchmarkObjectMemberUnmarshal(b *testing.B) {
	data := []byte(`{"resource":` + benchContainer + `}`)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var d resourceData
		if err := json.Unmarshal(data, &d); err != nil {
			b.Fatal(err)
		}
	}
}

// benchContainer is a container rendered as cattlesim renders one in a resource.change (2.7 KB).
const benchContainer = `{"accountId":"1a5","actions":{"remove":"http://rancher:8080/v2-beta/projects/1a5/containers/1i1/?act` +
	`ion=remove","restart":"http://rancher:8080/v2-beta/projects/1a5/containers/1i1/?action=restart","sto` +
	`p":"http://rancher:8080/v2-beta/projects/1a5/containers/1i1/?action=stop","update":"http://rancher:8` +
	`080/v2-beta/projects/1a5/containers/1i1/?action=update","updatehealthy":"http://rancher:8080/v2-beta` +
	`/projects/1a5/containers/1i1/?action=updatehealthy","updatereinitializing":"http://rancher:8080/v2-b` +
	`eta/projects/1a5/containers/1i1/?action=updatereinitializing","updateunhealthy":"http://rancher:8080` +
	`/v2-beta/projects/1a5/containers/1i1/?action=updateunhealthy"},"baseType":"instance","capAdd":null,"` +
	`capDrop":null,"command":null,"cpuShares":null,"createIndex":1,"created":"2017-07-28T09:10:11Z","crea` +
	`tedTS":1501233011000,"data":{},"dataVolumes":null,"dataVolumesFrom":null,"deploymentUnitUuid":"620bb` +
	`d5b-491c-441c-a696-97973c7670f4","description":null,"devices":null,"dns":null,"dnsSearch":null,"doma` +
	`inName":null,"entryPoint":null,"environment":null,"expose":null,"externalId":null,"firstRunning":"20` +
	`17-07-28T09:10:11Z","firstRunningTS":1501233011000,"healthCheck":null,"healthState":"healthy","hostI` +
	`d":"1h1","hostname":null,"id":"1i1","imageUuid":"docker:nginx:1.13","instanceTriggeredStop":null,"ki` +
	`nd":"container","labels":{"app":"svc-00001","io.rancher.project.name":"bulk-001","io.rancher.project` +
	`_service.name":"bulk-001/svc-00001","io.rancher.service.deployment.unit":"620bbd5b-491c-441c-a696-97` +
	`973c7670f4","io.rancher.service.launch.config":"io.rancher.service.primary.launch.config","io.ranche` +
	`r.stack.name":"bulk-001","io.rancher.stack_service.name":"bulk-001/svc-00001","tier":"web"},"links":` +
	`{"account":"http://rancher:8080/v2-beta/projects/1a5","host":"http://rancher:8080/v2-beta/projects/1` +
	`a5/containers/1i1/host","self":"http://rancher:8080/v2-beta/projects/1a5/containers/1i1","services":` +
	`"http://rancher:8080/v2-beta/projects/1a5/containers/1i1/services","stack":"http://rancher:8080/v2-b` +
	`eta/projects/1a5/containers/1i1/stack"},"logConfig":null,"memory":null,"name":"bulk-001-svc-00001-1"` +
	`,"nativeContainer":null,"networkMode":null,"ports":["10000:80/tcp"],"primaryIpAddress":"10.42.0.3","` +
	`privileged":null,"publishAllPorts":null,"readOnly":null,"removeTime":null,"removeTimeTS":null,"remov` +
	`ed":null,"removedTS":null,"requestedHostId":null,"restartPolicy":null,"serviceId":"1s1","serviceIds"` +
	`:["1s1"],"stackId":"1st1","startCount":1,"startOnCreate":null,"state":"running","stdinOpen":null,"sy` +
	`stem":false,"transitioning":"no","transitioningMessage":null,"transitioningProgress":null,"tty":null` +
	`,"type":"container","user":null,"uuid":"3eba3788-b246-4f22-a9a2-847a3df212c9","version":"0","volumeD` +
	`river":null,"workingDir":null}`
