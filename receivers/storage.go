package receivers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
)

// Receivers are stored as webhook-service stored them (cattle-protocol.md §6.3): a genericObject
// {name, key, kind: "webhookReceiver", resourceData: {url, driver, config}}. Reading is lenient, because the
// objects were written by other programs (webhook-service decoded them with mapstructure, which accepts a
// float for an int and matches names case-insensitively); writing produces exactly the original's shape.

// Members of resourceData.
const (
	dataURL    = "url"
	dataDriver = "driver"
	dataConfig = "config"
	// dataNotify holds the receiver's notify config (ours; absent when it has none).
	dataNotify = "notify"
)

// errBadStoredReceiver is wrapped by decodeReceiver errors.
var errBadStoredReceiver = errors.New("couldn't read webhook data")

// decodeReceiver reads a stored receiver. It fails, naming what is wrong, on a missing or non-string driver or
// url, a missing config, an unknown driver, or a config that is not an object.
func decodeReceiver(obj *cattle.GenericObject, projectID string) (Receiver, error) {
	r := Receiver{ID: obj.ID, Name: obj.Name, State: obj.State, ProjectID: obj.AccountID}
	if r.ProjectID == "" {
		r.ProjectID = projectID
	}
	driver, ok := rawString(obj.ResourceData[dataDriver])
	if !ok {
		return r, fmt.Errorf("%w: bad driver", errBadStoredReceiver)
	}
	r.Driver = driver
	if r.URL, ok = rawString(obj.ResourceData[dataURL]); !ok {
		return r, fmt.Errorf("%w: bad url", errBadStoredReceiver)
	}
	raw, ok := obj.ResourceData[dataConfig]
	if !ok {
		return r, fmt.Errorf("%w: bad config on resource", errBadStoredReceiver)
	}
	if !knownDriver(driver) {
		return r, fmt.Errorf("%w: driver %s is not registered", errBadStoredReceiver, driver)
	}
	if err := decodeStoredConfig(&r, raw); err != nil {
		return r, fmt.Errorf("%w: %w", errBadStoredReceiver, err)
	}
	nraw, present := obj.ResourceData[dataNotify]
	n, err := decodeStoredNotify(nraw, present)
	if err != nil {
		return r, fmt.Errorf("%w: %w", errBadStoredReceiver, err)
	}
	r.Notify = n
	lraw, present := obj.ResourceData[dataRateLimit]
	if r.RateLimit, err = decodeStoredRateLimit(lraw, present); err != nil {
		return r, fmt.Errorf("%w: %w", errBadStoredReceiver, err)
	}
	r.setType()
	return r, nil
}

// DecodeStored reads a stored receiver genericObject as the API and the trigger endpoint read it. The
// execution layer uses it to find the config of a receiver whose in-flight upgrade it adopts after a restart.
func DecodeStored(obj *cattle.GenericObject, projectID string) (Receiver, error) {
	return decodeReceiver(obj, projectID)
}

// newGenericObject is the create input storing r under key, as the original wrote it.
func newGenericObject(r Receiver, key string) (cattle.GenericObject, error) {
	cfg, err := json.Marshal(r.config())
	if err != nil {
		return cattle.GenericObject{}, fmt.Errorf("encode %s config: %w", r.Driver, err)
	}
	data := map[string]json.RawMessage{dataConfig: cfg}
	if r.Notify != nil {
		n, err := json.Marshal(r.Notify)
		if err != nil {
			return cattle.GenericObject{}, fmt.Errorf("encode notify config: %w", err)
		}
		data[dataNotify] = n
	}
	if r.RateLimit != nil {
		l, err := json.Marshal(r.RateLimit)
		if err != nil {
			return cattle.GenericObject{}, fmt.Errorf("encode rate limit: %w", err)
		}
		data[dataRateLimit] = l
	}
	for name, v := range map[string]string{dataURL: r.URL, dataDriver: r.Driver} {
		b, err := json.Marshal(v)
		if err != nil {
			return cattle.GenericObject{}, fmt.Errorf("encode %s: %w", name, err)
		}
		data[name] = b
	}
	return cattle.GenericObject{
		Resource:     cattle.Resource{Name: r.Name, Kind: cache.ReceiverKind},
		Key:          key,
		ResourceData: data,
	}, nil
}

// gone reports whether a genericObject is on its way out: lists, triggers and name checks ignore it, so a
// receiver is revoked the moment its DELETE is accepted, not when Cattle finishes removing it.
func gone(obj *cattle.GenericObject) bool {
	switch obj.State {
	case "removing", "removed", "purging", "purged":
		return true
	}
	return obj.IsRemoved()
}

// rawString decodes a JSON string (false for anything else, null included).
func rawString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// Lenient scalar types for stored configs.
type (
	// flexInt accepts a number (a fraction is truncated, as mapstructure did), a numeric string or null.
	flexInt int64
	// flexBool accepts a boolean, "true"/"false" or null.
	flexBool bool
	// flexString accepts a string, a number or boolean (their JSON text) or null.
	flexString string
)

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		b = []byte(strings.TrimSpace(s))
	}
	// An integer exactly: as a float64, one above 2^53 loses digits and MaxInt64 rounds to 2^63, which
	// overflows int64 (a max of MaxInt64 read back as MinInt64).
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*f = flexInt(n)
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v >= math.MaxInt64 || v < math.MinInt64 {
		return fmt.Errorf("%s is not an integer", b)
	}
	*f = flexInt(int64(v))
	return nil
}

func (f *flexBool) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var s string
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case json.Unmarshal(b, &s) == nil:
		v, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a boolean", s)
		}
		*f = flexBool(v)
		return nil
	}
	var v bool
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("%s is not a boolean", b)
	}
	*f = flexBool(v)
	return nil
}

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var s string
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case json.Unmarshal(b, &s) == nil:
		*f = flexString(s)
		return nil
	case len(b) > 0 && b[0] != '{' && b[0] != '[':
		*f = flexString(b)
		return nil
	}
	return fmt.Errorf("%s is not a string", b)
}

// selector converts a lenient label map (nil stays nil, so "not provided" survives the round trip).
func selector(l cattle.Labels) map[string]string {
	if l == nil {
		return nil
	}
	return map[string]string(l.Clone())
}

// decodeStoredConfig decodes raw as the config of r.Driver into r.
func decodeStoredConfig(r *Receiver, raw json.RawMessage) error {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return errors.New("config is not an object")
	}
	switch r.Driver {
	case DriverScaleService:
		var c struct {
			ServiceID       flexString `json:"serviceId"`
			Amount          flexInt    `json:"amount"`
			Action          flexString `json:"action"`
			Min             flexInt    `json:"min"`
			Max             flexInt    `json:"max"`
			CooldownSeconds flexInt    `json:"cooldownSeconds"`
			OnResolved      flexString `json:"onResolved"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("scaleService config: %w", err)
		}
		r.ScaleService = ScaleServiceConfig{ServiceID: string(c.ServiceID), Amount: int64(c.Amount),
			Action: string(c.Action), Min: int64(c.Min), Max: int64(c.Max),
			CooldownSeconds: int64(c.CooldownSeconds), OnResolved: string(c.OnResolved)}
	case DriverScaleHost:
		var c struct {
			HostSelector   cattle.Labels `json:"hostSelector"`
			Amount         flexInt       `json:"amount"`
			Action         flexString    `json:"action"`
			Min            flexInt       `json:"min"`
			Max            flexInt       `json:"max"`
			DeleteOption   flexString    `json:"deleteOption"`
			HostTemplateID flexString    `json:"hostTemplateId"`
			OnResolved     flexString    `json:"onResolved"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("scaleHost config: %w", err)
		}
		r.ScaleHost = ScaleHostConfig{HostSelector: selector(c.HostSelector), Amount: int64(c.Amount),
			Action: string(c.Action), Min: int64(c.Min), Max: int64(c.Max), DeleteOption: string(c.DeleteOption),
			HostTemplateID: string(c.HostTemplateID), OnResolved: string(c.OnResolved)}
	case DriverServiceUpgrade:
		var c struct {
			ServiceSelector cattle.Labels `json:"serviceSelector"`
			Tag             flexString    `json:"tag"`
			PayloadFormat   flexString    `json:"payloadFormat"`
			AddressType     flexString    `json:"addressType"`
			BatchSize       flexInt       `json:"batchSize"`
			IntervalMillis  flexInt       `json:"intervalMillis"`
			StartFirst      flexBool      `json:"startFirst"`
			TagPolicy       flexString    `json:"tagPolicy"`
			TagPattern      flexString    `json:"tagPattern"`
			RegistryAliases cattle.Labels `json:"registryAliases"`
			Secret          flexString    `json:"secret"`
			FinishTimeout   flexInt       `json:"finishTimeoutSeconds"`
			UnhealthyGrace  flexInt       `json:"unhealthyGraceSeconds"`
			// A pointer, so "not stored" (the default, true) differs from false.
			RollbackOnFailure *flexBool `json:"rollbackOnFailure"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("serviceUpgrade config: %w", err)
		}
		r.ServiceUpgrade = ServiceUpgradeConfig{ServiceSelector: selector(c.ServiceSelector), Tag: string(c.Tag),
			PayloadFormat: string(c.PayloadFormat), AddressType: string(c.AddressType), BatchSize: int64(c.BatchSize),
			IntervalMillis: int64(c.IntervalMillis), StartFirst: bool(c.StartFirst), TagPolicy: string(c.TagPolicy),
			TagPattern: string(c.TagPattern), RegistryAliases: selector(c.RegistryAliases), Secret: string(c.Secret),
			FinishTimeoutSeconds: int64(c.FinishTimeout), UnhealthyGraceSeconds: int64(c.UnhealthyGrace)}
		if c.RollbackOnFailure != nil {
			v := bool(*c.RollbackOnFailure)
			r.ServiceUpgrade.RollbackOnFailure = &v
		}
	case DriverForwardPost:
		var c struct {
			ProjectID   flexString `json:"projectId"`
			ServiceName flexString `json:"serviceName"`
			Port        flexString `json:"port"`
			Path        flexString `json:"path"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("forwardPost config: %w", err)
		}
		r.ForwardPost = ForwardPostConfig{ProjectID: string(c.ProjectID), ServiceName: string(c.ServiceName),
			Port: string(c.Port), Path: string(c.Path)}
	default:
		return fmt.Errorf("driver %s is not registered", r.Driver)
	}
	return nil
}
