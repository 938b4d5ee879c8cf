package events

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestDecodeEvent(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  Event
	}{
		{
			name:  "new framing with omitted members",
			frame: `{"id":"e1","name":"resource.change","resourceId":"1s12","resourceType":"service","time":1501234569000,"data":{"resource":{"id":"1s12"}}}`,
			want: Event{ID: "e1", Name: "resource.change", ResourceID: "1s12", ResourceType: "service",
				Time: 1501234569000, Data: json.RawMessage(`{"resource":{"id":"1s12"}}`)},
		},
		{
			name: "old framing with explicit nulls",
			frame: `{"id":"e2","name":"ping","replyTo":null,"resourceId":null,"resourceType":null,"previousIds":null,
				"previousNames":null,"data":null,"time":null,"timeoutMillis":null,"transitioning":null,
				"transitioningMessage":null,"transitioningProgress":null,"transitioningInternalMessage":null,
				"publisher":null,"context":null}`,
			want: Event{ID: "e2", Name: "ping"},
		},
		{
			name:  "previousIds as array",
			frame: `{"id":"e3","name":"reply.1","previousIds":["a","b"],"previousNames":["x"]}`,
			want:  Event{ID: "e3", Name: "reply.1", PreviousIDs: []string{"a", "b"}, PreviousNames: []string{"x"}},
		},
		{
			name:  "previousIds as single string",
			frame: `{"id":"e4","name":"reply.1","previousIds":"a","previousNames":"x"}`,
			want:  Event{ID: "e4", Name: "reply.1", PreviousIDs: []string{"a"}, PreviousNames: []string{"x"}},
		},
		{
			name:  "previousIds empty string and empty array",
			frame: `{"id":"e5","name":"reply.1","previousIds":"","previousNames":[]}`,
			want:  Event{ID: "e5", Name: "reply.1"},
		},
		{
			name:  "previousIds array with null member",
			frame: `{"id":"e6","name":"reply.1","previousIds":[null,"a"]}`,
			want:  Event{ID: "e6", Name: "reply.1", PreviousIDs: []string{"a"}},
		},
		{
			name:  "time as float is rounded",
			frame: `{"id":"e7","name":"ping","time":1.5012345678905E12,"timeoutMillis":15000.0}`,
			want:  Event{ID: "e7", Name: "ping", Time: 1501234567891, TimeoutMillis: 15000},
		},
		{
			name: "request event with every member",
			frame: `{"id":"190a","name":"physicalhost.create;handler=goMachineService","replyTo":"reply.788",
				"resourceId":"1ph1","resourceType":"physicalHost","time":1419876894816,"timeoutMillis":15000,
				"transitioning":"yes","transitioningMessage":"working","publisher":"cattle",
				"data":{"kind":"dockerMachine"},"context":{"processName":"physicalhost.create"}}`,
			want: Event{ID: "190a", Name: "physicalhost.create;handler=goMachineService", ReplyTo: "reply.788",
				ResourceID: "1ph1", ResourceType: "physicalHost", Time: 1419876894816, TimeoutMillis: 15000,
				Transitioning: "yes", TransitioningMessage: "working", Publisher: "cattle",
				Data: json.RawMessage(`{"kind":"dockerMachine"}`), Context: json.RawMessage(`{"processName":"physicalhost.create"}`)},
		},
		{
			name:  "surrounding whitespace",
			frame: "\r\n  {\"id\":\"e8\",\"name\":\"logout\"}\n\n",
			want:  Event{ID: "e8", Name: "logout"},
		},
		{
			name:  "unknown members ignored",
			frame: `{"id":"e9","name":"ping","somethingNew":{"a":1}}`,
			want:  Event{ID: "e9", Name: "ping"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeEvent([]byte(tt.frame))
			if err != nil {
				t.Fatalf("DecodeEvent: %v", err)
			}
			if !reflect.DeepEqual(exported(got), tt.want) {
				t.Fatalf("DecodeEvent:\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// exported returns ev without what decoding found in Data for Resource (resource_test.go checks that), so it
// compares equal to an event written out as a literal.
func exported(ev Event) Event {
	ev.data = decodedData{}
	return ev
}

func TestDecodeEventRejects(t *testing.T) {
	tests := []struct {
		name    string
		frame   string
		invalid bool // else empty
	}{
		{name: "empty", frame: ""},
		{name: "blank", frame: " \n\t "},
		{name: "not json", frame: "hello", invalid: true},
		{name: "truncated", frame: `{"id":"x","name":"ping"`, invalid: true},
		{name: "array", frame: `[{"name":"ping"}]`, invalid: true},
		{name: "json null", frame: `null`, invalid: true},
		{name: "no name", frame: `{"id":"x"}`, invalid: true},
		{name: "name wrong type", frame: `{"id":"x","name":5}`, invalid: true},
		{name: "time not a number", frame: `{"id":"x","name":"ping","time":"yesterday"}`, invalid: true},
		{name: "previousIds object", frame: `{"id":"x","name":"ping","previousIds":{}}`, invalid: true},
		{name: "time out of range", frame: `{"id":"x","name":"ping","time":1e300}`, invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeEvent([]byte(tt.frame))
			if !tt.invalid {
				if !errors.Is(err, ErrEmptyFrame) {
					t.Fatalf("want ErrEmptyFrame, got %v", err)
				}
				return
			}
			var ife *InvalidFrameError
			if !errors.As(err, &ife) {
				t.Fatalf("want *InvalidFrameError, got %v", err)
			}
			if ife.Len != len(tt.frame) {
				t.Fatalf("Len = %d, want %d", ife.Len, len(tt.frame))
			}
		})
	}
}

func TestEventHelpers(t *testing.T) {
	tests := []struct {
		name, in, base string
	}{
		{name: "plain", in: "resource.change", base: "resource.change"},
		{name: "handler qualifier", in: "physicalhost.create;handler=x", base: "physicalhost.create"},
		{name: "two qualifiers", in: "ping;handler=x;account=5", base: "ping"},
		{name: "empty", in: "", base: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Event{Name: tt.in}).BaseName(); got != tt.base {
				t.Fatalf("BaseName(%q) = %q, want %q", tt.in, got, tt.base)
			}
		})
	}
	ev := Event{Time: 1501234567890, TimeoutMillis: 1500}
	if got := ev.Timestamp(); !got.Equal(time.UnixMilli(1501234567890)) {
		t.Fatalf("Timestamp = %v", got)
	}
	if got := ev.Timeout(); got != 1500*time.Millisecond {
		t.Fatalf("Timeout = %v", got)
	}
	if !(Event{}).Timestamp().IsZero() {
		t.Fatal("zero Time must give the zero timestamp")
	}
}

func TestEventRoundTrip(t *testing.T) {
	in := Event{ID: "e1", Name: "reply.1", PreviousIDs: []string{"a"}, Data: json.RawMessage(`{"x":1}`), Time: 42}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	want := `{"id":"e1","name":"reply.1","previousIds":["a"],"data":{"x":1},"time":42}`
	if string(b) != want {
		t.Fatalf("marshal = %s, want %s", b, want)
	}
	out, err := DecodeEvent(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !reflect.DeepEqual(in, exported(out)) {
		t.Fatalf("round trip: got %#v want %#v", out, in)
	}
}

func BenchmarkDecode(b *testing.B) {
	frame := []byte(`{"id":"a9d0f7c2-2c8b-4e0e-8b7e-0b6f0c3f2d11","name":"resource.change","resourceId":"1s12",` +
		`"resourceType":"service","time":1501234569000,"data":{"resource":{"id":"1s12","type":"service",` +
		`"baseType":"service","name":"web","kind":"service","accountId":"1a5","stackId":"1st3","state":"active",` +
		`"transitioning":"no","healthState":"healthy","scale":2,"currentScale":2,"instanceIds":["1i20","1i21"],` +
		`"launchConfig":{"type":"launchConfig","imageUuid":"docker:nginx:1.13","labels":{"app":"web"}},` +
		`"links":{"self":"http://rancher:8080/v2-beta/projects/1a5/services/1s12"}}}}`)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEvent(frame); err != nil {
			b.Fatal(err)
		}
	}
}
