package receivers

import (
	"net/http"
)

// receiverResource is a receiver as the API renders it (webhook-service's model.Webhook): all four config
// objects are always present, {} when unused.
type receiverResource struct {
	ID                   string               `json:"id"`
	Type                 string               `json:"type"`
	Links                map[string]string    `json:"links"`
	Actions              map[string]string    `json:"actions"`
	URL                  string               `json:"url"`
	Driver               string               `json:"driver"`
	Name                 string               `json:"name"`
	State                string               `json:"state"`
	ScaleServiceConfig   ScaleServiceConfig   `json:"scaleServiceConfig"`
	ServiceUpgradeConfig ServiceUpgradeConfig `json:"serviceUpgradeConfig"`
	ScaleHostConfig      ScaleHostConfig      `json:"scaleHostConfig"`
	ForwardPostConfig    ForwardPostConfig    `json:"forwardPostConfig"`
	// Notify is ours, left out when the receiver has none (so receivers of the original render as before).
	Notify *notifyView `json:"notify,omitempty"`
	// RateLimit is ours, left out when the receiver has no limit of its own.
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
}

// receiverCollection is the answer of GET /v1-webhooks/receivers.
type receiverCollection struct {
	Type         string             `json:"type"`
	ResourceType string             `json:"resourceType"`
	Links        map[string]string  `json:"links"`
	Data         []receiverResource `json:"data"`
}

// apiVersion is the answer of GET /v1-webhooks: links to the collections.
type apiVersion struct {
	Type    string            `json:"type"`
	Links   map[string]string `json:"links"`
	Actions map[string]string `json:"actions"`
}

// render turns a receiver into its resource for a caller; read-only callers get an empty url, as in v1.6.
func (a *API) render(r *http.Request, c caller, rcv Receiver) receiverResource {
	out := receiverResource{
		ID:      rcv.ID,
		Type:    "receiver",
		Links:   map[string]string{"self": withProject(responseBase(r)+apiPrefix+"/receivers/"+rcv.ID, c.projectID)},
		Actions: map[string]string{},
		Driver:  rcv.Driver,
		Name:    rcv.Name,
		State:   rcv.State,
		Notify:  renderNotify(rcv.Notify, c.readOnly),
		// A copy, so the rendering never aliases the cached receiver.
		RateLimit: cloneRateLimit(rcv.RateLimit),
	}
	if !c.readOnly {
		out.URL = rcv.URL
	}
	switch rcv.Driver {
	case DriverScaleService:
		out.ScaleServiceConfig = rcv.ScaleService
	case DriverScaleHost:
		out.ScaleHostConfig = rcv.ScaleHost
	case DriverServiceUpgrade:
		// The secret is write-only.
		out.ServiceUpgradeConfig = rcv.ServiceUpgrade.redacted()
	case DriverForwardPost:
		out.ForwardPostConfig = rcv.ForwardPost
	}
	return out
}

// serveVersion answers GET /v1-webhooks: the apiVersion resource of the original (links to every collection
// with ?projectId=), plus executions when mounted.
func (a *API) serveVersion(w http.ResponseWriter, r *http.Request) error {
	c, err := a.identify(r)
	if err != nil {
		return err
	}
	base := responseBase(r) + apiPrefix
	links := map[string]string{
		"self":      withProject(requestURL(r), c.projectID),
		"receivers": withProject(base+"/receivers", c.projectID),
		"schemas":   withProject(base+"/schemas", c.projectID),
	}
	if a.executions != nil {
		links["executions"] = withProject(base+"/executions", c.projectID)
	}
	writeJSON(w, r, http.StatusOK, apiVersion{Type: "apiVersion", Links: links, Actions: map[string]string{}})
	return nil
}

// serveSchemas answers GET /v1-webhooks/schemas. Schemas hold no project data, so no project is required (as in
// the original).
func (a *API) serveSchemas(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, r, http.StatusOK, schemaCollection{
		Type:         "collection",
		ResourceType: "schema",
		Links:        map[string]string{"self": requestURL(r)},
		Data:         renderSchemas(a.schemas, responseBase(r)),
	})
	return nil
}

// serveSchema answers GET /v1-webhooks/schemas/<id>.
func (a *API) serveSchema(w http.ResponseWriter, r *http.Request, id string) error {
	s, ok := findSchema(renderSchemas(a.schemas, responseBase(r)), id)
	if !ok {
		return fail(http.StatusNotFound, "Schema %s not found", id)
	}
	writeJSON(w, r, http.StatusOK, s)
	return nil
}
