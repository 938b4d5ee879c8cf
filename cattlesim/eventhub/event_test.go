package eventhub

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"
)

func TestEncodeEvent(t *testing.T) {
	progress := 40
	tests := []struct {
		name     string
		ev       Event
		explicit bool
		want     string
	}{
		{
			name: "empty event writes the mandatory five as null",
			ev:   Event{},
			want: `{"id":null,"name":null,"resourceId":null,"resourceType":null,"data":null}`,
		},
		{
			name: "ping shape",
			ev:   Event{ID: "u1", Name: "ping", Data: json.RawMessage(pingData), Time: 1501234567890},
			want: `{"id":"u1","name":"ping","resourceId":null,"resourceType":null,"data":{"options":{},"resources":[]},"time":1501234567890}`,
		},
		{
			name: "request with optional fields",
			ev: Event{ID: "u2", Name: "physicalhost.create;handler=goMachineService", ReplyTo: "reply.7",
				ResourceID: "1ph1", ResourceType: "physicalHost", Data: json.RawMessage(`{"a":1}`),
				Time: 5, TimeoutMillis: 15000, Context: map[string]any{"processName": "physicalhost.create"}},
			want: `{"id":"u2","name":"physicalhost.create;handler=goMachineService","replyTo":"reply.7",` +
				`"resourceId":"1ph1","resourceType":"physicalHost","data":{"a":1},"time":5,"timeoutMillis":15000,` +
				`"context":{"processName":"physicalhost.create"}}`,
		},
		{
			name: "reply-like fields",
			ev: Event{ID: "u3", Name: "reply.9", PreviousIDs: []string{"u2"}, Transitioning: "yes",
				TransitioningMessage: "m", TransitioningInternalMessage: "i", TransitioningProgress: &progress, Publisher: "p"},
			want: `{"id":"u3","name":"reply.9","resourceId":null,"resourceType":null,"previousIds":["u2"],` +
				`"publisher":"p","transitioning":"yes","transitioningMessage":"m","transitioningInternalMessage":"i",` +
				`"transitioningProgress":40,"data":null}`,
		},
		{
			name:     "explicit nulls write every field",
			ev:       Event{ID: "u4", Name: "ping"},
			explicit: true,
			want: `{"id":"u4","name":"ping","replyTo":null,"resourceId":null,"resourceType":null,"previousIds":null,` +
				`"previousNames":null,"publisher":null,"transitioning":null,"transitioningMessage":null,` +
				`"transitioningInternalMessage":null,"transitioningProgress":null,"data":null,"time":null,` +
				`"timeoutMillis":null,"context":null}`,
		},
		{
			name: "empty previousIds is omitted",
			ev:   Event{ID: "u5", Name: "x", PreviousIDs: []string{}},
			want: `{"id":"u5","name":"x","resourceId":null,"resourceType":null,"data":null}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeEvent(&tt.ev, tt.explicit)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid json %s", got)
			}
		})
	}
}

func TestEventMarshalJSONUsesJacksonRules(t *testing.T) {
	b, err := json.Marshal(Event{ID: "a", Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"a","name":"n","resourceId":null,"resourceType":null,"data":null}`; string(b) != want {
		t.Fatalf("got %s want %s", b, want)
	}
}

func TestEncodeEventRejectsInvalidData(t *testing.T) {
	_, err := encodeEvent(&Event{Name: "x", Data: json.RawMessage(`{"a":`)}, false)
	if err == nil {
		t.Fatal("want an error for invalid data")
	}
}

func TestIDs(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	reply := regexp.MustCompile(`^reply\.[1-9][0-9]*$`)
	seen := map[string]bool{}
	for range 100 {
		u := newUUID()
		if !uuid.MatchString(u) || seen[u] {
			t.Fatalf("bad or repeated uuid %q", u)
		}
		seen[u] = true
		if r := newReplyTo(); !reply.MatchString(r) {
			t.Fatalf("bad replyTo %q", r)
		}
	}
}

func TestNewPing(t *testing.T) {
	now := time.UnixMilli(1501234567890)
	p := newPing(now)
	if p.Name != "ping" || p.ReplyTo != "" || p.Time != 1501234567890 || string(p.Data) != pingData {
		t.Fatalf("unexpected ping %+v", p)
	}
}
