package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// PingEventName is the name of Cattle's application-level keep-alive event.
// API subscriptions receive it every few seconds without a replyTo; it is
// liveness only and is never answered.
const PingEventName = "ping"

// ErrEmptyFrame is returned by DecodeEvent for a frame that holds only
// whitespace. Cattle clients skip such frames; they are not an error of the
// stream.
var ErrEmptyFrame = errors.New("empty event frame")

// InvalidFrameError is returned by DecodeEvent for a frame that is not a
// usable Cattle event. Len is the frame length in bytes; the frame content is
// deliberately not kept, so the error can be logged without leaking payloads.
type InvalidFrameError struct {
	Len int
	Err error
}

// Error implements error.
func (e *InvalidFrameError) Error() string {
	return fmt.Sprintf("invalid event frame (%d bytes): %v", e.Len, e.Err)
}

// Unwrap returns the decoding error.
func (e *InvalidFrameError) Unwrap() error { return e.Err }

// Event is one Cattle event as written on the subscribe websocket.
//
// Decoding accepts both framings Cattle has used: the current one, which
// omits null or empty members, and the older one, which writes every member
// with an explicit null. Absent and null decode to the zero value.
type Event struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	ReplyTo      string `json:"replyTo,omitempty"`
	ResourceID   string `json:"resourceId,omitempty"`
	ResourceType string `json:"resourceType,omitempty"`
	// PreviousIDs is decoded from an array, a single string (old
	// event-subscriber framing), null or absence.
	PreviousIDs   []string `json:"previousIds,omitempty"`
	PreviousNames []string `json:"previousNames,omitempty"`
	// Data is the raw payload; nil when absent or null. For resource.change
	// it is {"resource": {...}}; Resource gives that member without
	// decoding Data again.
	Data json.RawMessage `json:"data,omitempty"`
	// Time is epoch milliseconds (fractional values are rounded).
	Time int64 `json:"time,omitempty"`
	// TimeoutMillis is how long Cattle waits for a reply to a request event.
	TimeoutMillis        int64  `json:"timeoutMillis,omitempty"`
	Transitioning        string `json:"transitioning,omitempty"`
	TransitioningMessage string `json:"transitioningMessage,omitempty"`
	Publisher            string `json:"publisher,omitempty"`
	// Context is Cattle's debugging context object; nil when absent or null.
	Context json.RawMessage `json:"context,omitempty"`

	// data is what decoding the frame found in Data (see Resource); zero
	// for an event built in code.
	data decodedData
}

// BaseName returns the event name with any ";key=value" qualifiers removed,
// e.g. "physicalhost.create;handler=x" gives "physicalhost.create".
func (e Event) BaseName() string { return BaseName(e.Name) }

// Timestamp returns Time as a time.Time; the zero time when Time is unset.
func (e Event) Timestamp() time.Time {
	if e.Time == 0 {
		return time.Time{}
	}
	return time.UnixMilli(e.Time)
}

// Timeout returns TimeoutMillis as a duration; zero when unset.
func (e Event) Timeout() time.Duration {
	return time.Duration(e.TimeoutMillis) * time.Millisecond
}

// BaseName strips Cattle's ";key=value" qualifiers from an event name.
func BaseName(name string) string {
	if i := strings.IndexByte(name, ';'); i >= 0 {
		return name[:i]
	}
	return name
}

// wireEvent mirrors Event with tolerant member types; it exists so Event can
// keep plain field types for its users.
type wireEvent struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ReplyTo              string          `json:"replyTo"`
	ResourceID           string          `json:"resourceId"`
	ResourceType         string          `json:"resourceType"`
	PreviousIDs          stringList      `json:"previousIds"`
	PreviousNames        stringList      `json:"previousNames"`
	Data                 decodedData     `json:"data"`
	Time                 millis          `json:"time"`
	TimeoutMillis        millis          `json:"timeoutMillis"`
	Transitioning        string          `json:"transitioning"`
	TransitioningMessage string          `json:"transitioningMessage"`
	Publisher            string          `json:"publisher"`
	Context              json.RawMessage `json:"context"`
}

// UnmarshalJSON implements json.Unmarshaler with the tolerant rules described
// on Event.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w wireEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	*e = w.event()
	return nil
}

func (w *wireEvent) event() Event {
	return Event{
		ID:                   w.ID,
		Name:                 w.Name,
		ReplyTo:              w.ReplyTo,
		ResourceID:           w.ResourceID,
		ResourceType:         w.ResourceType,
		PreviousIDs:          w.PreviousIDs,
		PreviousNames:        w.PreviousNames,
		Data:                 w.Data.raw,
		Time:                 int64(w.Time),
		TimeoutMillis:        int64(w.TimeoutMillis),
		Transitioning:        w.Transitioning,
		TransitioningMessage: w.TransitioningMessage,
		Publisher:            w.Publisher,
		Context:              nullToNil(w.Context),
		data:                 w.Data,
	}
}

// DecodeEvent decodes one websocket frame. Surrounding whitespace is
// trimmed; a blank frame yields ErrEmptyFrame; anything that is not a JSON
// object with a name yields an *InvalidFrameError. Data is kept raw, and
// its "resource" member is located on the way (see Event.Resource): the
// frame's single validation by encoding/json covers it.
func DecodeEvent(frame []byte) (Event, error) {
	trimmed := bytes.TrimSpace(frame)
	if len(trimmed) == 0 {
		return Event{}, ErrEmptyFrame
	}
	if trimmed[0] != '{' {
		return Event{}, &InvalidFrameError{Len: len(frame), Err: errors.New("frame is not a json object")}
	}
	// Decoding straight into wireEvent saves the second pass that
	// json.Unmarshal into *Event (via its UnmarshalJSON) would make.
	var w wireEvent
	if err := json.Unmarshal(trimmed, &w); err != nil {
		return Event{}, &InvalidFrameError{Len: len(frame), Err: err}
	}
	ev := w.event()
	if ev.Name == "" {
		return Event{}, &InvalidFrameError{Len: len(frame), Err: errors.New("event has no name")}
	}
	return ev, nil
}

var jsonNull = []byte("null")

func nullToNil(m json.RawMessage) json.RawMessage {
	if bytes.Equal(bytes.TrimSpace(m), jsonNull) {
		return nil
	}
	return m
}

// stringList decodes an array of strings, a single string, or null.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, jsonNull):
		*l = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("decode string list: %w", err)
		}
		if s == "" {
			*l = nil
		} else {
			*l = stringList{s}
		}
		return nil
	}
	var items []*string
	if err := json.Unmarshal(b, &items); err != nil {
		return fmt.Errorf("decode string list: %w", err)
	}
	out := make(stringList, 0, len(items))
	for _, s := range items {
		if s != nil {
			out = append(out, *s)
		}
	}
	if len(out) == 0 {
		out = nil
	}
	*l = out
	return nil
}

// millis decodes an epoch-millisecond (or millisecond duration) number that
// may have been written as an integer or a float; null gives zero.
type millis int64

func (m *millis) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		*m = 0
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*m = millis(n)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("decode milliseconds %q: %w", s, err)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f >= math.MaxInt64 || f <= math.MinInt64 {
		return fmt.Errorf("decode milliseconds %q: out of range", s)
	}
	*m = millis(math.Round(f))
	return nil
}
