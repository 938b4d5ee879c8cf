package cattle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
)

// driverConfigSuffix ends the names of the machine driver configs Cattle
// merges into a host (amazonec2Config, digitaloceanConfig, ...).
const driverConfigSuffix = "Config"

// Host is a Cattle host. Cloneable (machine-driver) hosts carry their driver
// settings in a top-level "<driver>Config" object; DriverConfigs keeps every
// such member (name ending in "Config", value a non-null object) verbatim and
// MarshalJSON writes them back at the top level, so a host can be cloned
// without the client knowing each driver's fields.
type Host struct {
	Resource
	Hostname               string          `json:"hostname,omitempty"`
	Labels                 Labels          `json:"labels,omitempty"`
	AgentState             string          `json:"agentState,omitempty"`
	AgentIPAddress         string          `json:"agentIpAddress,omitempty"`
	Driver                 string          `json:"driver,omitempty"`
	HostTemplateID         string          `json:"hostTemplateId,omitempty"`
	PhysicalHostID         string          `json:"physicalHostId,omitempty"`
	InstanceIDs            []string        `json:"instanceIds,omitempty"`
	Memory                 int64           `json:"memory,omitempty"`
	MilliCPU               int64           `json:"milliCpu,omitempty"`
	LocalStorageMb         int64           `json:"localStorageMb,omitempty"`
	EngineInstallURL       string          `json:"engineInstallUrl,omitempty"`
	EngineStorageDriver    string          `json:"engineStorageDriver,omitempty"`
	EngineOpt              json.RawMessage `json:"engineOpt,omitempty"`
	EngineEnv              json.RawMessage `json:"engineEnv,omitempty"`
	EngineLabel            json.RawMessage `json:"engineLabel,omitempty"`
	EngineInsecureRegistry json.RawMessage `json:"engineInsecureRegistry,omitempty"`
	EngineRegistryMirror   json.RawMessage `json:"engineRegistryMirror,omitempty"`

	// DriverConfigs maps member names like "amazonec2Config" to their JSON.
	DriverConfigs map[string]json.RawMessage `json:"-"`
}

// hostFields is Host without its methods, for the default codec.
type hostFields Host

// UnmarshalJSON decodes the known members and collects the driver configs.
func (h *Host) UnmarshalJSON(data []byte) error {
	var known hostFields
	if err := json.Unmarshal(data, &known); err != nil {
		return fmt.Errorf("host: %w", err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return fmt.Errorf("host: %w", err)
	}
	known.DriverConfigs = nil
	for k, v := range all {
		if isDriverConfig(k, v) {
			if known.DriverConfigs == nil {
				known.DriverConfigs = make(map[string]json.RawMessage)
			}
			known.DriverConfigs[k] = v
		}
	}
	*h = Host(known)
	return nil
}

// MarshalJSON writes the known members plus every driver config.
func (h Host) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(hostFields(h))
	if err != nil || len(h.DriverConfigs) == 0 {
		return b, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k, v := range h.DriverConfigs {
		if _, taken := all[k]; !taken && len(v) > 0 {
			all[k] = v
		}
	}
	return json.Marshal(all)
}

// DriverConfig returns the host's machine driver config: the member named
// after Driver when present, else the only driver config. ok is false for
// custom hosts (none) and when several configs leave it ambiguous.
func (h *Host) DriverConfig() (name string, config json.RawMessage, ok bool) {
	if h.Driver != "" {
		name = h.Driver + driverConfigSuffix
		if v, found := h.DriverConfigs[name]; found {
			return name, bytes.Clone(v), true
		}
	}
	if len(h.DriverConfigs) != 1 {
		return "", nil, false
	}
	for k, v := range h.DriverConfigs {
		return k, bytes.Clone(v), true
	}
	return "", nil, false
}

// Clone returns a deep copy, e.g. to build a create input from an existing
// host.
func (h *Host) Clone() *Host {
	if h == nil {
		return nil
	}
	out := *h
	out.Links = maps.Clone(h.Links)
	out.Actions = maps.Clone(h.Actions)
	out.Data = cloneRawMap(h.Data)
	out.Labels = h.Labels.Clone()
	out.InstanceIDs = append([]string(nil), h.InstanceIDs...)
	out.EngineOpt = bytes.Clone(h.EngineOpt)
	out.EngineEnv = bytes.Clone(h.EngineEnv)
	out.EngineLabel = bytes.Clone(h.EngineLabel)
	out.EngineInsecureRegistry = bytes.Clone(h.EngineInsecureRegistry)
	out.EngineRegistryMirror = bytes.Clone(h.EngineRegistryMirror)
	out.DriverConfigs = cloneRawMap(h.DriverConfigs)
	return &out
}

func cloneRawMap(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = bytes.Clone(v)
	}
	return out
}

func isDriverConfig(name string, value json.RawMessage) bool {
	if len(name) <= len(driverConfigSuffix) || !strings.HasSuffix(name, driverConfigSuffix) {
		return false
	}
	value = bytes.TrimSpace(value)
	return len(value) > 0 && value[0] == '{'
}

const schemaHost = "host"

// ListHosts lists hosts. Sort "created" with OrderDesc gives newest first.
func (c *Client) ListHosts(ctx context.Context, opts ListOptions) ([]Host, error) {
	var out []Host
	if err := c.List(ctx, schemaHost, opts, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetHost fetches one host by id (errors.Is ErrNotFound on 404).
func (c *Client) GetHost(ctx context.Context, id string) (*Host, error) {
	var out Host
	if err := c.ByID(ctx, schemaHost, id, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateHost creates a host from input: a map, a *Host (e.g. a Clone with a
// new Hostname and empty Name; Cattle ignores members that are not
// creatable), or any JSON-encodable value. Cattle requires a hostname and
// exactly one driver config or a hostTemplateId (422
// DriverConfigExactlyOneRequired otherwise).
func (c *Client) CreateHost(ctx context.Context, input any) (*Host, error) {
	var out Host
	if err := c.Create(ctx, schemaHost, input, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
