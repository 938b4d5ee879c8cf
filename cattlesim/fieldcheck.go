package cattlesim

import (
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Input reduction and validation against a schema, as Cattle's ValidationHandler does (cattle-protocol.md
// §2.5, §2.6): values are converted to the field type where Cattle converts (numeric strings to int, scalars
// to one-element arrays, map values to strings for map[string]), references are checked and normalised to API
// ids, and violations are 422 with the field name: NotNullable, InvalidFormat, InvalidDateFormat,
// InvalidOption, InvalidCharacters, Min/MaxLimitExceeded, Min/MaxLengthExceeded, InvalidReference,
// MissingRequired. Nested typed objects (launchConfig, amazonec2Config...) must be objects; their own "type"
// member is dropped (§2.2: ignored on input). Their content is left to the state machines.

// reduceInputLocked keeps the create:true (create) or update:true (update) fields of input, validated and
// converted; on create it applies defaults and checks required fields. account owns the object, for
// reference checks.
func (s *Sim) reduceInputLocked(sc *Schema, account int64, input map[string]any, create bool) (map[string]any, *apiError) {
	out := map[string]any{}
	for _, name := range sortedKeys(input) {
		f, ok := sc.Fields[name]
		if !ok || (create && !f.Create) || (!create && !f.Update) {
			continue
		}
		v := input[name]
		if create && f.Required && missingValue(v) {
			return nil, validationError("MissingRequired", name)
		}
		if v == nil {
			if !f.Nullable {
				return nil, validationError("NotNullable", name)
			}
			out[name] = nil
			continue
		}
		cv, aerr := s.convertLocked(account, name, f, v)
		if aerr != nil {
			return nil, aerr
		}
		out[name] = cv
	}
	if !create {
		return out, nil
	}
	for _, name := range sortedKeys(sc.Fields) {
		f := sc.Fields[name]
		if !f.Create {
			continue
		}
		if _, present := out[name]; !present && f.Default != nil {
			out[name] = cloneJSON(f.Default)
		}
		if f.Required && missingValue(out[name]) {
			return nil, validationError("MissingRequired", name)
		}
	}
	return out, nil
}

// missingValue is Cattle's notion of an absent required value: null or the empty string.
func missingValue(v any) bool {
	if v == nil {
		return true
	}
	str, ok := v.(string)
	return ok && str == ""
}

// convertLocked validates and converts one non-null value.
func (s *Sim) convertLocked(account int64, name string, f Field, v any) (any, *apiError) {
	typ := f.Type
	switch {
	case typ == "string" || typ == "password":
		str, ok := scalarString(v)
		if !ok {
			return nil, validationError("InvalidFormat", name)
		}
		return str, checkString(name, f, str)
	case typ == "enum":
		str, ok := scalarString(v)
		if !ok {
			return nil, validationError("InvalidFormat", name)
		}
		for _, opt := range f.Options {
			if opt == str {
				return str, nil
			}
		}
		return nil, validationError("InvalidOption", name)
	case typ == "int":
		n, ok := toInt(v)
		if !ok {
			return nil, validationError("InvalidFormat", name)
		}
		if f.Min != nil && n < *f.Min {
			return nil, validationError("MinLimitExceeded", name)
		}
		if f.Max != nil && n > *f.Max {
			return nil, validationError("MaxLimitExceeded", name)
		}
		return float64(n), nil
	case typ == "boolean":
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			if pb, err := strconv.ParseBool(b); err == nil {
				return pb, nil
			}
		}
		return nil, validationError("InvalidFormat", name)
	case typ == "date":
		str, ok := v.(string)
		if !ok {
			return nil, validationError("InvalidDateFormat", name)
		}
		t, err := time.Parse(time.RFC3339, str)
		if err != nil {
			return nil, validationError("InvalidDateFormat", name)
		}
		return t.UTC().Format(isoLayout), nil
	case typ == "json" || typ == "map[json]" && isObject(v):
		return cloneJSON(v), nil
	case strings.HasPrefix(typ, "map["):
		m, ok := v.(map[string]any)
		if !ok {
			return nil, validationError("InvalidFormat", name)
		}
		if typ == "map[string]" {
			out := map[string]any{}
			for k, val := range anyStrMap(m) {
				out[k] = val
			}
			return out, nil
		}
		return cloneJSON(m), nil
	case strings.HasPrefix(typ, "array["):
		return s.convertArrayLocked(account, name, f, v)
	case strings.HasPrefix(typ, "reference["):
		return s.convertReferenceLocked(account, name, strings.TrimSuffix(strings.TrimPrefix(typ, "reference["), "]"), v)
	default: // a nested typed object
		m, ok := v.(map[string]any)
		if !ok {
			return nil, validationError("InvalidFormat", name)
		}
		m = cloneMap(m)
		delete(m, "type")
		return m, nil
	}
}

// convertArrayLocked converts an array field; a scalar becomes a one-element array, as Cattle converts.
func (s *Sim) convertArrayLocked(account int64, name string, f Field, v any) (any, *apiError) {
	arr, ok := v.([]any)
	if !ok {
		arr = []any{v}
	}
	if f.MinLength != nil && int64(len(arr)) < *f.MinLength {
		return nil, validationError("MinLengthExceeded", name)
	}
	if f.MaxLength != nil && int64(len(arr)) > *f.MaxLength {
		return nil, validationError("MaxLengthExceeded", name)
	}
	elem := Field{Type: strings.TrimSuffix(strings.TrimPrefix(f.Type, "array["), "]"), ValidChars: f.ValidChars}
	out := make([]any, 0, len(arr))
	for _, x := range arr {
		if x == nil {
			return nil, validationError("NotNullable", name)
		}
		cx, aerr := s.convertLocked(account, name, elem, x)
		if aerr != nil {
			return nil, aerr
		}
		out = append(out, cx)
	}
	return out, nil
}

// convertReferenceLocked checks that a reference names an existing object of the target type in the owner's
// project (or a project, for account references) and normalises it to the API id. References to types the
// emulator does not store (agent, certificate, network...) are accepted as given.
func (s *Sim) convertReferenceLocked(account int64, name, target string, v any) (any, *apiError) {
	var raw string
	switch x := v.(type) {
	case string:
		raw = x
	case float64:
		raw = strconv.FormatInt(int64(x), 10)
	default:
		return nil, validationError("InvalidReference", name)
	}
	tsc := s.schemas[target]
	if tsc == nil {
		return raw, nil
	}
	id, ok := ParseID(raw)
	if !ok {
		return nil, validationError("InvalidReference", name)
	}
	o := s.getLocked(tsc.BaseType, id)
	if o == nil || !s.isA(o.Type, tsc.ID) || !visibleTo(o, account) {
		return nil, validationError("InvalidReference", name)
	}
	return o.APIID(), nil
}

// checkString applies validChars and length limits.
func checkString(name string, f Field, str string) *apiError {
	if f.MinLength != nil && int64(len(str)) < *f.MinLength {
		return validationError("MinLengthExceeded", name)
	}
	if f.MaxLength != nil && int64(len(str)) > *f.MaxLength {
		return validationError("MaxLengthExceeded", name)
	}
	if f.ValidChars != "" && str != "" {
		re, err := regexp.Compile("^[" + f.ValidChars + "]*$")
		if err == nil && !re.MatchString(str) {
			return validationError("InvalidCharacters", name)
		}
	}
	return nil
}

// scalarString accepts strings and stringifies numbers and booleans (Cattle's converter does).
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// toInt reads a whole number from a JSON number or a numeric string.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.Abs(x) > 1<<53 {
			return 0, false
		}
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func isObject(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

// errorf is a 422 with a prose message, for control-surface input errors.
func errorf(code, field, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: code, FieldName: field,
		Message: fmt.Sprintf(format, args...)}
}
