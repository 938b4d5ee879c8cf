package receivers

import (
	"net/http"
	"strings"
)

// Headers Rancher's proxy sets on /v1-webhooks requests (cattle-protocol.md §6).
const (
	headerProjectID = "X-API-Project-Id"
	headerRoles     = "X-API-Roles"
)

// caller is what a management request is allowed to see and do.
type caller struct {
	projectID string
	// readOnly callers (webhook-service v1.6: X-API-Roles exactly readonly, restricted, v1-readonly or
	// v1-restricted) cannot create, update or delete and get receivers with an empty url.
	readOnly bool
}

// readOnlyRole matches the whole X-API-Roles header, as v1.6 did: a multi-role header never matches.
func readOnlyRole(header string) bool {
	switch header {
	case "readonly", "restricted", "v1-readonly", "v1-restricted":
		return true
	}
	return false
}

// requestProject returns the project a request names: Rancher's X-API-Project-Id header, else ?projectId=.
// Naming two different projects is refused rather than resolved, since only the header is vouched for by the
// proxy. The project must be the one this service runs for; the original served any projectId it was given.
func (a *API) requestProject(r *http.Request) (string, error) {
	header := strings.TrimSpace(r.Header.Get(headerProjectID))
	query := strings.TrimSpace(r.URL.Query().Get("projectId"))
	switch {
	case header == "" && query == "":
		return "", fail(http.StatusBadRequest, "projectId must be supplied as query parameter")
	case header != "" && query != "" && header != query:
		return "", fail(http.StatusForbidden, "projectId %s does not match the environment of the request", query)
	}
	project := header
	if project == "" {
		project = query
	}
	if project != a.projectID {
		return "", fail(http.StatusForbidden, "Forbidden: environment %s is not managed by this service", project)
	}
	return project, nil
}

// identify resolves the caller of a management request.
func (a *API) identify(r *http.Request) (caller, error) {
	project, err := a.requestProject(r)
	if err != nil {
		return caller{}, err
	}
	return caller{projectID: project, readOnly: readOnlyRole(r.Header.Get(headerRoles))}, nil
}

// mayWrite refuses writes to read-only callers with the 405 of webhook-service v1.6.
func (c caller) mayWrite() error {
	if c.readOnly {
		return fail(http.StatusMethodNotAllowed, "Method not allowed: a read-only role cannot change receivers")
	}
	return nil
}
