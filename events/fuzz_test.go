package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/cattlesim/eventhub"
)

// FuzzDecodeEvent checks the subscriber's frame decoder on any frame: a blank frame is ErrEmptyFrame and
// every other refusal an *InvalidFrameError with the frame's length; an accepted event has a name, and
// json.Unmarshal into Event (its UnmarshalJSON) reads the frame the same way; its Resource is what
// encoding/json reads from its Data (checkResource); and DecodeEvent accepts what
// is encoded from the event, by encoding/json (how this package writes events) and by the emulator's
// Jackson-style framing (how Cattle writes them), giving back the same event. Plain `go test` runs the seeds
// only; scripts/fuzz runs it for a while.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []string{
		// cattle-protocol.md §1.12 (a), (b), (c) and the replies.
		`{"id":"3f1c0c9e-6a4b-4a41-9d41-5d8e2a0f7b11","name":"ping","resourceId":null,"resourceType":null,
		 "data":{"options":{},"resources":[]},"time":1501234567890}`,
		`{"id":"a9d0f7c2-2c8b-4e0e-8b7e-0b6f0c3f2d11","name":"resource.change","resourceId":"1s12","resourceType":"service",
		 "time":1501234569000,
		 "data":{"resource":{"id":"1s12","type":"service","baseType":"service","name":"web","kind":"service",
		   "accountId":"1a5","stackId":"1st3","state":"upgrading","transitioning":"yes",
		   "transitioningMessage":"In Progress","transitioningProgress":null,"healthState":"healthy",
		   "scale":2,"currentScale":2,"instanceIds":["1i20","1i21"],
		   "launchConfig":{"type":"launchConfig","imageUuid":"docker:nginx:1.13","labels":{"app":"web"},"version":"b1d2"},
		   "secondaryLaunchConfigs":[],"created":"2017-07-28T09:10:11Z","createdTS":1501233011000,"removed":null,
		   "links":{"self":"http://rancher:8080/v2-beta/projects/1a5/services/1s12"},
		   "actions":{"rollback":"http://rancher:8080/v2-beta/projects/1a5/services/1s12/?action=rollback"}}}}`,
		`{"id":"190ad7e5-fa1d-4e28-97a2-b9b1bad3f6a8","name":"physicalhost.create;handler=goMachineService",
		 "replyTo":"reply.7884953948567153747","resourceId":"1ph1","resourceType":"physicalHost",
		 "time":1419876894816,"timeoutMillis":15000,
		 "data":{"kind":"dockerMachine","driver":"virtualbox","name":"test","options":{}},
		 "context":{"processName":"physicalhost.create","prettyResource":"physicalHost:1"}}`,
		`{"name":"reply.7884953948567153747","previousIds":["190ad7e5-fa1d-4e28-97a2-b9b1bad3f6a8"],"transitioning":"yes",
		 "transitioningMessage":"Downloading machine driver"}`,
		`{"name":"reply.7884953948567153747","previousIds":"190ad7e5","transitioning":"error","transitioningMessage":"failed"}`,
		`{"id":"r1","name":"reply.1","previousIds":["a",null,""],"previousNames":["physicalhost.create"],"publisher":"p",
		 "resourceId":"1h1","resourceType":"host","data":[1,"x"],"context":{"a":{"b":null}},"time":-5,"timeoutMillis":0}`,
		// The older framing with every member written, null when empty (§1.5).
		`{"id":"e2","name":"ping","replyTo":null,"resourceId":null,"resourceType":null,"previousIds":null,
		 "previousNames":null,"data":null,"time":null,"timeoutMillis":null,"transitioning":null,
		 "transitioningMessage":null,"transitioningProgress":null,"transitioningInternalMessage":null,
		 "publisher":null,"context":null}`,
		`{"id":"e7","name":"ping","time":1.5012345678905E12,"timeoutMillis":15000.0,"previousIds":[null,"a"]}`,
		"\r\n  {\"id\":\"e8\",\"name\":\"logout\"}\n\n",
		// Data whose resource member only encoding/json's matching rules find (Event.Resource must agree).
		`{"name":"resource.change","data":{"a":"}\"{","Resource":{"id":"1"},"re\u017fource":[1],"b":{"resource":2}}}`,
		`{"name":"resource.change","data":{"resource":{"id":"1"},"RESOURCE":null},"Data":{"resource":3}}`,
		``, " \n", `[]`, `{}`, `{"name":""}`, `{"name":"x","time":"soon"}`, `{"name":"x","time":1e300}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		ev, err := DecodeEvent(frame)
		if err != nil {
			checkDecodeError(t, frame, err)
			if !reflect.DeepEqual(ev, Event{}) {
				t.Fatalf("a refused frame gave %+v", ev)
			}
			return
		}
		if ev.Name == "" {
			t.Fatalf("accepted an event without a name: %+v", ev)
		}
		if want, ok := readCanonicalFrame(t, frame); ok {
			checkRedecode(t, "the frame itself", want, frame)
		}
		var viaUnmarshal Event
		if err := json.Unmarshal(frame, &viaUnmarshal); err != nil {
			t.Fatalf("DecodeEvent accepted the frame, json.Unmarshal into Event refused it: %v", err)
		}
		if !reflect.DeepEqual(ev, viaUnmarshal) {
			t.Fatalf("DecodeEvent and Event.UnmarshalJSON differ:\n%#v\n%#v", ev, viaUnmarshal)
		}
		checkResource(t, ev)

		ours, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("a decoded event does not encode: %v (%#v)", err, ev)
		}
		checkRedecode(t, "encoding/json", ev, ours)

		hub := eventhub.Event{ID: ev.ID, Name: ev.Name, ReplyTo: ev.ReplyTo, ResourceID: ev.ResourceID,
			ResourceType: ev.ResourceType, PreviousIDs: ev.PreviousIDs, PreviousNames: ev.PreviousNames,
			Data: ev.Data, Time: ev.Time, TimeoutMillis: ev.TimeoutMillis, Transitioning: ev.Transitioning,
			TransitioningMessage: ev.TransitioningMessage, Publisher: ev.Publisher}
		want := ev
		// The emulator's context is a JSON object (numbers kept as written); anything else is left out of the
		// comparison.
		d := json.NewDecoder(bytes.NewReader(ev.Context))
		d.UseNumber()
		if err := d.Decode(&hub.Context); err != nil || len(hub.Context) == 0 {
			hub.Context, want.Context = nil, nil
		}
		cattle, err := hub.MarshalJSON()
		if err != nil {
			t.Fatalf("the emulator cannot frame a decoded event: %v (%#v)", err, ev)
		}
		checkRedecode(t, "the emulator's framing", want, cattle)
	})
}

// FuzzObjectMember checks the member scan DecodeEvent runs over data against encoding/json on any valid JSON
// value, and that it does not panic on input that is not JSON (it never gets any: the frame's decode validates
// data first, so there its answer does not matter).
func FuzzObjectMember(f *testing.F) {
	for _, s := range []string{
		`{"resource":{"id":"1s1"}}`, `{}`, ` { } `, `{"resource":null}`, `{"a":"}","resource":[{"b":"]"}]}`,
		`{"Resource":1,"reſource":2,"RESOURCE":3}`, `{"res\u006furce":"x\\\"y"}`, `{"resource":1,"resource":null}`,
		`{"a":{"resource":1}}`, `[1,{"resource":2}]`, `"resource"`, `null`, `true`, `-0.5e-3`,
		`{"resource":`, `{"resource":1,}`, `{"resource" 1}`, `{"a":"\"}`, `{resource:1}`, `{"a":1 "resource":2}`,
		"{\"r\xffsource\":1}", `{"resource":tru}`, `{"a":[}`, `{"a":1}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := objectMember(data, resourceMember)
		if !json.Valid(data) {
			return // no panic is all that is asked
		}
		var want resourceData
		err := json.Unmarshal(data, &want)
		if ok != (err == nil) {
			if err != nil || !bytes.Equal(bytes.TrimSpace(data), jsonNull) {
				t.Fatalf("objectMember(%q) ok = %v, encoding/json into resourceData: %v", data, ok, err)
			}
			return // encoding/json accepts null for a struct and leaves it zero; DecodeEvent keeps null data as nil
		}
		if ok && !bytes.Equal(got, want.Resource) {
			t.Fatalf("objectMember(%q) = %q, encoding/json reads %q", data, got, want.Resource)
		}
	})
}

// checkDecodeError checks the type of a DecodeEvent refusal.
func checkDecodeError(t *testing.T, frame []byte, err error) {
	t.Helper()
	if len(bytes.TrimSpace(frame)) == 0 {
		if !errors.Is(err, ErrEmptyFrame) {
			t.Fatalf("blank frame: error %v, want ErrEmptyFrame", err)
		}
		return
	}
	var invalid *InvalidFrameError
	if !errors.As(err, &invalid) {
		t.Fatalf("error %T (%v) is not an *InvalidFrameError", err, err)
	}
	if invalid.Len != len(frame) || invalid.Err == nil {
		t.Fatalf("InvalidFrameError{Len: %d, Err: %v} for a frame of %d bytes", invalid.Len, invalid.Err, len(frame))
	}
}

// checkRedecode decodes frame, the encoding of want by encoder, and compares; Data and Context are compared as
// JSON values, since encoders may compact and escape them.
func checkRedecode(t *testing.T, encoder string, want Event, frame []byte) {
	t.Helper()
	got, err := DecodeEvent(frame)
	if err != nil {
		t.Fatalf("DecodeEvent refused what %s wrote: %v\n%s", encoder, err, frame)
	}
	if !sameJSON(t, got.Data, want.Data) || !sameJSON(t, got.Context, want.Context) {
		t.Fatalf("data or context changed through %s:\n%s\n%s\nwas\n%s\n%s", encoder, got.Data, got.Context,
			want.Data, want.Context)
	}
	got.Data, got.Context, want.Data, want.Context = nil, nil, nil, nil
	if !reflect.DeepEqual(exported(got), exported(want)) {
		t.Fatalf("the event changed through %s:\n got %#v\nwant %#v\nframe %s", encoder, got, want, frame)
	}
}

// sameJSON compares two raw values as JSON (numbers by their text); nil only equals nil.
func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return reflect.DeepEqual(jsonValue(t, a), jsonValue(t, b))
}

func jsonValue(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("raw value %q is not JSON: %v", raw, err)
	}
	return v
}

// eventMembers are the members DecodeEvent reads.
var eventMembers = []string{"id", "name", "replyTo", "resourceId", "resourceType", "previousIds", "previousNames",
	"data", "time", "timeoutMillis", "transitioning", "transitioningMessage", "publisher", "context"}

// readCanonicalFrame is an independent reading of a frame whose members are written once each, under their
// exact names, with integer times: what the event must hold. ok is false for any other frame (duplicate or
// case-folded names, fractional times), which encoding/json's matching rules decide.
func readCanonicalFrame(t *testing.T, frame []byte) (Event, bool) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(frame))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return Event{}, false
	}
	members := make(map[string]json.RawMessage)
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return Event{}, false
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return Event{}, false
		}
		if _, dup := members[key]; dup {
			return Event{}, false
		}
		for _, m := range eventMembers {
			if key != m && strings.EqualFold(key, m) {
				return Event{}, false
			}
		}
		members[key] = v
	}
	str := func(name string) string {
		var s string
		_ = json.Unmarshal(members[name], &s)
		return s
	}
	list := func(name string) []string {
		var one string
		if json.Unmarshal(members[name], &one) == nil {
			if one == "" {
				return nil
			}
			return []string{one}
		}
		var items []*string
		_ = json.Unmarshal(members[name], &items)
		var out []string
		for _, s := range items {
			if s != nil {
				out = append(out, *s)
			}
		}
		return out
	}
	num := func(name string) (int64, bool) {
		raw, present := members[name]
		if !present || string(raw) == "null" {
			return 0, true
		}
		n, err := strconv.ParseInt(string(raw), 10, 64)
		return n, err == nil
	}
	value := func(name string) json.RawMessage {
		if raw := members[name]; raw != nil && string(raw) != "null" {
			return raw
		}
		return nil
	}
	ev := Event{ID: str("id"), Name: str("name"), ReplyTo: str("replyTo"), ResourceID: str("resourceId"),
		ResourceType: str("resourceType"), PreviousIDs: list("previousIds"), PreviousNames: list("previousNames"),
		Data: value("data"), Transitioning: str("transitioning"), TransitioningMessage: str("transitioningMessage"),
		Publisher: str("publisher"), Context: value("context")}
	var okTime, okTimeout bool
	ev.Time, okTime = num("time")
	ev.TimeoutMillis, okTimeout = num("timeoutMillis")
	return ev, okTime && okTimeout
}
