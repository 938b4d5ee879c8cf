package cattlesim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/rancher/scale-subscriber/cattlesim/eventhub"
)

// Event endpoints (cattle-protocol.md §1.1-1.4, §1.8): GET /v2-beta[/projects/<p>]/subscribe upgrades to the
// event websocket served by the hub, POST /v2-beta[/projects/<p>]/publish feeds replies to it. Both
// authenticate like every API request. Faults are not injected into the websocket (it has its own drop
// control, /_sim/websockets/drop).
//
// A subscription's account is the effective project (a project key's own, or the one an admin/service key
// named), else the key's own account. Service (and superadmin) keys subscribe RAW. resource.change payloads are
// rendered with renderLocked for the subscriber's base URL and project scope, exactly like its REST GETs.
//
// Publishing is allowed for every key kind (Cattle restricts the publish type to agent, admin and service
// accounts; environment-role agent keys, which behave as project keys, can publish): QUALIFIED keys may only
// publish reply.* names (403 otherwise).

// serveSubscribe authenticates a GET on subscribe and hands the connection to the hub.
func (s *Sim) serveSubscribe(w http.ResponseWriter, r *http.Request, ap apiPath, u urlBuilder) {
	sub, refusal, status := s.prepareSubscription(w, r, ap, u)
	if refusal != nil {
		writeBody(w, status, refusal)
		return
	}
	s.hub.ServeSubscription(w, r, sub)
}

// prepareSubscription authorizes a subscribe request under s.mu and logs it; a refusal comes back encoded.
func (s *Sim) prepareSubscription(w http.ResponseWriter, r *http.Request, ap apiPath, u urlBuilder) (eventhub.Subscription, []byte, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req := &apiRequest{r: r, method: http.MethodGet, path: ap, u: u, query: r.URL.Query()}
	resp := s.authorizeLocked(w, req)
	if resp.err == nil && len(ap.rest) > 1 {
		resp = fail(errNotFound())
	}
	if resp.err == nil && !websocket.IsWebSocketUpgrade(r) {
		resp = fail(&apiError{Status: http.StatusBadRequest, Code: "Bad Request",
			Message: "subscribe needs a websocket upgrade"})
	}
	var sub eventhub.Subscription
	if resp.err == nil {
		sub = s.subscriptionLocked(req)
		if err := eventhub.ValidateSubscription(sub); err != nil {
			resp = fail(subscribeError(err))
		}
	}
	if resp.err != nil {
		out, status := s.encodeLocked(resp)
		s.recordCallLocked(r, http.MethodGet, status, req.accountID(), nil)
		return sub, out, status
	}
	s.recordCallLocked(r, http.MethodGet, http.StatusSwitchingProtocols, req.accountID(), nil)
	return sub, nil, 0
}

// subscriptionLocked builds the hub subscription of an authenticated request.
func (s *Sim) subscriptionLocked(req *apiRequest) eventhub.Subscription {
	account := req.account
	if account == 0 {
		account = req.cred.AccountID
	}
	base, scope := req.u.base, req.u.scope
	return eventhub.Subscription{
		AccountID:  FormatID("account", account),
		Raw:        isRaw(req.cred),
		EventNames: req.query["eventNames"],
		Render: func(resourceType, resourceID string) (json.RawMessage, string, bool) {
			return s.renderEvent(resourceType, resourceID, base, scope)
		},
	}
}

// renderEvent renders a changed resource for one subscriber at flush time. Objects that are gone, or removed
// but past "removed" (purged), produce no event (§1.7).
func (s *Sim) renderEvent(resourceType, resourceID, base, scope string) (json.RawMessage, string, bool) {
	id, ok := ParseID(resourceID)
	if !ok {
		return nil, "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.getLocked(resourceType, id)
	if o == nil || (o.Removed != nil && o.State != "removed") {
		return nil, "", false
	}
	b, err := marshalPlain(s.renderLocked(o, base, scope))
	if err != nil {
		s.log.WithFields(map[string]any{"resource_type": resourceType, "resource_id": resourceID, "err": err}).
			Error("render resource change")
		return nil, "", false
	}
	return b, o.Type, true
}

// subscribeError maps a hub refusal to the API error it answers with.
func subscribeError(err error) *apiError {
	var se *eventhub.SubscribeError
	if errors.As(err, &se) {
		return &apiError{Status: se.Status, Code: se.Code, Message: se.Message, FieldName: se.FieldName}
	}
	return statusError(http.StatusInternalServerError)
}

// publishLocked serves POST on publish: the hub records the publish and matches it to a waiting request.
// The answer is the publish as a resource (201).
func (s *Sim) publishLocked(req *apiRequest) response {
	if len(req.path.rest) > 1 {
		return fail(errNotFound())
	}
	if req.method != http.MethodPost {
		return fail(statusError(http.StatusMethodNotAllowed))
	}
	if err := s.hub.HandlePublish(isRaw(req.cred), req.body); err != nil {
		var pe *eventhub.PublishError
		if errors.As(err, &pe) {
			return fail(&apiError{Status: pe.Status, Code: pe.Code, Message: pe.Message, FieldName: pe.FieldName})
		}
		return fail(statusError(http.StatusInternalServerError))
	}
	body, _ := decodeBody(req.body) // HandlePublish accepted it, so it is an object
	out := map[string]any{}
	for k, v := range body {
		out[k] = v
	}
	if id, _ := out["id"].(string); strings.TrimSpace(id) == "" {
		out["id"] = s.uuidLocked()
	}
	out["type"] = "publish"
	out["links"] = map[string]string{}
	out["actions"] = map[string]string{}
	return answer(http.StatusCreated, out)
}
