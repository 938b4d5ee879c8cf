package eventhub

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strings"
)

// Reply is one accepted POST /publish body (protocol §1.8). For replies,
// Name is the request's replyTo and PreviousIDs[0] the request's id.
type Reply struct {
	Name                         string          `json:"name"`
	PreviousIDs                  []string        `json:"previousIds,omitempty"`
	Data                         json.RawMessage `json:"data,omitempty"`
	Transitioning                string          `json:"transitioning,omitempty"`
	TransitioningMessage         string          `json:"transitioningMessage,omitempty"`
	TransitioningInternalMessage string          `json:"transitioningInternalMessage,omitempty"`
	TransitioningProgress        *int            `json:"transitioningProgress,omitempty"`
	ResourceID                   string          `json:"resourceId,omitempty"`
	ResourceType                 string          `json:"resourceType,omitempty"`
	Publisher                    string          `json:"publisher,omitempty"`
	ID                           string          `json:"id,omitempty"`
	// Time is epoch milliseconds as sent by the publisher (0 when absent).
	Time int64 `json:"time,omitempty"`
}

// Transitioning values on replies.
const (
	TransitioningYes   = "yes"
	TransitioningNo    = "no"
	TransitioningError = "error"
)

// decodePublish parses a publish body the way Cattle's API layer does: an
// empty body is an empty object, unknown fields are ignored, only name is
// required, previousIds may be absent or null, and a field of the wrong JSON
// type is a 422 InvalidFormat naming it.
func decodePublish(body []byte) (Reply, error) {
	var r Reply
	fields := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
			return r, &PublishError{Status: http.StatusUnprocessableEntity, Code: CodeInvalidBodyContent,
				Message: "body must be a JSON object"}
		}
	}
	d := fieldDecoder{fields: fields}
	r.Name = d.str("name")
	r.ID = d.str("id")
	r.Transitioning = d.str("transitioning")
	r.TransitioningMessage = d.str("transitioningMessage")
	r.TransitioningInternalMessage = d.str("transitioningInternalMessage")
	r.ResourceID = d.str("resourceId")
	r.ResourceType = d.str("resourceType")
	r.Publisher = d.str("publisher")
	r.PreviousIDs = d.strs("previousIds")
	r.Data = d.object("data")
	r.Time = d.int64("time")
	if p, ok := d.optInt("transitioningProgress"); ok {
		r.TransitioningProgress = &p
	}
	if d.err != nil {
		return Reply{}, d.err
	}
	if r.Name == "" {
		return Reply{}, &PublishError{Status: http.StatusUnprocessableEntity, Code: CodeMissingRequired,
			Message: "name is required", FieldName: "name"}
	}
	return r, nil
}

// fieldDecoder decodes typed fields from a JSON object, keeping the first
// type error.
type fieldDecoder struct {
	fields map[string]json.RawMessage
	err    error
}

// raw returns the field's JSON, or nil when it is absent or null.
func (d *fieldDecoder) raw(key string) json.RawMessage {
	v, ok := d.fields[key]
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return nil
	}
	return v
}

func (d *fieldDecoder) fail(key, want string) {
	if d.err == nil {
		d.err = &PublishError{Status: http.StatusUnprocessableEntity, Code: CodeInvalidFormat,
			Message: key + " must be " + want, FieldName: key}
	}
}

func (d *fieldDecoder) str(key string) string {
	v := d.raw(key)
	if v == nil {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		d.fail(key, "a string")
	}
	return s
}

func (d *fieldDecoder) strs(key string) []string {
	v := d.raw(key)
	if v == nil {
		return nil
	}
	var ss []string
	if err := json.Unmarshal(v, &ss); err != nil {
		d.fail(key, "an array of strings")
		return nil
	}
	return ss
}

func (d *fieldDecoder) object(key string) json.RawMessage {
	v := d.raw(key)
	if v == nil {
		return nil
	}
	if !strings.HasPrefix(string(bytes.TrimSpace(v)), "{") {
		d.fail(key, "an object")
		return nil
	}
	return append(json.RawMessage(nil), v...)
}

func (d *fieldDecoder) number(key string) (float64, bool) {
	v := d.raw(key)
	if v == nil {
		return 0, false
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		d.fail(key, "a number")
		return 0, false
	}
	return f, true
}

func (d *fieldDecoder) int64(key string) int64 {
	f, ok := d.number(key)
	if !ok {
		return 0
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		d.fail(key, "an integer")
		return 0
	}
	return int64(f)
}

func (d *fieldDecoder) optInt(key string) (int, bool) {
	f, ok := d.number(key)
	if !ok {
		return 0, false
	}
	if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		d.fail(key, "an integer")
		return 0, false
	}
	return int(f), true
}
