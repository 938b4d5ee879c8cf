package cattle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Launch config keys the client reads or writes.
const (
	launchConfigImageUUID   = "imageUuid"
	launchConfigLabels      = "labels"
	launchConfigName        = "name"
	launchConfigVersion     = "version"
	launchConfigHealthCheck = "healthCheck"
)

// LaunchConfig is a service's (or sidekick's) launch configuration, kept
// losslessly: every member Cattle sent is preserved byte for byte and written
// back by MarshalJSON. That matters because an upgrade replaces the launch
// config wholesale, so the client must send back the full current config
// with only the image (and labels) changed; a struct of known fields would
// silently drop ports, volumes, environment and the rest.
//
// Typed accessors cover the members the service uses; Get/Set reach any
// other. The zero value is an empty config. Mutators change only the
// receiver: use Clone before modifying a config read from a Service.
type LaunchConfig struct {
	fields map[string]json.RawMessage
}

// UnmarshalJSON keeps every member of a JSON object.
func (lc *LaunchConfig) UnmarshalJSON(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return fmt.Errorf("launch config: %w", err)
	}
	if fields == nil {
		fields = map[string]json.RawMessage{}
	}
	lc.fields = fields
	return nil
}

// MarshalJSON writes every member back, including those the client does not
// know.
func (lc LaunchConfig) MarshalJSON() ([]byte, error) {
	if lc.fields == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(lc.fields)
}

// Clone returns a deep copy.
func (lc *LaunchConfig) Clone() *LaunchConfig {
	if lc == nil {
		return nil
	}
	out := &LaunchConfig{fields: make(map[string]json.RawMessage, len(lc.fields))}
	for k, v := range lc.fields {
		out.fields[k] = bytes.Clone(v)
	}
	return out
}

// Keys returns the member names, sorted.
func (lc *LaunchConfig) Keys() []string {
	return slices.Sorted(maps.Keys(lc.fields))
}

// Raw returns a copy of one member's JSON and whether it is present.
func (lc *LaunchConfig) Raw(key string) (json.RawMessage, bool) {
	v, ok := lc.fields[key]
	return bytes.Clone(v), ok
}

// Get decodes one member into out. It reports false (and leaves out alone)
// when the member is absent.
func (lc *LaunchConfig) Get(key string, out any) (bool, error) {
	v, ok := lc.fields[key]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(v, out); err != nil {
		return true, fmt.Errorf("launch config member %s: %w", key, err)
	}
	return true, nil
}

// Set replaces one member with the JSON encoding of v.
func (lc *LaunchConfig) Set(key string, v any) error {
	if key == "" {
		return errors.New("launch config: empty member name")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("launch config member %s: %w", key, err)
	}
	if lc.fields == nil {
		lc.fields = map[string]json.RawMessage{}
	}
	lc.fields[key] = b
	return nil
}

// Delete removes one member.
func (lc *LaunchConfig) Delete(key string) { delete(lc.fields, key) }

// ImageUUID is the image reference, "docker:<image>[:tag]" ("docker:rancher/none"
// for selector-only services); "" when absent.
func (lc *LaunchConfig) ImageUUID() string { return rawToString(lc.fields[launchConfigImageUUID]) }

// SetImageUUID sets imageUuid (e.g. "docker:nginx:1.13").
func (lc *LaunchConfig) SetImageUUID(image string) { lc.setString(launchConfigImageUUID, image) }

// Name is the sidekick name (empty for the primary config).
func (lc *LaunchConfig) Name() string { return rawToString(lc.fields[launchConfigName]) }

// Version is the launch config version Cattle assigns per upgrade ("0"
// initially).
func (lc *LaunchConfig) Version() string { return rawToString(lc.fields[launchConfigVersion]) }

// HasHealthCheck reports whether a non-null healthCheck is configured; such
// containers go through healthState initializing before they count as up.
func (lc *LaunchConfig) HasHealthCheck() bool {
	v, ok := lc.fields[launchConfigHealthCheck]
	return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// Labels returns a copy of the labels, decoded leniently (see Labels); nil
// when absent. Changing the copy does not change the config: use SetLabels or
// SetLabel.
func (lc *LaunchConfig) Labels() Labels {
	v, ok := lc.fields[launchConfigLabels]
	if !ok {
		return nil
	}
	var l Labels
	_ = l.UnmarshalJSON(v) // lenient: never fails
	return l
}

// SetLabels replaces the labels; nil removes the member.
func (lc *LaunchConfig) SetLabels(labels Labels) {
	if labels == nil {
		lc.Delete(launchConfigLabels)
		return
	}
	b, _ := json.Marshal(map[string]string(labels)) // a string map always encodes
	lc.setRaw(launchConfigLabels, b)
}

// SetLabel sets one label, keeping the others (non-string values among them
// are stringified).
func (lc *LaunchConfig) SetLabel(key, value string) {
	l := lc.Labels()
	if l == nil {
		l = Labels{}
	}
	l[key] = value
	lc.SetLabels(l)
}

func (lc *LaunchConfig) setString(key, value string) {
	b, _ := json.Marshal(value) // a string always encodes
	lc.setRaw(key, b)
}

func (lc *LaunchConfig) setRaw(key string, b []byte) {
	if lc.fields == nil {
		lc.fields = map[string]json.RawMessage{}
	}
	lc.fields[key] = b
}
