package events

import (
	"bytes"
	"encoding/json"
)

// Resource returns Data's "resource" member (where resource.change carries the changed object's rendering)
// as DecodeEvent found it while decoding the frame, so a consumer needs no second encoding/json pass over Data:
// the frame's decode already validated it. resource is nil when Data is an object without the member, or with
// null. ok is false when the member was not looked for: Data is absent or not a JSON object, or the event was
// not decoded from a frame (built in code, or Data replaced since); the caller then decodes Data itself.
// "Replaced" is judged by identity (same backing bytes, same length): Data rewritten in place with bytes of the
// same length would still report the old member, so code that edits Data must assign a new slice.
func (e Event) Resource() (resource json.RawMessage, ok bool) {
	if !e.data.object || !sameSlice(e.Data, e.data.raw) {
		return nil, false
	}
	return e.data.resource, true
}

// sameSlice reports whether a and b are the same non-empty bytes in memory, not merely equal ones.
func sameSlice(a, b []byte) bool {
	return len(a) > 0 && len(a) == len(b) && &a[0] == &b[0]
}

// decodedData is the data member of a decoded frame, with its "resource" member located on the way.
type decodedData struct {
	raw      json.RawMessage // the member as decoded (nil when absent or null); Event.Data is this slice
	resource json.RawMessage // raw's "resource" member, a sub-slice of raw; nil when absent or null
	object   bool            // raw is a JSON object, so resource was looked for
}

// UnmarshalJSON implements json.Unmarshaler. encoding/json calls it only with a value it has already
// validated as part of the whole frame, which is what lets objectMember skim data instead of decoding it
// again. It never fails: if the member cannot be found, Event.Resource reports it was not looked for.
func (d *decodedData) UnmarshalJSON(b []byte) error {
	*d = decodedData{}
	if bytes.Equal(bytes.TrimSpace(b), jsonNull) {
		return nil
	}
	// b is part of the decoder's input, the caller's frame: keep a copy, as json.RawMessage does.
	d.raw = append(json.RawMessage(nil), b...)
	if v, ok := objectMember(d.raw, resourceMember); ok {
		d.resource, d.object = nullToNil(v), true
	}
	return nil
}

// resourceMember is the member of resource.change data that carries the object.
const resourceMember = "resource"

// objectMember returns the value of the member of the JSON object obj that encoding/json would decode into a
// struct field tagged name (a single field, so: any key equal to name under Unicode case folding, after
// unescaping; the last such member wins; nil when there is none). ok is false when obj is not an object.
//
// obj must be valid JSON. The scan only follows strings and brackets to step over the values; it does not
// check them, which is the point: the frame's decode has checked them already. On input that is not JSON its
// answer means nothing, but it stays within obj and does not panic.
func objectMember(obj []byte, name string) (value []byte, ok bool) {
	i := skipSpace(obj, 0)
	if i == len(obj) || obj[i] != '{' {
		return nil, false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil, true
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return nil, false
		}
		keyEnd, escaped := skipString(obj, i)
		if keyEnd < 0 {
			return nil, false
		}
		key := obj[i:keyEnd]
		i = skipSpace(obj, keyEnd)
		if i == len(obj) || obj[i] != ':' {
			return nil, false
		}
		i = skipSpace(obj, i+1)
		end := skipValue(obj, i)
		if end < 0 {
			return nil, false
		}
		if keyMatches(key, escaped, name) {
			value = obj[i:end]
		}
		i = skipSpace(obj, end)
		if i == len(obj) {
			return nil, false
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return value, true
		default:
			return nil, false
		}
	}
	return nil, false
}

// keyMatches reports whether the quoted key (quotes included) names the field name the way encoding/json
// matches keys to fields: by bytes.EqualFold of the unescaped key (its foldName comparison is the same).
func keyMatches(quoted []byte, escaped bool, name string) bool {
	key := quoted[1 : len(quoted)-1]
	if escaped {
		// Rare (Cattle writes plain keys); unescape exactly as encoding/json does.
		var s string
		if json.Unmarshal(quoted, &s) != nil {
			return false
		}
		key = []byte(s)
	}
	return bytes.EqualFold(key, []byte(name))
}

// skipSpace returns the index of the first byte at or after i that is not JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the string that starts with the quote at b[i] (-1 if it does not
// end), and whether it holds an escape.
func skipString(b []byte, i int) (end int, escaped bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++ // the escaped byte cannot end the string; a \u escape's hex digits cannot either
		case '"':
			return j + 1, escaped
		}
	}
	return -1, escaped
}

// skipValue returns the index just past the value that starts at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := skipString(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := skipString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	// A number or a literal (true, false, null): it runs to the next delimiter.
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if j == i {
				return -1
			}
			return j
		}
		j++
	}
	if j == i {
		return -1
	}
	return j
}
