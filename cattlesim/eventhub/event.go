package eventhub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Event is one Cattle event as written to subscribers. Its JSON form follows
// Cattle's Jackson rules (protocol §1.5): id, name, resourceId, resourceType
// and data are always written (null when empty); every other field is omitted
// when empty. The struct tags make the type usable for decoding too.
type Event struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	ReplyTo      string          `json:"replyTo,omitempty"`
	ResourceID   string          `json:"resourceId"`
	ResourceType string          `json:"resourceType"`
	PreviousIDs  []string        `json:"previousIds,omitempty"`
	Data         json.RawMessage `json:"data"`
	// Time is epoch milliseconds.
	Time                         int64  `json:"time,omitempty"`
	TimeoutMillis                int64  `json:"timeoutMillis,omitempty"`
	Transitioning                string `json:"transitioning,omitempty"`
	TransitioningMessage         string `json:"transitioningMessage,omitempty"`
	TransitioningInternalMessage string `json:"transitioningInternalMessage,omitempty"`
	TransitioningProgress        *int   `json:"transitioningProgress,omitempty"`
	Publisher                    string `json:"publisher,omitempty"`
	// PreviousNames appears on server-made replies; rarely set.
	PreviousNames []string       `json:"previousNames,omitempty"`
	Context       map[string]any `json:"context,omitempty"`
}

// MarshalJSON writes the event with Cattle's Jackson rules; see Event.
func (e Event) MarshalJSON() ([]byte, error) {
	return encodeEvent(&e, false)
}

// nullJSON is the literal written for absent values.
const nullJSON = "null"

// encodeEvent renders ev as one frame. With explicitNulls every field is
// written, empty ones as null, the way pre-1.6 servers framed events.
func encodeEvent(ev *Event, explicitNulls bool) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(128 + len(ev.Data))
	b.WriteByte('{')
	first := true
	put := func(key string, raw []byte) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteByte('"')
		b.WriteString(key)
		b.WriteString(`":`)
		b.Write(raw)
	}
	// field writes raw, or null when raw is nil and the field is always
	// written (Jackson's mandatory five) or nulls are explicit.
	field := func(key string, raw []byte, always bool) {
		switch {
		case raw != nil:
			put(key, raw)
		case always || explicitNulls:
			put(key, []byte(nullJSON))
		}
	}
	str := func(s string) []byte {
		if s == "" {
			return nil
		}
		q, _ := json.Marshal(s) // a Go string always marshals
		return q
	}
	strs := func(ss []string) []byte {
		if len(ss) == 0 {
			return nil
		}
		q, _ := json.Marshal(ss)
		return q
	}
	num := func(n int64) []byte {
		if n == 0 {
			return nil
		}
		return fmt.Appendf(nil, "%d", n)
	}

	var data []byte
	if len(bytes.TrimSpace(ev.Data)) > 0 {
		if !json.Valid(ev.Data) {
			return nil, fmt.Errorf("encode event %q: data is not valid json", ev.Name)
		}
		data = ev.Data
	}
	var progress []byte
	if ev.TransitioningProgress != nil {
		progress = fmt.Appendf(nil, "%d", *ev.TransitioningProgress)
	}
	var ctxJSON []byte
	if len(ev.Context) > 0 {
		c, err := json.Marshal(ev.Context)
		if err != nil {
			return nil, fmt.Errorf("encode event %q context: %w", ev.Name, err)
		}
		ctxJSON = c
	}

	field("id", str(ev.ID), true)
	field("name", str(ev.Name), true)
	field("replyTo", str(ev.ReplyTo), false)
	field("resourceId", str(ev.ResourceID), true)
	field("resourceType", str(ev.ResourceType), true)
	field("previousIds", strs(ev.PreviousIDs), false)
	field("previousNames", strs(ev.PreviousNames), false)
	field("publisher", str(ev.Publisher), false)
	field("transitioning", str(ev.Transitioning), false)
	field("transitioningMessage", str(ev.TransitioningMessage), false)
	field("transitioningInternalMessage", str(ev.TransitioningInternalMessage), false)
	field("transitioningProgress", progress, false)
	field("data", data, true)
	field("time", num(ev.Time), false)
	field("timeoutMillis", num(ev.TimeoutMillis), false)
	field("context", ctxJSON, false)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// pingData is the payload of API subscription pings (Cattle PingData).
const pingData = `{"options":{},"resources":[]}`

// logoutFrame is written verbatim before a disconnect closes the socket.
const logoutFrame = `{"name":"logout"}`

// newPing builds a fresh application ping; API pings never carry replyTo.
func newPing(now time.Time) Event {
	return Event{ID: newUUID(), Name: "ping", Data: json.RawMessage(pingData), Time: now.UnixMilli()}
}
