package alertmanager

import (
	"bytes"
	"encoding/json"
	"time"
)

// Version is the payload version Parse recognises (Alertmanager 0.6 and later).
const Version = "4"

// Notification statuses.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Notification is an Alertmanager webhook notification.
type Notification struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of a notification.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Parse recognises an Alertmanager notification: a JSON object with version "4", a string groupKey, status
// "firing" or "resolved" and at least one alert, every field having Alertmanager's type. ok is false for
// anything else, including an empty body, a version "3" payload and an operator's custom templated payload;
// such bodies are not an error, the trigger is simply handled without Alertmanager semantics.
func Parse(body []byte) (Notification, bool) {
	if len(bytes.TrimSpace(body)) == 0 {
		return Notification{}, false
	}
	var probe struct {
		Version  *string          `json:"version"`
		GroupKey *json.RawMessage `json:"groupKey"`
		Alerts   *json.RawMessage `json:"alerts"`
	}
	// The probe keeps unrelated JSON (a Docker Hub push, an array) from being decoded as a whole.
	if err := json.Unmarshal(body, &probe); err != nil || probe.Version == nil || *probe.Version != Version ||
		probe.GroupKey == nil || probe.Alerts == nil {
		return Notification{}, false
	}
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return Notification{}, false
	}
	if n.Status != StatusFiring && n.Status != StatusResolved || len(n.Alerts) == 0 {
		return Notification{}, false
	}
	return n, true
}

// Firing returns the number of alerts of n that are firing.
func (n Notification) Firing() int {
	c := 0
	for _, a := range n.Alerts {
		if a.Status == StatusFiring {
			c++
		}
	}
	return c
}
