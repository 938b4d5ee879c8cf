package receivers

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"sort"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
)

// Reads come from the cache, which the informer keeps equal to Cattle, with this API's recent writes applied on
// top (see recentWrites). Cattle is asked only when the cache cannot know: before its first sync, and for ids
// it does not hold (a removed receiver, which Cattle still serves by id, as the original showed it).

const schemaGenericObject = "genericObject"

// live reports whether obj is a receiver of this project that is neither on its way out nor removed by this
// API.
func (a *API) live(obj *cattle.GenericObject) bool {
	return obj.Kind == cache.ReceiverKind && !gone(obj) && a.ours(obj) && !a.recent.isRemoved(obj.ID)
}

// ours reports whether obj belongs to this project (the client is project-scoped, so this only guards
// against a foreign object ever reaching the cache).
func (a *API) ours(obj *cattle.GenericObject) bool {
	return obj.AccountID == "" || obj.AccountID == a.projectID
}

// listStored returns this project's live receivers, ordered by id.
func (a *API) listStored(ctx context.Context) ([]*cattle.GenericObject, error) {
	var base []*cattle.GenericObject
	if a.synced() {
		base = a.store.Receivers()
	} else {
		var rows []cattle.GenericObject
		opts := cattle.ListOptions{Filters: url.Values{"kind": {cache.ReceiverKind}}}
		if err := a.cattle.List(ctx, schemaGenericObject, opts, &rows); err != nil {
			return nil, failCause(http.StatusInternalServerError, err, "Error listing webhooks")
		}
		for i := range rows {
			base = append(base, &rows[i])
		}
	}
	seen := make(map[string]bool, len(base))
	out := make([]*cattle.GenericObject, 0, len(base))
	for _, obj := range append(base, a.recent.createdObjects()...) {
		if !seen[obj.ID] && a.live(obj) {
			seen[obj.ID] = true
			out = append(out, obj)
		}
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].ID, out[j].ID) })
	return out, nil
}

// idLess orders API ids of one type numerically ("1go2" before "1go10").
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// errNotFound is the original's answer for an unknown receiver id.
func errNotFound() error { return fail(http.StatusNotFound, "Webhook not found") }

// findStored returns the receiver genericObject with that id: live ones from the cache or this API's recent
// creates, anything else from Cattle (removed ones included, as the original's GenericObject.ById). Objects of
// another kind or project are not found.
func (a *API) findStored(ctx context.Context, id string) (*cattle.GenericObject, error) {
	if !validID(id) {
		return nil, errNotFound()
	}
	if obj, ok := a.store.Receiver(id); ok && a.live(obj) {
		return obj, nil
	}
	if obj, ok := a.recent.createdByID(id); ok && a.live(obj) {
		return obj, nil
	}
	var obj cattle.GenericObject
	err := a.cattle.ByID(ctx, schemaGenericObject, id, &obj)
	switch {
	case errors.Is(err, cattle.ErrNotFound):
		return nil, errNotFound()
	case err != nil:
		return nil, failCause(http.StatusInternalServerError, err, "Error getting webhook %s", id)
	case obj.Kind != cache.ReceiverKind || !a.ours(&obj):
		return nil, errNotFound()
	}
	return &obj, nil
}

// findByKey returns the live receiver whose key is key, or nil. The cache (with this API's recent creates) is
// authoritative once synced, so a trigger costs no API call; before that Cattle is asked, as the original did.
// Every candidate is confirmed with a constant-time comparison; when several share the key (an update in
// progress), the newest wins.
func (a *API) findByKey(ctx context.Context, key string) (*cattle.GenericObject, error) {
	var candidates []*cattle.GenericObject
	if cached, ok := a.store.ReceiverByKey(key); ok {
		candidates = append(candidates, cached)
	}
	candidates = append(candidates, a.recent.createdObjects()...)
	if !a.synced() {
		var rows []cattle.GenericObject
		opts := cattle.ListOptions{Filters: url.Values{"key": {key}}}
		if err := a.cattle.List(ctx, schemaGenericObject, opts, &rows); err != nil {
			return nil, failCause(http.StatusServiceUnavailable, err, "Error filtering genericObjects by key")
		}
		for i := range rows {
			candidates = append(candidates, &rows[i])
		}
	}
	var best *cattle.GenericObject
	for _, obj := range candidates {
		if subtle.ConstantTimeCompare([]byte(obj.Key), []byte(key)) == 1 && a.live(obj) &&
			(best == nil || idLess(best.ID, obj.ID)) {
			best = obj
		}
	}
	return best, nil
}

// checkUniqueName refuses a name another genericObject of the project already has (any kind, as the
// original's GET genericobjects?name=), ignoring the object being replaced and objects on their way out. The
// cache and this API's recent creates count too, so a receiver created a moment ago is seen even if a list
// would not show it yet.
func (a *API) checkUniqueName(ctx context.Context, name, except string) error {
	dup := fail(http.StatusBadRequest, "Cannot have duplicate webhook name, webhook %s already exists", name)
	for _, obj := range append(a.store.Receivers(), a.recent.createdObjects()...) {
		if obj.Name == name && obj.ID != except && a.live(obj) {
			return dup
		}
	}
	var rows []cattle.GenericObject
	opts := cattle.ListOptions{Filters: url.Values{"name": {name}}}
	if err := a.cattle.List(ctx, schemaGenericObject, opts, &rows); err != nil {
		return failCause(http.StatusInternalServerError, err, "Error checking webhook name")
	}
	for i := range rows {
		if rows[i].ID != except && !gone(&rows[i]) && !a.recent.isRemoved(rows[i].ID) {
			return dup
		}
	}
	return nil
}
