package cattlesim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
)

// Writes (cattle-protocol.md §2.5): the REST layer reduces and validates input against the schema, then hands
// it to the state machines (processes.go) and renders the object they left behind.
//
//   - POST <collection>: create:true fields only, unknown keys ignored, defaults applied, required → 422
//     MissingRequired → createLocked → 201.
//   - PUT <self>: update:true fields only; everything else (currentScale, links, actions, id, unknown keys) is
//     dropped silently → updateLocked → 200.
//   - DELETE <self>: removeLocked (405 when the state cannot be removed) → 200 with the reloaded object.
//   - POST <self>[/]?action=<name>: unknown to the schema → 422 InvalidAction; not in the current actions map →
//     422 ActionNotAvailable; else actionLocked → 202 with the reloaded object.

// decodeBody parses a JSON object body; empty means {}. Anything else is 422 InvalidBodyContent.
func decodeBody(body []byte) (map[string]any, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, &apiError{Status: http.StatusUnprocessableEntity, Code: "InvalidBodyContent",
			Message: "request body must be a JSON object"}
	}
	return m, nil
}

// createResourceLocked serves POST on a collection.
func (s *Sim) createResourceLocked(req *apiRequest, sc *Schema) response {
	input, aerr := decodeBody(req.body)
	if aerr != nil {
		return fail(aerr)
	}
	account := req.account
	if account == 0 {
		// An admin/service key without a project says where to create in the body (Cattle's accountId).
		ref, _ := input["accountId"].(string)
		id, ok := ParseID(ref)
		if !ok || !s.projectExistsLocked(id) {
			if ref == "" {
				return fail(validationError("MissingRequired", "accountId"))
			}
			return fail(validationError("InvalidReference", "accountId"))
		}
		account = id
	}
	reduced, aerr := s.reduceInputLocked(sc, account, input, true)
	if aerr != nil {
		return fail(aerr)
	}
	o, aerr := s.createLocked(account, sc, reduced)
	if aerr != nil {
		return fail(aerr)
	}
	return answer(http.StatusCreated, s.renderLocked(o, req.u.base, req.u.scope))
}

// updateResourceLocked serves PUT on a resource.
func (s *Sim) updateResourceLocked(req *apiRequest, o *Object) response {
	input, aerr := decodeBody(req.body)
	if aerr != nil {
		return fail(aerr)
	}
	sc := s.schemas[o.Type]
	if sc == nil {
		return fail(statusError(http.StatusMethodNotAllowed))
	}
	changes, aerr := s.reduceInputLocked(sc, ownerAccount(o), input, false)
	if aerr != nil {
		return fail(aerr)
	}
	if aerr := s.updateLocked(o, changes); aerr != nil {
		return fail(aerr)
	}
	return answer(http.StatusOK, s.renderLocked(o, req.u.base, req.u.scope))
}

// deleteResourceLocked serves DELETE on a resource.
func (s *Sim) deleteResourceLocked(req *apiRequest, o *Object) response {
	if aerr := s.removeLocked(o); aerr != nil {
		return fail(aerr)
	}
	return answer(http.StatusOK, s.renderLocked(o, req.u.base, req.u.scope))
}

// runActionLocked serves POST <self>?action=<name>.
func (s *Sim) runActionLocked(req *apiRequest, o *Object, name string) response {
	sc := s.schemas[o.Type]
	if sc == nil {
		return fail(errInvalidAction())
	}
	if _, declared := sc.Actions[name]; !declared {
		return fail(errInvalidAction())
	}
	if !slices.Contains(s.actionsLocked(o), name) {
		return fail(errActionNotAvailable())
	}
	input, aerr := decodeBody(req.body)
	if aerr != nil {
		return fail(aerr)
	}
	if aerr := s.actionLocked(o, name, input); aerr != nil {
		return fail(aerr)
	}
	return answer(http.StatusAccepted, s.renderLocked(o, req.u.base, req.u.scope))
}
