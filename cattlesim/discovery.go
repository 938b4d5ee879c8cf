package cattlesim

import (
	"net/http"
	"slices"
	"strings"
)

// Discovery (cattle-protocol.md §2.1, §7.1): GET / lists the API versions, GET /v2-beta is the version root
// with links to every collection, GET /v2-beta/projects/<p> is the project with its collection links, and
// /v2-beta[/projects/<p>]/schemas[/<id>] describes every type. Every answer carries X-API-Schemas (set by
// serveAPI), project-scoped when the request path was.

// apiVersionsLocked renders GET /: a collection of the one version served.
func (s *Sim) apiVersionsLocked(req *apiRequest) map[string]any {
	return map[string]any{
		"type":         "collection",
		"resourceType": "apiVersion",
		"links":        map[string]string{"self": strings.ToLower(req.u.base + "/")},
		"createTypes":  map[string]string{},
		"actions":      map[string]string{},
		"pagination":   nil,
		"sort":         nil,
		"filters":      map[string]any{},
		"data":         []any{s.apiVersionLocked(req)},
	}
}

// apiVersionLocked renders the v2-beta root: links to the schemas and to every collection.
func (s *Sim) apiVersionLocked(req *apiRequest) map[string]any {
	links := map[string]string{
		"self":    req.u.version(),
		"schemas": req.u.schemas(),
	}
	for _, sc := range s.schemas {
		if len(sc.CollectionMethods) > 0 && sc.ID != "apiVersion" {
			links[sc.PluralName] = req.u.collection(sc.PluralName)
		}
	}
	return map[string]any{
		"id":      apiVersion,
		"type":    "apiVersion",
		"links":   links,
		"actions": map[string]string{},
	}
}

// projectRootLocked serves GET /v2-beta/projects/<p>: the project resource itself.
func (s *Sim) projectRootLocked(req *apiRequest) response {
	if req.method != http.MethodGet {
		return fail(statusError(http.StatusMethodNotAllowed))
	}
	o := s.getLocked("account", req.account)
	if o == nil || req.account == 0 {
		return fail(errNotFound())
	}
	return answer(http.StatusOK, s.renderLocked(o, req.u.base, req.u.scope))
}

// schemaByID finds a schema by id, case-insensitively (URLs are lower-cased).
func (s *Sim) schemaByID(id string) *Schema {
	if sc := s.schemas[id]; sc != nil {
		return sc
	}
	for _, sc := range s.schemas {
		if strings.EqualFold(sc.ID, id) {
			return sc
		}
	}
	return nil
}

// collectionSchema resolves a collection path segment: plural or singular, any case (§2.1). Only types with a
// collection resolve; the special collections (schemas, subscribe, publish) are routed before.
func (s *Sim) collectionSchema(name string) *Schema {
	for _, sc := range s.schemas {
		if len(sc.CollectionMethods) == 0 {
			continue
		}
		if strings.EqualFold(sc.PluralName, name) || strings.EqualFold(sc.ID, name) {
			return sc
		}
	}
	return nil
}

// schemasLocked serves /schemas and /schemas/<id> (GET only).
func (s *Sim) schemasLocked(req *apiRequest) response {
	if req.method != http.MethodGet {
		return fail(statusError(http.StatusMethodNotAllowed))
	}
	switch len(req.path.rest) {
	case 1:
		ids := sortedKeys(s.schemas)
		data := make([]any, 0, len(ids))
		for _, id := range ids {
			data = append(data, s.renderSchema(s.schemas[id], req.u))
		}
		return answer(http.StatusOK, map[string]any{
			"type":         "collection",
			"resourceType": "schema",
			"links":        map[string]string{"self": req.u.schemas()},
			"createTypes":  map[string]string{},
			"actions":      map[string]string{},
			"pagination":   nil,
			"sort":         nil,
			"filters":      map[string]any{},
			"data":         data,
		})
	case 2:
		sc := s.schemaByID(req.path.rest[1])
		if sc == nil {
			return fail(errNotFound())
		}
		return answer(http.StatusOK, s.renderSchema(sc, req.u))
	default:
		return fail(errNotFound())
	}
}

// renderSchema renders one schema as Cattle's /schemas does.
func (s *Sim) renderSchema(sc *Schema, u urlBuilder) map[string]any {
	links := map[string]string{"self": u.resource("schemas", sc.ID)}
	if len(sc.CollectionMethods) > 0 {
		links["collection"] = u.collection(sc.PluralName)
	}
	fields := map[string]any{}
	for name, f := range sc.Fields {
		fields[name] = renderField(f)
	}
	actions := map[string]any{}
	for name, input := range sc.Actions {
		a := map[string]any{"output": s.actionOutput(sc, name)}
		if input != "" {
			a["input"] = input
		}
		actions[name] = a
	}
	filters := map[string]any{}
	for name, mods := range sc.CollectionFilters {
		filters[name] = map[string]any{"modifiers": slices.Clone(mods)}
	}
	out := map[string]any{
		"id":                sc.ID,
		"type":              "schema",
		"baseType":          "schema",
		"links":             links,
		"actions":           map[string]string{},
		"pluralName":        sc.PluralName,
		"resourceMethods":   nonNil(sc.ResourceMethods),
		"resourceFields":    fields,
		"resourceActions":   actions,
		"collectionMethods": nonNil(sc.CollectionMethods),
		"collectionFields":  map[string]any{},
		"collectionActions": map[string]any{},
		"collectionFilters": filters,
		"includeableLinks":  []string{},
	}
	if sc.Parent != "" {
		out["parent"] = sc.Parent
	}
	return out
}

// actionOutput is the type an action answers with: the resource's own type, or hostAccess for the
// interactive container/host actions.
func (s *Sim) actionOutput(sc *Schema, action string) string {
	switch action {
	case "execute", "logs", "proxy", "dockersocket":
		return "hostAccess"
	case "console":
		return "instanceConsole"
	}
	if sc.BaseType == "instance" {
		return "instance"
	}
	return sc.ID
}

// renderField renders one field definition; optional attributes are omitted when unset, as in schemas.json.
func renderField(f Field) map[string]any {
	m := map[string]any{
		"type":        f.Type,
		"create":      f.Create,
		"update":      f.Update,
		"description": nil,
	}
	if f.Required {
		m["required"] = true
	}
	if f.Nullable {
		m["nullable"] = true
	}
	if f.Default != nil {
		m["default"] = cloneJSON(f.Default)
	}
	if len(f.Options) > 0 {
		m["options"] = slices.Clone(f.Options)
	}
	if f.Min != nil {
		m["min"] = *f.Min
	}
	if f.Max != nil {
		m["max"] = *f.Max
	}
	if f.MinLength != nil {
		m["minLength"] = *f.MinLength
	}
	if f.MaxLength != nil {
		m["maxLength"] = *f.MaxLength
	}
	if f.ValidChars != "" {
		m["validChars"] = f.ValidChars
	}
	return m
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return slices.Clone(ss)
}
