package cattlesim

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Object is one stored Cattle resource. Identity, ownership and lifecycle live in typed fields; every other schema
// field lives in Fields as JSON-compatible values (string, float64, bool, nil, map[string]any, []any), exactly as
// encoding/json decodes them, so rendering and filtering can treat all fields alike (Cattle is schema-driven too).
type Object struct {
	// ID is the numeric database id; the API id is FormatID(BaseType, ID).
	ID int64
	// Type is the concrete schema id (kind), e.g. "loadBalancerService" or "container".
	Type string
	// BaseType is the table the object lives in, e.g. "service", "instance", "externalEvent".
	BaseType string
	// AccountID is the numeric id of the owning project (projects own themselves).
	AccountID int64
	// State is the stored state; hosts may display agentState instead (see renderState).
	State string
	// Transitioning is "yes" while State is a transitioning state, "error" after a failed process, else "no".
	Transitioning string
	// TransitioningMessage is "In Progress" while transitioning, the error text after a failure, else empty.
	TransitioningMessage string
	// TransitioningProgress is an optional percentage shown while transitioning.
	TransitioningProgress *int
	// Created is the creation time (rendered ISO + createdTS).
	Created time.Time
	// Removed is set once the object reaches state removed; removed objects are hidden from lists.
	Removed *time.Time
	// Fields holds all other schema fields by their JSON name.
	Fields map[string]any
	// Revision increases on every change; the event hub and tests use it to tell changes apart.
	Revision uint64
	// gen counts the processes started on the object; a scheduled continuation carries the gen it belongs to and
	// does nothing once a newer process superseded it (see run in processes.go). Never rendered.
	gen uint64
}

// APIID returns the object's API id, e.g. "1s12".
func (o *Object) APIID() string { return FormatID(o.BaseType, o.ID) }

// Str returns a string field, or "" when absent or not a string.
func (o *Object) Str(name string) string {
	s, _ := o.Fields[name].(string)
	return s
}

// Int returns a numeric field as int, or def when absent or not a number.
func (o *Object) Int(name string, def int) int {
	return anyInt(o.Fields[name], def)
}

// Bool returns a boolean field, or false when absent.
func (o *Object) Bool(name string) bool {
	b, _ := o.Fields[name].(bool)
	return b
}

// Map returns an object-valued field, or nil.
func (o *Object) Map(name string) map[string]any {
	m, _ := o.Fields[name].(map[string]any)
	return m
}

// StrMap returns a map field (labels, hostSelector...) with values stringified; never nil.
func (o *Object) StrMap(name string) map[string]string {
	return anyStrMap(o.Fields[name])
}

// StrSlice returns an array-of-strings field; non-string members are skipped.
func (o *Object) StrSlice(name string) []string {
	return anyStrSlice(o.Fields[name])
}

// anyInt converts a decoded JSON number (or a numeric string) to int.
func anyInt(v any, def int) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return int(i)
		}
	case string:
		if i, err := strconv.Atoi(n); err == nil {
			return i
		}
	}
	return def
}

func anyStrMap(v any) map[string]string {
	out := map[string]string{}
	m, _ := v.(map[string]any)
	for k, val := range m {
		switch x := val.(type) {
		case string:
			out[k] = x
		case nil:
			out[k] = ""
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

func anyStrSlice(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// cloneJSON deep-copies a JSON-compatible value so stored state is never aliased by callers.
func cloneJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[k] = cloneJSON(val)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, val := range x {
			a[i] = cloneJSON(val)
		}
		return a
	case []string:
		a := make([]any, len(x))
		for i, s := range x {
			a[i] = s
		}
		return a
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return m
	case int:
		return float64(x)
	case int64:
		return float64(x)
	default:
		return x
	}
}

// cloneMap deep-copies a field map.
func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out, _ := cloneJSON(m).(map[string]any)
	return out
}

// typeCodes are the id short codes of the base types we store (cattle-protocol.md §2.7).
func typeCode(baseType string) string {
	switch baseType {
	case "stack":
		return "st"
	case "secret":
		return "se"
	case "project", "account":
		return "a"
	}
	var b strings.Builder
	for i, r := range baseType {
		if i == 0 || (r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		}
	}
	return strings.ToLower(b.String())
}

// FormatID renders an API id: "1" + short code of the base type + the numeric id (§2.7).
func FormatID(baseType string, id int64) string {
	return "1" + typeCode(baseType) + strconv.FormatInt(id, 10)
}

// ParseID strips the leading "1" and the following lower-case letters, as Cattle does; the type letters are
// deliberately not checked (a host id used as a service id resolves service 5, §2.7). Plain numbers are accepted.
func ParseID(apiID string) (int64, bool) {
	s := apiID
	if strings.HasPrefix(s, "1") && len(s) > 1 && s[1] >= 'a' && s[1] <= 'z' {
		s = s[1:]
		s = strings.TrimLeftFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' })
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// sortedKeys returns the keys of m in order, for deterministic rendering and iteration.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
