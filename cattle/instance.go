package cattle

import "context"

// Instance is a container as seen through /instances (read-only) or
// /containers (the creatable subtype); both render the same members.
// HealthState is "" when the container has no health check, which Cattle
// treats as healthy.
type Instance struct {
	Resource
	HealthState        string   `json:"healthState,omitempty"`
	ServiceIDs         []string `json:"serviceIds,omitempty"`
	ServiceID          string   `json:"serviceId,omitempty"`
	StackID            string   `json:"stackId,omitempty"`
	DeploymentUnitUUID string   `json:"deploymentUnitUuid,omitempty"`
	Version            string   `json:"version,omitempty"`
	CreateIndex        int64    `json:"createIndex,omitempty"`
	StartCount         int64    `json:"startCount,omitempty"`
	ImageUUID          string   `json:"imageUuid,omitempty"`
	Labels             Labels   `json:"labels,omitempty"`
	HostID             string   `json:"hostId,omitempty"`
	PrimaryIPAddress   string   `json:"primaryIpAddress,omitempty"`
	FirstRunning       string   `json:"firstRunning,omitempty"`
	System             bool     `json:"system,omitempty"`
}

const (
	schemaInstance  = "instance"
	schemaContainer = "container"
)

// ListInstances lists the "instance" collection (every instance kind).
func (c *Client) ListInstances(ctx context.Context, opts ListOptions) ([]Instance, error) {
	var out []Instance
	if err := c.List(ctx, schemaInstance, opts, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ListContainers lists the "container" collection.
func (c *Client) ListContainers(ctx context.Context, opts ListOptions) ([]Instance, error) {
	var out []Instance
	if err := c.List(ctx, schemaContainer, opts, &out); err != nil {
		return nil, err
	}
	return out, nil
}
