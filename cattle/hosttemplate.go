package cattle

import (
	"context"
	"encoding/json"
)

// HostTemplate is a stored machine-driver configuration hosts can be created
// from (hostTemplateId). Its secretValues member is deliberately not decoded
// so credentials cannot leak into logs through this type.
type HostTemplate struct {
	Resource
	Driver       string          `json:"driver,omitempty"`
	FlavorPrefix string          `json:"flavorPrefix,omitempty"`
	PublicValues json.RawMessage `json:"publicValues,omitempty"`
}

const schemaHostTemplate = "hostTemplate"

// GetHostTemplate fetches one host template by id (errors.Is ErrNotFound on
// 404).
func (c *Client) GetHostTemplate(ctx context.Context, id string) (*HostTemplate, error) {
	var out HostTemplate
	if err := c.ByID(ctx, schemaHostTemplate, id, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
