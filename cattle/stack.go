package cattle

import "context"

// Stack groups services (called environment in the v1 API).
type Stack struct {
	Resource
	HealthState string   `json:"healthState,omitempty"`
	ServiceIDs  []string `json:"serviceIds,omitempty"`
	System      bool     `json:"system,omitempty"`
	ExternalID  string   `json:"externalId,omitempty"`
}

const schemaStack = "stack"

// ListStacks lists stacks.
func (c *Client) ListStacks(ctx context.Context, opts ListOptions) ([]Stack, error) {
	var out []Stack
	if err := c.List(ctx, schemaStack, opts, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetStack fetches one stack by id (errors.Is ErrNotFound on 404).
func (c *Client) GetStack(ctx context.Context, id string) (*Stack, error) {
	var out Stack
	if err := c.ByID(ctx, schemaStack, id, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
