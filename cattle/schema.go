package cattle

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Schema is one entry of Cattle's schemas collection. The client uses the
// links and the method lists; the field, action and filter descriptions are
// kept raw for callers that want to inspect them.
type Schema struct {
	ID                string                     `json:"id"`
	Type              string                     `json:"type,omitempty"`
	PluralName        string                     `json:"pluralName,omitempty"`
	Links             map[string]string          `json:"links,omitempty"`
	CollectionMethods []string                   `json:"collectionMethods,omitempty"`
	ResourceMethods   []string                   `json:"resourceMethods,omitempty"`
	ResourceFields    map[string]json.RawMessage `json:"resourceFields,omitempty"`
	ResourceActions   map[string]json.RawMessage `json:"resourceActions,omitempty"`
	CollectionFilters map[string]json.RawMessage `json:"collectionFilters,omitempty"`
}

// CollectionURL is links.collection, opaque as the server wrote it (Cattle
// lower-cases generated URLs, e.g. .../genericobjects).
func (s Schema) CollectionURL() string { return s.Links["collection"] }

// AllowsCollection reports whether method is in collectionMethods.
func (s Schema) AllowsCollection(method string) bool {
	return containsFold(s.CollectionMethods, method)
}

// AllowsResource reports whether method is in resourceMethods.
func (s Schema) AllowsResource(method string) bool {
	return containsFold(s.ResourceMethods, method)
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(v string) bool { return strings.EqualFold(v, s) })
}

// Schema returns the discovered schema with the given id. Ids are matched
// exactly first and then case-insensitively, since Cattle resolves type names
// either way.
func (c *Client) Schema(id string) (Schema, bool) {
	if s, ok := c.schemas[id]; ok {
		return s, true
	}
	for key, s := range c.schemas {
		if strings.EqualFold(key, id) {
			return s, true
		}
	}
	return Schema{}, false
}

// schemaFor returns the schema of id or an error wrapping ErrUnknownSchema.
func (c *Client) schemaFor(id string) (Schema, error) {
	s, ok := c.Schema(id)
	if !ok {
		return Schema{}, fmt.Errorf("schema %q: %w", id, ErrUnknownSchema)
	}
	return s, nil
}

// collectionURL returns the collection link of schemaID after checking that
// the schema allows method on its collection.
func (c *Client) collectionURL(schemaID, method string) (string, error) {
	s, err := c.schemaFor(schemaID)
	if err != nil {
		return "", err
	}
	if !s.AllowsCollection(method) {
		return "", &MethodNotAllowedError{SchemaID: s.ID, Method: method, Target: "collection"}
	}
	return collectionLink(s)
}

// resourceURL returns <collection>/<id> of schemaID after checking that the
// schema allows method on resources.
func (c *Client) resourceURL(schemaID, id, method string) (string, error) {
	s, err := c.checkResourceMethod(schemaID, method)
	if err != nil {
		return "", err
	}
	coll, err := collectionLink(s)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(coll, "/") + "/" + url.PathEscape(id), nil
}

func collectionLink(s Schema) (string, error) {
	coll := s.CollectionURL()
	if coll == "" {
		return "", fmt.Errorf("schema %q has no collection link", s.ID)
	}
	return coll, nil
}

// checkResourceMethod verifies that the schema of a resource type allows
// method on individual resources.
func (c *Client) checkResourceMethod(schemaID, method string) (Schema, error) {
	s, err := c.schemaFor(schemaID)
	if err != nil {
		return Schema{}, err
	}
	if !s.AllowsResource(method) {
		return Schema{}, &MethodNotAllowedError{SchemaID: s.ID, Method: method, Target: "resource"}
	}
	return s, nil
}
