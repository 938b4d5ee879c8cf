package cattlesim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rancher/scale-subscriber/cattlesim/eventhub"
)

// The control surface steers the emulator from tests and tools, as Go methods on Sim and as HTTP under
// /_sim/ (Basic auth with any known key; JSON in and out; no fault injection, not in the call log). The table
// in README.md lists every endpoint:
//
//	POST   /_sim/faults                       {"errorRate":0.2,"errorStatus":503,"latencyMs":50}; {} clears → the faults
//	GET    /_sim/faults                       → the faults
//	POST   /_sim/websockets/drop              → {"dropped":N}
//	POST   /_sim/health-rules                 {"image":"docker:nginx:broken","healthState":"unhealthy"|null} → the rules
//	GET    /_sim/health-rules                 → {"<imageUuid>":"<healthState>"|null}
//	DELETE /_sim/health-rules                 → {} (every image back to "healthy")
//	POST   /_sim/containers/<id>/health       {"healthState":"unhealthy"} → the container
//	POST   /_sim/hosts/<id>/agentstate        {"agentState":"disconnected"} → the host
//	POST   /_sim/stall                        {"type":"service","id":"1s5","stalled":true} → {"stalled":true}
//	GET    /_sim/calls[?since=<n>]            → {"calls":[...],"next":<n>}
//	DELETE /_sim/calls                        → {"calls":[],"next":<n>}
//	POST   /_sim/requests                     {"name":"x.y","resourceType":"service","resourceId":"1s5","data":{},"timeoutMillis":2000} → the final reply
//	POST   /_sim/projects/<p>/logout          → {"loggedOut":N}
//	GET    /_sim/state                        → counts per type and state, subscribers, calls

// Health states a health rule may give new containers; "" means "no health check" (healthState null).
var ruleHealthStates = map[string]bool{"": true, "healthy": true, "unhealthy": true, "initializing": true}

// SetFaults replaces the faults injected into REST answers; the zero value clears them. ErrorRate must be in
// [0,1], ErrorStatus (default 503 when a rate is set) a 4xx/5xx, LatencyMs >= 0.
func (s *Sim) SetFaults(f Faults) error {
	if f.ErrorRate < 0 || f.ErrorRate > 1 {
		return errorf("MaxLimitExceeded", "errorRate", "errorRate must be between 0 and 1")
	}
	if f.ErrorStatus != 0 && (f.ErrorStatus < 400 || f.ErrorStatus > 599) {
		return errorf("InvalidOption", "errorStatus", "errorStatus must be a 4xx or 5xx status")
	}
	if f.LatencyMs < 0 {
		return errorf("MinLimitExceeded", "latencyMs", "latencyMs must not be negative")
	}
	if f.ErrorRate > 0 && f.ErrorStatus == 0 {
		f.ErrorStatus = http.StatusServiceUnavailable
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	return nil
}

// Faults returns the faults currently injected.
func (s *Sim) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// DropWebsockets closes every event subscription abruptly, like a network drop, and returns how many.
func (s *Sim) DropWebsockets() int { return s.hub.DropAll() }

// Subscribers returns how many event subscriptions are open.
func (s *Sim) Subscribers() int { return s.hub.Subscribers() }

// Logout sends {"name":"logout"} to the subscriptions of a project (API id, e.g. "1a5") and closes them.
func (s *Sim) Logout(projectID string) int { return s.hub.Logout(projectID) }

// SetHealthRule sets the healthState new containers of imageUuid get once their health check ran: "healthy"
// (the default for images without a rule), "unhealthy", "initializing" (stays initializing), or "" for no
// health check at all (healthState null).
func (s *Sim) SetHealthRule(imageUUID, healthState string) error {
	if imageUUID == "" {
		return validationError("MissingRequired", "image")
	}
	if !ruleHealthStates[healthState] {
		return errorf("InvalidOption", "healthState", "healthState must be healthy, unhealthy, initializing or null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.healthRules[imageUUID] = healthState
	return nil
}

// HealthRules returns the health rules by imageUuid ("" = no health check).
func (s *Sim) HealthRules() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.healthRules))
	for k, v := range s.healthRules {
		out[k] = v
	}
	return out
}

// ClearHealthRules removes every health rule.
func (s *Sim) ClearHealthRules() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.healthRules)
}

// SetContainerHealth sets a container's healthState now (e.g. "unhealthy", "healthy"), running the health
// processes of §5. id is the API id ("1i12").
func (s *Sim) SetContainerHealth(id, healthState string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.objectByIDLocked("instance", id)
	if err != nil {
		return err
	}
	if aerr := s.setContainerHealthLocked(o, healthState); aerr != nil {
		return aerr
	}
	return nil
}

// SetHostAgentState sets a host's agentState (e.g. "disconnected", "reconnecting"; "" clears it). The v2-beta
// API then shows it as the host's state while the stored state is active (§4.2).
func (s *Sim) SetHostAgentState(id, agentState string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.objectByIDLocked("host", id)
	if err != nil {
		return err
	}
	if aerr := s.setHostAgentStateLocked(o, agentState); aerr != nil {
		return aerr
	}
	return nil
}

// Stall holds (stalled=true) or releases the state machines of one object: its pending transitions wait
// until released, then run at once. typ is a schema or base type ("service", "loadBalancerService", "host",
// "container"...), id its API id.
func (s *Sim) Stall(typ, id string, stalled bool) error {
	sc := s.schemaByID(typ)
	if sc == nil {
		return errorf("InvalidOption", "type", "unknown type %q", typ)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.objectByIDLocked(sc.BaseType, id)
	if err != nil {
		return err
	}
	s.setStalledLocked(o, stalled)
	return nil
}

// objectByIDLocked finds a stored object by base type and API id, or a 404 error.
func (s *Sim) objectByIDLocked(baseType, id string) (*Object, *apiError) {
	n, ok := ParseID(id)
	if !ok {
		return nil, errNotFound()
	}
	o := s.getLocked(baseType, n)
	if o == nil {
		return nil, errNotFound()
	}
	return o, nil
}

// Request sends a request event (with a replyTo) to the subscribers of a project (API id) and waits for the
// final reply, re-sending once after TimeoutMillis like Cattle (default Options.ReplyTimeout). An error reply
// returns the Reply and an *eventhub.ReplyError; no reply an *eventhub.TimeoutError.
func (s *Sim) Request(ctx context.Context, projectID string, ev eventhub.Event) (eventhub.Reply, error) {
	if ev.TimeoutMillis <= 0 {
		ev.TimeoutMillis = s.opts.ReplyTimeout.Milliseconds()
	}
	reply, err := s.hub.Request(ctx, projectID, ev)
	if err != nil {
		return reply, fmt.Errorf("request %s: %w", ev.Name, err)
	}
	return reply, nil
}

// SimState summarises the store for tests: live (not removed) objects per type, objects per type and stored
// state (removed ones included), open subscriptions and the number of logged calls.
type SimState struct {
	Counts      map[string]int            `json:"counts"`
	States      map[string]map[string]int `json:"states"`
	Subscribers int                       `json:"subscribers"`
	Calls       int                       `json:"calls"`
}

// State returns a SimState snapshot.
func (s *Sim) State() SimState {
	st := SimState{Counts: map[string]int{}, States: map[string]map[string]int{}}
	s.mu.Lock()
	for _, table := range s.objects {
		for _, o := range table {
			if o.Removed == nil {
				st.Counts[o.Type]++
			}
			if st.States[o.Type] == nil {
				st.States[o.Type] = map[string]int{}
			}
			st.States[o.Type][o.State]++
		}
	}
	st.Calls = s.callsDropped + len(s.calls)
	s.mu.Unlock()
	st.Subscribers = s.hub.Subscribers()
	return st
}

// serveControl serves /_sim/.
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	body, rerr := readBody(w, r)
	if rerr != nil {
		s.writeControl(w, fail(rerr))
		return
	}
	s.mu.Lock()
	cred, aerr := s.authenticateLocked(r)
	var account int64
	if aerr == nil {
		account, aerr = s.resolveProjectLocked(cred, apiPath{}, r)
	}
	s.mu.Unlock()
	if aerr != nil {
		s.writeControl(w, fail(aerr))
		return
	}
	if account == 0 {
		account = cred.AccountID
	}
	s.writeControl(w, s.controlRoute(r, body, account))
}

// controlRoute dispatches one control request.
func (s *Sim) controlRoute(r *http.Request, body []byte, account int64) response {
	segs := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sim/"), "/"), "/")
	route := r.Method + " " + segs[0]
	switch {
	case route == "GET faults" && len(segs) == 1:
		return answer(http.StatusOK, s.Faults())
	case route == "POST faults" && len(segs) == 1:
		var f Faults
		if aerr := decodeStrict(body, &f); aerr != nil {
			return fail(aerr)
		}
		if err := s.SetFaults(f); err != nil {
			return fail(asAPIError(err))
		}
		return answer(http.StatusOK, s.Faults())
	case route == "POST websockets" && len(segs) == 2 && segs[1] == "drop":
		return answer(http.StatusOK, map[string]int{"dropped": s.DropWebsockets()})
	case route == "GET health-rules" && len(segs) == 1:
		return answer(http.StatusOK, renderRules(s.HealthRules()))
	case route == "DELETE health-rules" && len(segs) == 1:
		s.ClearHealthRules()
		return answer(http.StatusOK, map[string]any{})
	case route == "POST health-rules" && len(segs) == 1:
		return s.controlHealthRule(body)
	case route == "POST containers" && len(segs) == 3 && segs[2] == "health":
		return s.controlSet(r, body, "healthState", "instance", segs[1], s.SetContainerHealth)
	case route == "POST hosts" && len(segs) == 3 && segs[2] == "agentstate":
		return s.controlSet(r, body, "agentState", "host", segs[1], s.SetHostAgentState)
	case route == "POST stall" && len(segs) == 1:
		var in struct {
			Type    string `json:"type"`
			ID      string `json:"id"`
			Stalled *bool  `json:"stalled"`
		}
		if aerr := decodeStrict(body, &in); aerr != nil {
			return fail(aerr)
		}
		if in.Stalled == nil {
			return fail(validationError("MissingRequired", "stalled"))
		}
		if err := s.Stall(in.Type, in.ID, *in.Stalled); err != nil {
			return fail(asAPIError(err))
		}
		return answer(http.StatusOK, map[string]bool{"stalled": *in.Stalled})
	case route == "GET calls" && len(segs) == 1:
		since := 0
		if v := r.URL.Query().Get("since"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fail(errorf("InvalidFormat", "since", "since must be a non-negative integer"))
			}
			since = n
		}
		calls, next := s.CallsSince(since)
		return answer(http.StatusOK, map[string]any{"calls": calls, "next": next})
	case route == "DELETE calls" && len(segs) == 1:
		s.ClearCalls()
		_, next := s.CallsSince(0)
		return answer(http.StatusOK, map[string]any{"calls": []Call{}, "next": next})
	case route == "POST requests" && len(segs) == 1:
		return s.controlRequest(r.Context(), body, account)
	case route == "POST projects" && len(segs) == 3 && segs[2] == "logout":
		if _, ok := ParseID(segs[1]); !ok {
			return fail(errorf("InvalidFormat", "projectId", "bad project id %q", segs[1]))
		}
		return answer(http.StatusOK, map[string]int{"loggedOut": s.Logout(segs[1])})
	case route == "GET state" && len(segs) == 1:
		return answer(http.StatusOK, s.State())
	}
	return fail(errNotFound())
}

// controlHealthRule serves POST /_sim/health-rules; healthState must be present (null = no health check).
func (s *Sim) controlHealthRule(body []byte) response {
	in, aerr := decodeBody(body)
	if aerr != nil {
		return fail(aerr)
	}
	image, _ := in["image"].(string)
	raw, present := in["healthState"]
	if !present {
		return fail(validationError("MissingRequired", "healthState"))
	}
	state, isString := raw.(string)
	if raw != nil && !isString {
		return fail(validationError("InvalidFormat", "healthState"))
	}
	if err := s.SetHealthRule(image, state); err != nil {
		return fail(asAPIError(err))
	}
	return answer(http.StatusOK, renderRules(s.HealthRules()))
}

// renderRules shows "no health check" rules as null.
func renderRules(rules map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range rules {
		out[k] = nullIfEmpty(v)
	}
	return out
}

// controlSet serves the container-health and host-agentstate endpoints: read one string field, apply it,
// answer with the object as the REST API renders it.
func (s *Sim) controlSet(r *http.Request, body []byte, field, baseType, id string, set func(id, value string) error) response {
	in, aerr := decodeBody(body)
	if aerr != nil {
		return fail(aerr)
	}
	raw, present := in[field]
	if !present {
		return fail(validationError("MissingRequired", field))
	}
	value, isString := raw.(string)
	if raw != nil && !isString {
		return fail(validationError("InvalidFormat", field))
	}
	if err := set(id, value); err != nil {
		return fail(asAPIError(err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, aerr := s.objectByIDLocked(baseType, id)
	if aerr != nil {
		return fail(aerr)
	}
	return answer(http.StatusOK, s.renderLocked(o, requestBase(r), ""))
}

// controlRequest serves POST /_sim/requests for the caller's project.
func (s *Sim) controlRequest(ctx context.Context, body []byte, account int64) response {
	var in struct {
		Name          string          `json:"name"`
		ResourceType  string          `json:"resourceType"`
		ResourceID    string          `json:"resourceId"`
		Data          json.RawMessage `json:"data"`
		TimeoutMillis int64           `json:"timeoutMillis"`
	}
	if aerr := decodeStrict(body, &in); aerr != nil {
		return fail(aerr)
	}
	if in.Name == "" {
		return fail(validationError("MissingRequired", "name"))
	}
	if len(in.Data) > 0 && string(in.Data) != "null" && !json.Valid(in.Data) {
		return fail(validationError("InvalidFormat", "data"))
	}
	if in.TimeoutMillis < 0 {
		return fail(errorf("MinLimitExceeded", "timeoutMillis", "timeoutMillis must not be negative"))
	}
	ev := eventhub.Event{Name: in.Name, ResourceType: in.ResourceType, ResourceID: in.ResourceID,
		Data: in.Data, TimeoutMillis: in.TimeoutMillis, Time: s.now().UnixMilli()}
	reply, err := s.Request(ctx, FormatID("account", account), ev)
	var replyErr *eventhub.ReplyError
	var timeoutErr *eventhub.TimeoutError
	switch {
	case err == nil, errors.As(err, &replyErr):
		return answer(http.StatusOK, reply)
	case errors.As(err, &timeoutErr):
		return fail(&apiError{Status: http.StatusGatewayTimeout, Code: "Gateway Timeout", Message: err.Error()})
	default:
		return fail(&apiError{Status: http.StatusServiceUnavailable, Code: "Service Unavailable", Message: err.Error()})
	}
}

// decodeStrict decodes a JSON object body into v (empty = zero value); unknown fields are 422 so typos in
// test setups fail loudly.
func decodeStrict(body []byte, v any) *apiError {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "InvalidBodyContent", Message: err.Error()}
	}
	return nil
}

// asAPIError unwraps the API error of a control method.
func asAPIError(err error) *apiError {
	var aerr *apiError
	if errors.As(err, &aerr) {
		return aerr
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "Internal Server Error", Message: err.Error()}
}

// writeControl writes a control answer (plain JSON: no "/" escaping).
func (s *Sim) writeControl(w http.ResponseWriter, resp response) {
	var payload any = resp.payload
	status := resp.status
	s.mu.Lock()
	if resp.err != nil {
		payload, status = s.errorPayloadLocked(resp.err), resp.err.Status
	}
	s.mu.Unlock()
	b, err := marshalPlain(payload)
	if err != nil {
		b, status = []byte(`{"type":"error","status":500,"code":"Internal Server Error"}`), http.StatusInternalServerError
	}
	writeBody(w, status, b)
}
