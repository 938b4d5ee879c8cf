package cattle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Headers Cattle sets on every API response.
const (
	headerSchemas     = "X-API-Schemas"
	headerAccountID   = "X-API-Account-Id"
	headerAccountKind = "X-API-Account-Kind"
)

// discover resolves the project (when projectID is empty) and loads the
// project-scoped schemas, following go-rancher's bootstrap: GET the project
// URL, require 200, read X-API-Schemas, GET the schemas collection.
func (c *Client) discover(ctx context.Context, projectID string) error {
	if projectID == "" {
		id, err := c.discoverProject(ctx)
		if err != nil {
			return fmt.Errorf("discover cattle project: %w", err)
		}
		projectID = id
	}
	c.projectID = projectID

	projectURL := c.endpoint.projectURL(projectID)
	meta, err := c.discoveryGet(ctx, projectURL, nil)
	if err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) && (apiErr.Status == http.StatusNotFound || apiErr.Status == http.StatusForbidden) {
			return fmt.Errorf("open cattle project %s: the project does not exist or these keys may not use it: %w", projectID, err)
		}
		return fmt.Errorf("open cattle project %s: %w", projectID, err)
	}
	schemasURL, err := schemasLink(meta)
	if err != nil {
		return fmt.Errorf("open cattle project %s: %w", projectID, err)
	}
	rows, err := c.collect(ctx, schemasURL, 0)
	if err != nil {
		return fmt.Errorf("load cattle schemas from %s: %w", redactRawURL(schemasURL), err)
	}
	c.schemas = make(map[string]Schema, len(rows))
	for _, row := range rows {
		var s Schema
		if err := json.Unmarshal(row, &s); err != nil {
			return fmt.Errorf("load cattle schemas from %s: decode schema: %w", redactRawURL(schemasURL), err)
		}
		if s.ID != "" {
			c.schemas[s.ID] = s
		}
	}
	if len(c.schemas) == 0 {
		return fmt.Errorf("load cattle schemas from %s: no schemas", redactRawURL(schemasURL))
	}
	return nil
}

// discoverProject finds the project bound to the keys: environment keys (and
// agent keys acting for an environment) authenticate as the project itself,
// which Cattle reports in X-API-Account-Kind/-Id; otherwise the keys must see
// exactly one project.
func (c *Client) discoverProject(ctx context.Context) (string, error) {
	meta, err := c.discoveryGet(ctx, c.endpoint.versionURL(), nil)
	if err != nil {
		return "", err
	}
	if id := meta.header.Get(headerAccountID); id != "" && strings.EqualFold(meta.header.Get(headerAccountKind), "project") {
		return id, nil
	}

	var page struct {
		Data       []Project `json:"data"`
		Pagination *struct {
			Next string `json:"next"`
		} `json:"pagination"`
	}
	if _, err := c.discoveryGet(ctx, c.endpoint.versionURL()+"/projects", &page); err != nil {
		return "", err
	}
	var ids []string
	for _, p := range page.Data {
		ids = append(ids, p.ID)
	}
	more := page.Pagination != nil && page.Pagination.Next != ""
	switch {
	case len(ids) == 1 && !more:
		return ids[0], nil
	case len(ids) == 0:
		return "", errors.New("these keys see no project; pass --project-id")
	case more:
		return "", fmt.Errorf("these keys see more than %d projects; pass --project-id to choose one", len(ids))
	default:
		return "", fmt.Errorf("these keys see %d projects (%s); pass --project-id to choose one", len(ids), strings.Join(ids, ", "))
	}
}

// discoveryGet is a GET that must answer 200 and whose failures are phrased
// for an operator reading a startup error: rejected keys and an unreachable
// server are named as such.
func (c *Client) discoveryGet(ctx context.Context, target string, out any) (response, error) {
	meta, err := c.do(ctx, http.MethodGet, target, nil, out)
	var transportErr *TransportError
	switch {
	case errors.Is(err, ErrUnauthorized):
		return meta, fmt.Errorf("cattle rejected the access key and secret key at %s: %w", redactRawURL(target), err)
	case errors.As(err, &transportErr):
		return meta, fmt.Errorf("cattle is unreachable at %s: %w", c.endpoint.root, err)
	case err != nil:
		return meta, err
	case meta.status != http.StatusOK:
		return meta, fmt.Errorf("GET %s: expected status 200, got %d", redactRawURL(target), meta.status)
	}
	return meta, nil
}

// schemasLink reads X-API-Schemas, resolved against the answering URL.
func schemasLink(meta response) (string, error) {
	link := meta.header.Get(headerSchemas)
	if link == "" {
		return "", fmt.Errorf("no %s header in the answer from %s (is the url the cattle api)", headerSchemas, redactURL(meta.url))
	}
	resolved, err := meta.url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("parse %s header: %w", headerSchemas, err)
	}
	return resolved.String(), nil
}
