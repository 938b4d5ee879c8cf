package cattle

import "context"

// EventTypeHostEvacuate makes Cattle deactivate a host, remove its
// containers and, with DeleteHost, remove and purge the host itself.
const EventTypeHostEvacuate = "host.evacuate"

// ExternalHostEvent asks Cattle to act on a host server-side (works from any
// host state). Target one host with HostID or a set with HostLabel.
type ExternalHostEvent struct {
	Resource
	EventType  string `json:"eventType,omitempty"`
	HostID     string `json:"hostId,omitempty"`
	HostLabel  string `json:"hostLabel,omitempty"`
	DeleteHost bool   `json:"deleteHost,omitempty"`
}

const schemaExternalHostEvent = "externalHostEvent"

// CreateExternalHostEvent posts ev, e.g.
// {EventType: EventTypeHostEvacuate, HostID: "1h7", DeleteHost: true}.
func (c *Client) CreateExternalHostEvent(ctx context.Context, ev ExternalHostEvent) (*ExternalHostEvent, error) {
	var out ExternalHostEvent
	if err := c.Create(ctx, schemaExternalHostEvent, ev, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
