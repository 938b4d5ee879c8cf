package cattlesim

import (
	"net/http"
	"slices"
	"strings"
)

// One resource: /<collection>/<id> and its links /<collection>/<id>/<link> (cattle-protocol.md §2.1, §2.2).
// GET by id returns removed objects too (§2.4); the id's type letters are not checked (§2.7), but the object
// must be of the collection's type (a plain service is not found under /loadbalancerservices) and visible to
// the caller's project.

// lookupLocked finds the object a request addresses, or 404.
func (s *Sim) lookupLocked(req *apiRequest, sc *Schema, rawID string) (*Object, *apiError) {
	id, ok := ParseID(rawID)
	if !ok {
		return nil, errNotFound()
	}
	o := s.getLocked(sc.BaseType, id)
	if o == nil || !s.isA(o.Type, sc.ID) || !visibleTo(o, req.account) {
		return nil, errNotFound()
	}
	return o, nil
}

// resourceLocked serves GET/PUT/DELETE and POST ?action= on one resource.
func (s *Sim) resourceLocked(req *apiRequest, sc *Schema, rawID string) response {
	o, aerr := s.lookupLocked(req, sc, rawID)
	if aerr != nil {
		return fail(aerr)
	}
	if req.method == http.MethodPost {
		name := req.query.Get("action")
		if name == "" {
			return fail(statusError(http.StatusMethodNotAllowed))
		}
		return s.runActionLocked(req, o, name)
	}
	if !slices.Contains(sc.ResourceMethods, req.method) {
		return fail(statusError(http.StatusMethodNotAllowed))
	}
	switch req.method {
	case http.MethodGet:
		return answer(http.StatusOK, s.renderLocked(o, req.u.base, req.u.scope))
	case http.MethodPut:
		return s.updateResourceLocked(req, o)
	case http.MethodDelete:
		return s.deleteResourceLocked(req, o)
	}
	return fail(statusError(http.StatusMethodNotAllowed))
}

// linkLocked serves the relation links rendered by linksLocked.
func (s *Sim) linkLocked(req *apiRequest, sc *Schema, rawID, link string) response {
	o, aerr := s.lookupLocked(req, sc, rawID)
	if aerr != nil {
		return fail(aerr)
	}
	if req.method != http.MethodGet {
		return fail(statusError(http.StatusMethodNotAllowed))
	}
	link = strings.ToLower(link)
	self := s.selfLink(o, req.u) + "/" + link
	single := func(baseType, ref string) response {
		id, ok := ParseID(ref)
		target := s.getLocked(baseType, id)
		if !ok || target == nil || !visibleTo(target, req.account) {
			return fail(errNotFound())
		}
		return answer(http.StatusOK, s.renderLocked(target, req.u.base, req.u.scope))
	}
	list := func(target string, keep func(*Object) bool) response {
		tsc := s.schemas[target]
		var rows []*Object
		for _, x := range s.listLocked(tsc.BaseType) {
			if visibleTo(x, req.account) && keep(x) {
				rows = append(rows, x)
			}
		}
		return answer(http.StatusOK, s.renderCollectionLocked(req, tsc, rows, self))
	}
	if link == "account" {
		return single("account", FormatID("account", ownerAccount(o)))
	}
	if !slices.Contains(linkNames(o), link) {
		return fail(errNotFound())
	}
	switch o.BaseType + "/" + link {
	case "service/instances":
		return list("instance", func(x *Object) bool {
			return refIs(x.Str("serviceId"), o.ID) || slices.ContainsFunc(x.StrSlice("serviceIds"),
				func(ref string) bool { return refIs(ref, o.ID) })
		})
	case "service/stack", "instance/stack":
		return single("stack", o.Str("stackId"))
	case "stack/services":
		return list("service", func(x *Object) bool { return refIs(x.Str("stackId"), o.ID) })
	case "host/instances":
		return list("instance", func(x *Object) bool { return refIs(x.Str("hostId"), o.ID) })
	case "instance/services":
		refs := o.StrSlice("serviceIds")
		if sid := o.Str("serviceId"); sid != "" {
			refs = append(refs, sid)
		}
		return list("service", func(x *Object) bool {
			return slices.ContainsFunc(refs, func(ref string) bool { return refIs(ref, x.ID) })
		})
	case "instance/host":
		return single("host", o.Str("hostId"))
	}
	return fail(errNotFound())
}

// refIs reports whether a stored reference (an API id) points at numeric id.
func refIs(ref string, id int64) bool {
	n, ok := ParseID(ref)
	return ok && n == id
}
