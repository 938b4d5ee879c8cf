package execution

import (
	"context"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
)

// Cattle is the part of the Cattle client executions call.
type Cattle interface {
	GetService(ctx context.Context, id string) (*cattle.Service, error)
	UpdateService(ctx context.Context, svc *cattle.Service, fields map[string]any) (*cattle.Service, error)
	ServiceAction(ctx context.Context, svc *cattle.Service, action string, input any) (*cattle.Service, error)
	ListHosts(ctx context.Context, opts cattle.ListOptions) ([]cattle.Host, error)
	GetHost(ctx context.Context, id string) (*cattle.Host, error)
	CreateHost(ctx context.Context, input any) (*cattle.Host, error)
	CreateExternalHostEvent(ctx context.Context, ev cattle.ExternalHostEvent) (*cattle.ExternalHostEvent, error)
	// Timeout is the client's request timeout: how long Cattle may be working on a request the client gave up
	// on, at the least (the host create settle window is never shorter).
	Timeout() time.Duration
}

// Cache is the part of the informer's store executions read.
type Cache interface {
	Service(id string) (*cattle.Service, bool)
	ServicesWithRepository(repository string) []*cattle.Service
	// InstancesOfService gives the containers whose health gates an upgrade's finish.
	InstancesOfService(serviceID string) []*cattle.Instance
	// Receiver finds the receiver of an upgrade adopted after a restart, for its deadline and grace.
	Receiver(id string) (*cattle.GenericObject, bool)
}

// Enqueuer adds keys to the shared work queue.
type Enqueuer interface {
	Add(key string)
	AddAfter(key string, delay time.Duration)
}
