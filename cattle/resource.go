package cattle

import "encoding/json"

// Values of Resource.Transitioning.
const (
	TransitioningYes   = "yes"
	TransitioningNo    = "no"
	TransitioningError = "error"
)

// Resource holds the members every Cattle resource carries. It is embedded in
// the typed resources. Empty members are omitted when marshalling so the
// typed resources can double as create input.
type Resource struct {
	ID                    string                     `json:"id,omitempty"`
	Type                  string                     `json:"type,omitempty"`
	BaseType              string                     `json:"baseType,omitempty"`
	Links                 map[string]string          `json:"links,omitempty"`
	Actions               map[string]string          `json:"actions,omitempty"`
	State                 string                     `json:"state,omitempty"`
	Transitioning         string                     `json:"transitioning,omitempty"`
	TransitioningMessage  string                     `json:"transitioningMessage,omitempty"`
	TransitioningProgress int64                      `json:"transitioningProgress,omitempty"`
	AccountID             string                     `json:"accountId,omitempty"`
	Name                  string                     `json:"name,omitempty"`
	Kind                  string                     `json:"kind,omitempty"`
	UUID                  string                     `json:"uuid,omitempty"`
	Description           string                     `json:"description,omitempty"`
	Created               string                     `json:"created,omitempty"`
	CreatedTS             int64                      `json:"createdTS,omitempty"`
	Removed               string                     `json:"removed,omitempty"`
	RemoveTime            string                     `json:"removeTime,omitempty"`
	Data                  map[string]json.RawMessage `json:"data,omitempty"`
}

// HasAction reports whether Cattle offers action in the resource's current
// state.
func (r *Resource) HasAction(action string) bool {
	_, ok := r.Actions[action]
	return ok
}

// IsRemoved reports whether the resource has been removed (GET by id still
// returns removed resources).
func (r *Resource) IsRemoved() bool {
	return r.Removed != "" || r.State == "removed" || r.State == "purging" || r.State == "purged"
}
