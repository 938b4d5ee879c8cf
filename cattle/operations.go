package cattle

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// ByID GETs <collection>/<id> of schemaID into out. A 404 yields an error
// matching ErrNotFound; removed resources are returned like any other (state
// "removed"), so callers decide what removal means to them. The schema must
// allow GET on resources.
func (c *Client) ByID(ctx context.Context, schemaID, id string, out any) error {
	if err := c.byID(ctx, schemaID, id, out); err != nil {
		return fmt.Errorf("get %s %s: %w", schemaID, id, err)
	}
	return nil
}

func (c *Client) byID(ctx context.Context, schemaID, id string, out any) error {
	if id == "" {
		return errors.New("empty id")
	}
	target, err := c.resourceURL(schemaID, id, http.MethodGet)
	if err != nil {
		return err
	}
	_, err = c.get(ctx, target, out)
	return err
}

// Create POSTs in as JSON to schemaID's collection and decodes the created
// resource (201) into out, if non-nil. Cattle ignores fields that are not
// creatable. The schema must allow POST on its collection.
func (c *Client) Create(ctx context.Context, schemaID string, in, out any) error {
	coll, err := c.collectionURL(schemaID, http.MethodPost)
	if err == nil {
		_, err = c.do(ctx, http.MethodPost, coll, in, out)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", schemaID, err)
	}
	return nil
}

// Update PUTs fields (only those: Cattle applies updatable fields and drops
// the rest) to r's links.self and decodes the answer into out, if non-nil.
// The schema of r.Type must allow PUT.
func (c *Client) Update(ctx context.Context, r *Resource, fields, out any) error {
	return c.onSelf(ctx, "update", http.MethodPut, r, fields, out)
}

// Delete sends DELETE to r's links.self and decodes the answer (usually the
// resource in state "removing") into out, if non-nil. Cattle answers 405 when
// the state does not allow removal (e.g. an active host). The schema of
// r.Type must allow DELETE.
func (c *Client) Delete(ctx context.Context, r *Resource, out any) error {
	return c.onSelf(ctx, "delete", http.MethodDelete, r, nil, out)
}

func (c *Client) onSelf(ctx context.Context, op, method string, r *Resource, in, out any) error {
	if r == nil {
		return fmt.Errorf("%s: nil resource", op)
	}
	_, err := c.checkResourceMethod(r.Type, method)
	if err == nil {
		self := r.Links["self"]
		if self == "" {
			err = errors.New("resource has no self link")
		} else {
			_, err = c.do(ctx, method, self, in, out)
		}
	}
	if err != nil {
		return fmt.Errorf("%s %s %s: %w", op, r.Type, r.ID, err)
	}
	return nil
}

// Action POSTs input (nil for none) to r.Actions[action] and decodes the
// answer (202, the resource already in its transitioning state) into out, if
// non-nil. An action missing from r.Actions fails with
// *ActionNotAvailableError without contacting Cattle; r should therefore be
// fresh (from a GET or an event).
func (c *Client) Action(ctx context.Context, r *Resource, action string, input, out any) error {
	if r == nil {
		return fmt.Errorf("action %s: nil resource", action)
	}
	target := r.Actions[action]
	var err error
	if target == "" {
		err = &ActionNotAvailableError{Action: action, ResourceType: r.Type, ResourceID: r.ID, State: r.State}
	} else {
		_, err = c.do(ctx, http.MethodPost, target, input, out)
	}
	if err != nil {
		return fmt.Errorf("action %s on %s %s: %w", action, r.Type, r.ID, err)
	}
	return nil
}
