package cattle

import (
	"bytes"
	"encoding/json"
	"maps"
)

// Labels is a string map that decodes leniently: Cattle declares labels as
// map[string]string, but values written by other tools may be numbers,
// booleans, objects or null. Those are stringified (5 -> "5", true -> "true",
// null -> "", objects as compact JSON) instead of failing the whole resource,
// and a labels member that is not an object decodes as no labels.
type Labels map[string]string

// UnmarshalJSON implements the lenient decoding described on Labels.
func (l *Labels) UnmarshalJSON(data []byte) error {
	// Nearly always every value is a string: one decode straight into the map, instead of a RawMessage per
	// value decoded again one by one (a null value becomes "" either way).
	var plain map[string]string
	if json.Unmarshal(data, &plain) == nil {
		*l = plain
		return nil
	}
	*l = lenientLabels(data)
	return nil
}

// lenientLabels decodes labels whose values are not all strings, value by value; nil when data is not an
// object (odd labels must not hide the whole resource).
func lenientLabels(data []byte) Labels {
	var raw map[string]json.RawMessage
	if json.Unmarshal(data, &raw) != nil || raw == nil {
		return nil
	}
	out := make(Labels, len(raw))
	for k, v := range raw {
		out[k] = rawToString(v)
	}
	return out
}

// Clone returns an independent copy (nil stays nil).
func (l Labels) Clone() Labels {
	return maps.Clone(l)
}

// rawToString stringifies a JSON value: strings unquoted, null or absent as
// "", anything else as its compact JSON text.
func rawToString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s
		}
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}
