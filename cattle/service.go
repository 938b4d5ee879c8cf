package cattle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Service actions offered (state permitting) in Service.Actions.
const (
	ActionUpgrade         = "upgrade"
	ActionFinishUpgrade   = "finishupgrade"
	ActionRollback        = "rollback"
	ActionCancelUpgrade   = "cancelupgrade"
	ActionContinueUpgrade = "continueupgrade"
	ActionActivate        = "activate"
	ActionDeactivate      = "deactivate"
	ActionRestart         = "restart"
)

// Service is a Cattle service of any kind (service, loadBalancerService,
// dnsService, ...): Kind and Type say which. LaunchConfig is nil for kinds
// that have none.
type Service struct {
	Resource
	StackID                string          `json:"stackId,omitempty"`
	Scale                  int64           `json:"scale"`
	CurrentScale           int64           `json:"currentScale"`
	ScalePolicy            *ScalePolicy    `json:"scalePolicy,omitempty"`
	HealthState            string          `json:"healthState,omitempty"`
	LaunchConfig           *LaunchConfig   `json:"launchConfig,omitempty"`
	SecondaryLaunchConfigs []LaunchConfig  `json:"secondaryLaunchConfigs,omitempty"`
	Upgrade                *ServiceUpgrade `json:"upgrade,omitempty"`
	InstanceIDs            []string        `json:"instanceIds,omitempty"`
	SelectorContainer      string          `json:"selectorContainer,omitempty"`
	SelectorLink           string          `json:"selectorLink,omitempty"`
	System                 bool            `json:"system,omitempty"`
	Fqdn                   string          `json:"fqdn,omitempty"`
	Vip                    string          `json:"vip,omitempty"`
	ExternalID             string          `json:"externalId,omitempty"`
	CreateIndex            int64           `json:"createIndex,omitempty"`
	RetainIP               bool            `json:"retainIp,omitempty"`
	StartOnCreate          bool            `json:"startOnCreate,omitempty"`
	LinkedServices         json.RawMessage `json:"linkedServices,omitempty"`
	Metadata               json.RawMessage `json:"metadata,omitempty"`
	PublicEndpoints        json.RawMessage `json:"publicEndpoints,omitempty"`
	LBConfig               json.RawMessage `json:"lbConfig,omitempty"`
}

// ScalePolicy is a service's optional scale bounds.
type ScalePolicy struct {
	Min       int64 `json:"min"`
	Max       int64 `json:"max"`
	Increment int64 `json:"increment,omitempty"`
}

// ServiceUpgrade is both the input of the "upgrade" action and the record
// Cattle keeps in Service.Upgrade. Exactly one strategy is set on input.
type ServiceUpgrade struct {
	InServiceStrategy *InServiceStrategy `json:"inServiceStrategy,omitempty"`
	ToServiceStrategy *ToServiceStrategy `json:"toServiceStrategy,omitempty"`
}

// InServiceStrategy upgrades a service in place, batch by batch. On input,
// LaunchConfig must be the FULL new primary config (Cattle replaces it
// wholesale) and SecondaryLaunchConfigs the full sidekick configs to upgrade,
// matched by name. The Previous* members are filled in by Cattle.
type InServiceStrategy struct {
	BatchSize                      int64          `json:"batchSize,omitempty"`
	IntervalMillis                 int64          `json:"intervalMillis,omitempty"`
	StartFirst                     bool           `json:"startFirst"`
	LaunchConfig                   *LaunchConfig  `json:"launchConfig,omitempty"`
	SecondaryLaunchConfigs         []LaunchConfig `json:"secondaryLaunchConfigs,omitempty"`
	PreviousLaunchConfig           *LaunchConfig  `json:"previousLaunchConfig,omitempty"`
	PreviousSecondaryLaunchConfigs []LaunchConfig `json:"previousSecondaryLaunchConfigs,omitempty"`
}

// ToServiceStrategy moves scale to another service.
type ToServiceStrategy struct {
	ToServiceID    string `json:"toServiceId,omitempty"`
	FinalScale     int64  `json:"finalScale,omitempty"`
	BatchSize      int64  `json:"batchSize,omitempty"`
	IntervalMillis int64  `json:"intervalMillis,omitempty"`
	UpdateLinks    bool   `json:"updateLinks,omitempty"`
}

const schemaService = "service"

// ListServices lists services of every kind.
func (c *Client) ListServices(ctx context.Context, opts ListOptions) ([]Service, error) {
	var out []Service
	if err := c.List(ctx, schemaService, opts, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetService fetches one service by id (errors.Is ErrNotFound on 404).
func (c *Client) GetService(ctx context.Context, id string) (*Service, error) {
	var out Service
	if err := c.ByID(ctx, schemaService, id, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateService PUTs only fields (e.g. {"scale": 3}) to the service and
// returns the service as Cattle answered.
func (c *Client) UpdateService(ctx context.Context, svc *Service, fields map[string]any) (*Service, error) {
	if svc == nil {
		return nil, errors.New("update service: nil service")
	}
	var out Service
	if err := c.Update(ctx, &svc.Resource, fields, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ServiceAction runs action (e.g. ActionUpgrade with a *ServiceUpgrade input,
// ActionFinishUpgrade with nil) on svc and returns the service as Cattle
// answered. The action must be in svc.Actions (*ActionNotAvailableError
// otherwise, without a request).
func (c *Client) ServiceAction(ctx context.Context, svc *Service, action string, input any) (*Service, error) {
	if svc == nil {
		return nil, fmt.Errorf("action %s: nil service", action)
	}
	var out Service
	if err := c.Action(ctx, &svc.Resource, action, input, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
