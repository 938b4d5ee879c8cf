package cattlesim

import (
	"cmp"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Collections (cattle-protocol.md §2.3, §2.4): the envelope, filters <field>[_<modifier>]=<value> on the
// schema's collectionFilters only (anything else is silently ignored), removed rows hidden unless _removed is
// given, sort/order, and offset pagination with limit (default 100, max 3000, <=0 means max) and
// marker=m<offset>. Comparisons follow SQL: a null column matches only the null modifier. String comparisons
// are case-sensitive (Cattle on MySQL compares case-insensitively; clients must not rely on either).

const (
	defaultLimit = 100
	maxLimit     = 3000
)

// filterModifiers are the modifiers Cattle understands, by suffix.
var filterModifiers = map[string]bool{"eq": true, "ne": true, "lt": true, "lte": true, "gt": true, "gte": true,
	"prefix": true, "like": true, "notlike": true, "null": true, "notnull": true}

// condition is one applied filter.
type condition struct {
	field, modifier, value string
	// like is the compiled pattern of like/notlike conditions.
	like *regexp.Regexp
}

// listQuery is the parsed query of a collection request.
type listQuery struct {
	conds          []condition
	sortField      string // "" = by id
	desc           bool
	limit, offset  int
	includeRemoved bool
}

// parseListQuery reads filters, sort and pagination for schema sc. Unknown parameters and modifiers a field
// does not allow are ignored, as Cattle does.
func parseListQuery(sc *Schema, q url.Values) listQuery {
	lq := listQuery{limit: defaultLimit}
	for _, key := range sortedKeys(q) {
		field, mod := key, "eq"
		if i := strings.LastIndexByte(key, '_'); i > 0 && filterModifiers[key[i+1:]] {
			field, mod = key[:i], key[i+1:]
		}
		mods, ok := sc.CollectionFilters[field]
		if !ok || !slices.Contains(mods, mod) {
			continue
		}
		for _, v := range q[key] {
			c := condition{field: field, modifier: mod, value: v}
			if mod == "like" || mod == "notlike" {
				c.like = likePattern(v)
			}
			lq.conds = append(lq.conds, c)
		}
	}
	if f := q.Get("sort"); f != "" {
		for name := range sc.CollectionFilters {
			if strings.EqualFold(name, f) {
				lq.sortField = name
			}
		}
	}
	lq.desc = strings.EqualFold(q.Get("order"), "desc")
	if l := q.Get("limit"); l != "" {
		if n, err := strconv.Atoi(l); err == nil {
			lq.limit = n
		}
	}
	if lq.limit <= 0 || lq.limit > maxLimit {
		lq.limit = maxLimit
	}
	if m, ok := strings.CutPrefix(q.Get("marker"), "m"); ok {
		if n, err := strconv.Atoi(m); err == nil && n > 0 {
			lq.offset = n
		}
	}
	_, lq.includeRemoved = q["_removed"]
	return lq
}

// collectionLocked serves a collection: GET lists, POST creates (writes.go), anything else is 405.
func (s *Sim) collectionLocked(req *apiRequest, sc *Schema) response {
	if req.method == http.MethodPost && req.query.Get("action") != "" {
		return fail(errInvalidAction()) // no collection actions are emulated
	}
	if !slices.Contains(sc.CollectionMethods, req.method) {
		return fail(statusError(http.StatusMethodNotAllowed))
	}
	if req.method == http.MethodPost {
		return s.createResourceLocked(req, sc)
	}
	var rows []*Object
	for _, o := range s.listLocked(sc.BaseType) {
		if s.isA(o.Type, sc.ID) && visibleTo(o, req.account) {
			rows = append(rows, o)
		}
	}
	return answer(http.StatusOK, s.renderCollectionLocked(req, sc, rows, req.u.collection(sc.PluralName)))
}

// renderCollectionLocked filters, sorts and pages candidates and wraps them in Cattle's envelope.
func (s *Sim) renderCollectionLocked(req *apiRequest, sc *Schema, candidates []*Object, self string) map[string]any {
	lq := parseListQuery(sc, req.query)
	var rows []*Object
	for _, o := range candidates {
		if o.Removed != nil && !lq.includeRemoved {
			continue
		}
		if s.matchesLocked(sc, o, lq.conds) {
			rows = append(rows, o)
		}
	}
	s.sortRows(sc, rows, lq)

	total := len(rows)
	start := min(lq.offset, total)
	end := min(start+lq.limit, total)
	data := make([]any, 0, end-start)
	for _, o := range rows[start:end] {
		data = append(data, s.renderLocked(o, req.u.base, req.u.scope))
	}
	partial := end < total
	var next any
	if partial {
		next = pageURL(req, "m"+strconv.Itoa(end))
	}

	filters := map[string]any{}
	for name := range sc.CollectionFilters {
		filters[name] = nil
	}
	for _, c := range lq.conds {
		list, _ := filters[c.field].([]any)
		filters[c.field] = append(list, map[string]string{"modifier": c.modifier, "value": c.value})
	}
	sortLinks := map[string]string{}
	for name := range sc.CollectionFilters {
		sortLinks[name] = self + "?sort=" + url.QueryEscape(name)
	}
	var sortInfo any
	if lq.sortField != "" {
		order, reverse := "asc", "desc"
		if lq.desc {
			order, reverse = "desc", "asc"
		}
		sortInfo = map[string]string{"name": lq.sortField, "order": order,
			"reverse": self + "?sort=" + url.QueryEscape(lq.sortField) + "&order=" + reverse}
	}

	return map[string]any{
		"type":         "collection",
		"resourceType": sc.ID,
		"links":        map[string]string{"self": self},
		"createTypes":  s.createTypes(sc, req.u),
		"actions":      map[string]string{},
		"sortLinks":    sortLinks,
		"pagination": map[string]any{
			"first": nil, "previous": nil, "next": next, "limit": lq.limit, "total": nil, "partial": partial,
		},
		"sort":           sortInfo,
		"filters":        filters,
		"createDefaults": map[string]any{},
		"data":           data,
	}
}

// pageURL is the request's own URL with the marker replaced (pagination.next).
func pageURL(req *apiRequest, marker string) string {
	q := url.Values{}
	for k, v := range req.query {
		q[k] = slices.Clone(v)
	}
	q.Set("marker", marker)
	return req.u.base + req.r.URL.EscapedPath() + "?" + q.Encode()
}

// createTypes maps every creatable type of a collection (the schema and its subtypes) to its collection URL.
func (s *Sim) createTypes(sc *Schema, u urlBuilder) map[string]string {
	out := map[string]string{}
	for _, t := range s.schemas {
		if s.isA(t.ID, sc.ID) && slices.Contains(t.CollectionMethods, http.MethodPost) {
			out[t.ID] = u.collection(t.PluralName)
		}
	}
	return out
}

// matchesLocked reports whether o satisfies every condition (AND).
func (s *Sim) matchesLocked(sc *Schema, o *Object, conds []condition) bool {
	for _, c := range conds {
		if !s.matchOne(sc, o, c) {
			return false
		}
	}
	return true
}

// fieldValue returns the filterable value of a field: typed members for the common columns, Fields otherwise.
// nil means SQL NULL.
func fieldValue(o *Object, name string) any {
	switch name {
	case "id":
		return float64(o.ID)
	case "accountId":
		return FormatID("account", ownerAccount(o))
	case "kind":
		return renderKind(o)
	case "state":
		return o.State
	case "transitioning":
		return o.Transitioning
	case "created":
		return o.Created
	case "removed":
		if o.Removed == nil {
			return nil
		}
		return *o.Removed
	}
	return o.Fields[name]
}

// matchOne evaluates one condition with SQL semantics.
func (s *Sim) matchOne(sc *Schema, o *Object, c condition) bool {
	v := fieldValue(o, c.field)
	switch c.modifier {
	case "null":
		return v == nil
	case "notnull":
		return v != nil
	}
	if v == nil {
		return false
	}
	typ := sc.Fields[c.field].Type
	if c.field == "id" {
		typ = "id"
	}
	switch c.modifier {
	case "prefix":
		str, ok := v.(string)
		return ok && strings.HasPrefix(str, c.value)
	case "like", "notlike":
		str, ok := v.(string)
		if !ok {
			return false
		}
		return c.like.MatchString(str) == (c.modifier == "like")
	}
	cmpResult, comparable := compareValue(typ, v, c.value)
	if !comparable {
		return c.modifier == "ne"
	}
	switch c.modifier {
	case "eq":
		return cmpResult == 0
	case "ne":
		return cmpResult != 0
	case "lt":
		return cmpResult < 0
	case "lte":
		return cmpResult <= 0
	case "gt":
		return cmpResult > 0
	case "gte":
		return cmpResult >= 0
	}
	return false
}

// compareValue compares a stored value with a query string according to the field type; comparable is false
// when the query value cannot be read as that type (it then equals nothing).
func compareValue(typ string, stored any, query string) (result int, comparable bool) {
	switch {
	case typ == "id" || strings.HasPrefix(typ, "reference["):
		// Reference columns accept API ids or plain numbers; the type letters are not checked (§2.7).
		want, ok := ParseID(query)
		if !ok {
			return 0, false
		}
		var have int64
		switch x := stored.(type) {
		case float64:
			have = int64(x)
		case string:
			if have, ok = ParseID(x); !ok {
				return 0, false
			}
		default:
			return 0, false
		}
		return cmp.Compare(have, want), true
	case typ == "int":
		want, err := strconv.ParseFloat(query, 64)
		have, ok := stored.(float64)
		if err != nil || !ok {
			return 0, false
		}
		return cmp.Compare(have, want), true
	case typ == "boolean":
		want, err := strconv.ParseBool(query)
		have, ok := stored.(bool)
		if err != nil || !ok {
			return 0, false
		}
		return cmp.Compare(boolInt(have), boolInt(want)), true
	case typ == "date":
		want, ok := parseDate(query)
		have, ok2 := asTime(stored)
		if !ok || !ok2 {
			return 0, false
		}
		return have.Compare(want), true
	default:
		str, ok := stored.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(str, query), true
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parseDate reads an ISO date or epoch milliseconds.
func parseDate(v string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms), true
	}
	return time.Time{}, false
}

// asTime reads a stored date: a time.Time member or an ISO string field.
func asTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		return parseDate(x)
	case float64:
		return time.UnixMilli(int64(x)), true
	}
	return time.Time{}, false
}

// likePattern compiles an SQL LIKE pattern (% any run, _ one character, \ escapes).
func likePattern(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?s)^")
	escaped := false
	for _, r := range p {
		switch {
		case escaped:
			b.WriteString(regexp.QuoteMeta(string(r)))
			escaped = false
		case r == '\\':
			escaped = true
		case r == '%':
			b.WriteString(".*")
		case r == '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil { // cannot happen: every literal is quoted
		return regexp.MustCompile(`^\b\B$`) // matches nothing
	}
	return re
}

// sortRows orders rows by the sort field (nulls first ascending) with the id as secondary key; order=desc
// reverses both.
func (s *Sim) sortRows(sc *Schema, rows []*Object, lq listQuery) {
	typ := "id"
	if lq.sortField != "" && lq.sortField != "id" {
		typ = sc.Fields[lq.sortField].Type
	}
	slices.SortStableFunc(rows, func(a, b *Object) int {
		r := 0
		if lq.sortField != "" && lq.sortField != "id" {
			r = compareStored(typ, fieldValue(a, lq.sortField), fieldValue(b, lq.sortField))
		}
		if r == 0 {
			r = cmp.Compare(a.ID, b.ID)
		}
		if lq.desc {
			r = -r
		}
		return r
	})
}

// compareStored compares two stored values of one field type; nil sorts first.
func compareStored(typ string, a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	if ta, ok := asTimeTyped(typ, a); ok {
		if tb, ok := asTimeTyped(typ, b); ok {
			return ta.Compare(tb)
		}
	}
	switch x := a.(type) {
	case float64:
		if y, ok := b.(float64); ok {
			return cmp.Compare(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			return cmp.Compare(boolInt(x), boolInt(y))
		}
	case string:
		if y, ok := b.(string); ok {
			if strings.HasPrefix(typ, "reference[") {
				xi, _ := ParseID(x)
				yi, _ := ParseID(y)
				return cmp.Compare(xi, yi)
			}
			return strings.Compare(x, y)
		}
	}
	return 0
}

func asTimeTyped(typ string, v any) (time.Time, bool) {
	if t, ok := v.(time.Time); ok {
		return t, true
	}
	if typ == "date" {
		return asTime(v)
	}
	return time.Time{}, false
}
