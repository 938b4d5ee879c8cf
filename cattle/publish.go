package cattle

import (
	"context"
	"encoding/json"
	"errors"
)

// Publish is a message posted to Cattle's publish collection, chiefly the
// reply to an event that carried replyTo: Name = the event's replyTo,
// PreviousIDs = [the event's id]. Transitioning "yes" is progress, "error" a
// failure (TransitioningMessage says why), absent or "no" success. Time is
// epoch milliseconds.
type Publish struct {
	ID                           string          `json:"id,omitempty"`
	Name                         string          `json:"name"`
	PreviousIDs                  []string        `json:"previousIds,omitempty"`
	Data                         json.RawMessage `json:"data,omitempty"`
	Transitioning                string          `json:"transitioning,omitempty"`
	TransitioningMessage         string          `json:"transitioningMessage,omitempty"`
	TransitioningInternalMessage string          `json:"transitioningInternalMessage,omitempty"`
	TransitioningProgress        *int            `json:"transitioningProgress,omitempty"`
	ResourceID                   string          `json:"resourceId,omitempty"`
	ResourceType                 string          `json:"resourceType,omitempty"`
	Publisher                    string          `json:"publisher,omitempty"`
	Time                         int64           `json:"time,omitempty"`
}

const schemaPublish = "publish"

// Publish posts p to the publish collection. Name is required; Cattle
// answers 403 when a project-scoped key publishes a name not starting with
// "reply.".
func (c *Client) Publish(ctx context.Context, p Publish) error {
	if p.Name == "" {
		return errors.New("create publish: empty name")
	}
	return c.Create(ctx, schemaPublish, p, nil)
}
