package cattle

import (
	"context"
	"encoding/json"
	"errors"
)

// GenericObject is Cattle's schemaless storage resource (webhook receivers
// live here with Kind "webhookReceiver"). Name, Kind and Description come
// from the embedded Resource; every member is create-only. Key may be a
// secret (a receiver's trigger key): never log it.
type GenericObject struct {
	Resource
	Key          string                     `json:"key,omitempty"`
	ResourceData map[string]json.RawMessage `json:"resourceData,omitempty"`
}

const schemaGenericObject = "genericObject"

// ListGenericObjects lists generic objects; filter on "kind", "name" or "key".
func (c *Client) ListGenericObjects(ctx context.Context, opts ListOptions) ([]GenericObject, error) {
	var out []GenericObject
	if err := c.List(ctx, schemaGenericObject, opts, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetGenericObject fetches one generic object by id, removed ones included
// (errors.Is ErrNotFound on 404).
func (c *Client) GetGenericObject(ctx context.Context, id string) (*GenericObject, error) {
	var out GenericObject
	if err := c.ByID(ctx, schemaGenericObject, id, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateGenericObject creates obj (Name, Kind, Key, ResourceData,
// Description are sent; empty members are omitted).
func (c *Client) CreateGenericObject(ctx context.Context, obj GenericObject) (*GenericObject, error) {
	var out GenericObject
	if err := c.Create(ctx, schemaGenericObject, obj, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteGenericObject removes obj (DELETE on its self link) and returns it as
// Cattle answered (state "removing").
func (c *Client) DeleteGenericObject(ctx context.Context, obj *GenericObject) (*GenericObject, error) {
	if obj == nil {
		return nil, errors.New("delete genericObject: nil object")
	}
	var out GenericObject
	if err := c.Delete(ctx, &obj.Resource, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
