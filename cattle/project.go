package cattle

// Project is a Cattle environment ("account" of kind project, id 1a<n>).
type Project struct {
	Resource
	Orchestration string `json:"orchestration,omitempty"`
	HealthState   string `json:"healthState,omitempty"`
}
