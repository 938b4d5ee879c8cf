package eventhub

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestHandlePublishValidation(t *testing.T) {
	tests := []struct {
		name       string
		raw        bool
		body       string
		wantStatus int // 0 = accepted
		wantCode   string
		wantField  string
	}{
		{"reply from qualified key", false, `{"name":"reply.1","previousIds":["a"]}`, 0, "", ""},
		{"minimal reply", false, `{"name":"reply.1"}`, 0, "", ""},
		{"previousIds null", false, `{"name":"reply.1","previousIds":null,"data":null}`, 0, "", ""},
		{"full reply", true, `{"name":"reply.2","previousIds":["a","b"],"data":{"x":1},"transitioning":"yes",` +
			`"transitioningMessage":"m","transitioningInternalMessage":"i","transitioningProgress":50,` +
			`"resourceId":"1h1","resourceType":"host","publisher":"me","time":1501234567890,"id":"p1","unknown":true}`, 0, "", ""},
		{"raw may publish any name", true, `{"name":"service.foo"}`, 0, "", ""},
		{"qualified non-reply name", false, `{"name":"service.foo"}`, http.StatusForbidden, CodeForbidden, ""},
		{"qualified name only prefixed reply", false, `{"name":"replyx"}`, http.StatusForbidden, CodeForbidden, ""},
		{"missing name", true, `{"previousIds":["a"]}`, http.StatusUnprocessableEntity, CodeMissingRequired, "name"},
		{"empty name", true, `{"name":""}`, http.StatusUnprocessableEntity, CodeMissingRequired, "name"},
		{"null name", true, `{"name":null}`, http.StatusUnprocessableEntity, CodeMissingRequired, "name"},
		{"empty body", true, ``, http.StatusUnprocessableEntity, CodeMissingRequired, "name"},
		{"malformed json", true, `{"name":`, http.StatusUnprocessableEntity, CodeInvalidBodyContent, ""},
		{"not an object", true, `["reply.1"]`, http.StatusUnprocessableEntity, CodeInvalidBodyContent, ""},
		{"json null body", true, `null`, http.StatusUnprocessableEntity, CodeInvalidBodyContent, ""},
		{"name not a string", true, `{"name":5}`, http.StatusUnprocessableEntity, CodeInvalidFormat, "name"},
		{"previousIds a string", true, `{"name":"reply.1","previousIds":"a"}`, http.StatusUnprocessableEntity, CodeInvalidFormat, "previousIds"},
		{"data not an object", true, `{"name":"reply.1","data":[1]}`, http.StatusUnprocessableEntity, CodeInvalidFormat, "data"},
		{"progress not an integer", true, `{"name":"reply.1","transitioningProgress":1.5}`, http.StatusUnprocessableEntity, CodeInvalidFormat, "transitioningProgress"},
		{"time not a number", true, `{"name":"reply.1","time":"now"}`, http.StatusUnprocessableEntity, CodeInvalidFormat, "time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(Options{})
			err := h.HandlePublish(tt.raw, []byte(tt.body))
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if n := len(h.Published()); n != 1 {
					t.Fatalf("recorded %d publishes", n)
				}
				return
			}
			var pe *PublishError
			if !errors.As(err, &pe) {
				t.Fatalf("want *PublishError, got %v", err)
			}
			if pe.Status != tt.wantStatus || pe.Code != tt.wantCode || pe.FieldName != tt.wantField {
				t.Fatalf("got %d %s %q, want %d %s %q", pe.Status, pe.Code, pe.FieldName, tt.wantStatus, tt.wantCode, tt.wantField)
			}
			if pe.Message == "" {
				t.Fatal("error has no message")
			}
			if n := len(h.Published()); n != 0 {
				t.Fatalf("rejected publish was recorded")
			}
		})
	}
}

func TestHandlePublishDecodesFields(t *testing.T) {
	h := New(Options{})
	body := `{"name":"reply.2","previousIds":["a","b"],"data":{"x":1},"transitioning":"error",` +
		`"transitioningMessage":"m","transitioningInternalMessage":"i","transitioningProgress":50,` +
		`"resourceId":"1h1","resourceType":"host","publisher":"me","time":1501234567890,"id":"p1"}`
	if err := h.HandlePublish(true, []byte(body)); err != nil {
		t.Fatal(err)
	}
	r := h.Published()[0]
	if r.Name != "reply.2" || len(r.PreviousIDs) != 2 || string(r.Data) != `{"x":1}` || r.Transitioning != "error" ||
		r.TransitioningMessage != "m" || r.TransitioningInternalMessage != "i" || r.TransitioningProgress == nil ||
		*r.TransitioningProgress != 50 || r.ResourceID != "1h1" || r.ResourceType != "host" || r.Publisher != "me" ||
		r.Time != 1501234567890 || r.ID != "p1" {
		t.Fatalf("decoded %+v", r)
	}
}

func TestPublishedIsBounded(t *testing.T) {
	h := New(Options{PublishedLimit: 3})
	for i := 1; i <= 5; i++ {
		if err := h.HandlePublish(true, fmt.Appendf(nil, `{"name":"reply.%d"}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	got := h.Published()
	if len(got) != 3 || got[0].Name != "reply.3" || got[1].Name != "reply.4" || got[2].Name != "reply.5" {
		t.Fatalf("published %+v, want the last three oldest first", got)
	}
}
