package cattlesim

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Rendering of stored objects as Cattle v2-beta resources (cattle-protocol.md §2.2, §4.2). The same function
// serves REST answers and the data.resource of resource.change events, so both always agree.

// isoLayout is Cattle's date format: UTC, second precision, literal Z.
const isoLayout = "2006-01-02T15:04:05Z"

// apiVersion is the only API version the emulator serves.
const apiVersion = "v2-beta"

// urlBuilder builds the URLs of one response: base is scheme://host of the request, scope is "/projects/<p>"
// when the request path was project-scoped (only then are generated URLs scoped, like Cattle's sub-context).
type urlBuilder struct {
	base  string
	scope string
}

// version returns the lower-cased URL of the API version root, scoped when the request was.
func (u urlBuilder) version() string {
	return strings.ToLower(u.base + "/" + apiVersion + u.scope)
}

// collection returns the lower-cased URL of a collection (a plural name).
func (u urlBuilder) collection(plural string) string {
	return u.version() + "/" + strings.ToLower(plural)
}

// resource returns the lower-cased URL of one resource of a collection.
func (u urlBuilder) resource(plural, apiID string) string {
	return u.collection(plural) + "/" + strings.ToLower(apiID)
}

// schemas returns the URL of the schemas collection (the X-API-Schemas header).
func (u urlBuilder) schemas() string { return u.collection("schemas") }

// actionURL returns the URL of a resource action: <self>/?action=<name> (note the "/" before "?", §2.2).
func actionURL(self, name string) string {
	return self + "/?action=" + strings.ToLower(name)
}

// isA reports whether schema typ is ancestor or equal to sc (e.g. loadBalancerService is a service).
func (s *Sim) isA(typ, ancestor string) bool {
	for seen := 0; typ != "" && seen < 8; seen++ {
		if strings.EqualFold(typ, ancestor) {
			return true
		}
		sc := s.schemas[typ]
		if sc == nil {
			return false
		}
		typ = sc.Parent
	}
	return false
}

// rootType returns the top of typ's parent chain: the resource's baseType as Cattle renders it.
func (s *Sim) rootType(typ string) string {
	for seen := 0; seen < 8; seen++ {
		sc := s.schemas[typ]
		if sc == nil || sc.Parent == "" {
			return typ
		}
		typ = sc.Parent
	}
	return typ
}

// ownerAccount is the numeric project an object belongs to; projects own themselves.
func ownerAccount(o *Object) int64 {
	if o.BaseType == "account" {
		return o.ID
	}
	return o.AccountID
}

// displayState applies the v2-beta host rule: a stored "active" host with an agentState shows the agentState
// (§4.2). Everything else shows its stored state.
func displayState(o *Object) string {
	if o.BaseType == "host" && o.State == "active" {
		if as := o.Str("agentState"); as != "" {
			return as
		}
	}
	return o.State
}

// renderKind is the kind column: equal to the type except for generic objects, whose kind is free text
// ("webhookReceiver", §6.3).
func renderKind(o *Object) string {
	if k := o.Str("kind"); k != "" && o.BaseType == "genericObject" {
		return k
	}
	return o.Type
}

// selfLink returns the resource URL of o, under its own type's collection (a loadBalancerService listed
// under /services still links to /loadbalancerservices/<id>).
func (s *Sim) selfLink(o *Object, u urlBuilder) string {
	if o.BaseType == "account" {
		// A project is addressed at /v2-beta/projects/<id>, which is also the root of its scoped URLs.
		return urlBuilder{base: u.base}.resource("projects", o.APIID())
	}
	plural := o.Type + "s"
	if sc := s.schemas[o.Type]; sc != nil {
		plural = sc.PluralName
	}
	return u.resource(plural, o.APIID())
}

// renderLocked renders o as the REST API does for a caller whose URLs start at base (scheme://host) and, when
// the request path was project-scoped, projectScope ("/projects/1a5"). The result is freshly allocated and
// shares nothing with the store.
func (s *Sim) renderLocked(o *Object, base string, projectScope string) map[string]any {
	u := urlBuilder{base: base, scope: projectScope}
	sc := s.schemas[o.Type]
	self := s.selfLink(o, u)

	out := map[string]any{}
	// Declared fields are always present, null when unset, like Cattle's schema-driven writer.
	if sc != nil {
		for name, f := range sc.Fields {
			out[name] = s.renderFieldValue(f, o.Fields[name])
		}
	}
	for name, v := range o.Fields {
		var f Field
		if sc != nil {
			f = sc.Fields[name]
		}
		out[name] = s.renderFieldValue(f, v)
	}
	// Every date field X gets an XTS twin in epoch milliseconds (§2.2).
	if sc != nil {
		for name, f := range sc.Fields {
			if f.Type == "date" {
				out[name+"TS"] = dateTS(out[name])
			}
		}
	}

	out["id"] = o.APIID()
	out["type"] = o.Type
	out["baseType"] = s.rootType(o.Type)
	out["kind"] = renderKind(o)
	out["state"] = displayState(o)
	out["transitioning"] = nonEmpty(o.Transitioning, "no")
	out["transitioningMessage"] = nullIfEmpty(o.TransitioningMessage)
	if o.TransitioningProgress != nil {
		out["transitioningProgress"] = *o.TransitioningProgress
	} else {
		out["transitioningProgress"] = nil
	}
	if o.BaseType != "account" {
		out["accountId"] = FormatID("account", o.AccountID)
	}
	out["created"] = o.Created.UTC().Format(isoLayout)
	out["createdTS"] = o.Created.UnixMilli()
	if o.Removed != nil {
		out["removed"] = o.Removed.UTC().Format(isoLayout)
		out["removedTS"] = o.Removed.UnixMilli()
	} else {
		out["removed"], out["removedTS"] = nil, nil
	}
	if _, ok := out["removeTime"]; !ok {
		out["removeTime"], out["removeTimeTS"] = nil, nil
	}
	for _, k := range []string{"uuid", "name", "description"} {
		if _, ok := out[k]; !ok {
			out[k] = nil
		}
	}
	if d, ok := out["data"].(map[string]any); !ok || d == nil {
		out["data"] = map[string]any{}
	}

	out["links"] = s.linksLocked(o, u, self)
	actions := map[string]string{}
	for _, a := range s.actionsLocked(o) {
		actions[a] = actionURL(self, a)
	}
	out["actions"] = actions
	return out
}

// renderFieldValue deep-copies a stored value and gives nested objects of a typed field their "type" member
// (launchConfig, serviceUpgrade, amazonec2Config ... are rendered with their own type, §2.2).
func (s *Sim) renderFieldValue(f Field, v any) any {
	v = cloneJSON(v)
	typ := f.Type
	if elem, ok := strings.CutPrefix(typ, "array["); ok {
		elem = strings.TrimSuffix(elem, "]")
		if arr, ok := v.([]any); ok && s.isNestedType(elem) {
			for _, x := range arr {
				if m, ok := x.(map[string]any); ok {
					if _, has := m["type"]; !has {
						m["type"] = elem
					}
				}
			}
		}
		return v
	}
	if m, ok := v.(map[string]any); ok && s.isNestedType(typ) {
		if _, has := m["type"]; !has {
			m["type"] = typ
		}
	}
	return v
}

// isNestedType reports whether typ names an embedded schema (as opposed to string, map[...], reference[...]).
func (s *Sim) isNestedType(typ string) bool {
	if typ == "" || strings.ContainsRune(typ, '[') {
		return false
	}
	_, ok := s.schemas[typ]
	return ok
}

// linksLocked returns the links of o: self, its account, plus the useful relations per base type. Every link
// listed here is served (see links in server.go).
func (s *Sim) linksLocked(o *Object, u urlBuilder, self string) map[string]string {
	links := map[string]string{"self": self}
	if o.BaseType != "account" {
		links["account"] = urlBuilder{base: u.base}.resource("projects", FormatID("account", o.AccountID))
	}
	if o.BaseType == "account" {
		// A project links to every collection, scoped to itself (self is the scope root).
		for _, sc := range s.schemas {
			if len(sc.CollectionMethods) > 0 && sc.BaseType != "account" && sc.ID != "apiVersion" {
				links[sc.PluralName] = self + "/" + strings.ToLower(sc.PluralName)
			}
		}
		links["schemas"] = self + "/schemas"
		return links
	}
	for _, name := range linkNames(o) {
		links[name] = self + "/" + strings.ToLower(name)
	}
	return links
}

// linkNames lists the relation links of o (besides self and account), sorted.
func linkNames(o *Object) []string {
	var names []string
	switch o.BaseType {
	case "service":
		names = []string{"instances"}
		if o.Str("stackId") != "" {
			names = append(names, "stack")
		}
	case "stack":
		names = []string{"services"}
	case "host":
		names = []string{"instances"}
	case "instance":
		names = []string{"services"}
		if o.Str("hostId") != "" {
			names = append(names, "host")
		}
		if o.Str("stackId") != "" {
			names = append(names, "stack")
		}
	}
	slices.Sort(names)
	return names
}

// dateTS converts a rendered ISO date to epoch milliseconds, or nil.
func dateTS(v any) any {
	str, ok := v.(string)
	if !ok || str == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, str)
	if err != nil {
		return nil
	}
	return t.UnixMilli()
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// marshalREST encodes v the way Cattle's REST writer does: no HTML escaping, but "/" escaped as "\/" (§2.2).
// A "/" can only occur inside JSON strings, so escaping it byte-wise is exact.
func marshalREST(v any) ([]byte, error) {
	b, err := marshalPlain(v)
	if err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(b, []byte("/"), []byte(`\/`)), nil
}

// marshalPlain encodes v without HTML escaping and without a trailing newline.
func marshalPlain(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
