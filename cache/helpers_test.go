package cache

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/internal/simtest"
)

// Fixtures render resources the way Cattle's REST API and resource.change events do (only the members the cache
// reads, plus a "description" that tests bump to make a new version of an object).

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal fixture: %v", err)
	}
	return b
}

// lc is a launch config with an image and labels.
func lc(image string, labels map[string]string) map[string]any {
	m := map[string]any{"type": "launchConfig", "imageUuid": image}
	if labels != nil {
		m["labels"] = labels
	}
	return m
}

// sidekick is a named secondary launch config.
func sidekick(name, image string, labels map[string]string) map[string]any {
	m := lc(image, labels)
	m["type"] = "secondaryLaunchConfig"
	m["name"] = name
	return m
}

func serviceJSON(t testing.TB, id, version string, primary map[string]any, sidekicks ...map[string]any) json.RawMessage {
	t.Helper()
	m := map[string]any{"id": id, "type": "service", "baseType": "service", "state": "active", "name": "svc-" + id,
		"description": version, "scale": 1, "launchConfig": primary}
	if len(sidekicks) > 0 {
		m["secondaryLaunchConfigs"] = sidekicks
	}
	return mustJSON(t, m)
}

func hostJSON(t testing.TB, id, version string, labels map[string]string) json.RawMessage {
	t.Helper()
	return mustJSON(t, map[string]any{"id": id, "type": "host", "baseType": "host", "state": "active",
		"hostname": "host-" + id, "description": version, "labels": labels})
}

func instanceJSON(t testing.TB, id, version, serviceID string, serviceIDs ...string) json.RawMessage {
	t.Helper()
	m := map[string]any{"id": id, "type": "container", "baseType": "instance", "state": "running",
		"description": version}
	if serviceID != "" {
		m["serviceId"] = serviceID
	}
	if len(serviceIDs) > 0 {
		m["serviceIds"] = serviceIDs
	}
	return mustJSON(t, m)
}

func receiverJSON(t testing.TB, id, version, key string) json.RawMessage {
	t.Helper()
	return mustJSON(t, map[string]any{"id": id, "type": "genericObject", "baseType": "genericObject",
		"state": "active", "kind": ReceiverKind, "key": key, "description": version})
}

// removedJSON is the snapshot Cattle sends for a removed resource.
func removedJSON(t testing.TB, id, typ string) json.RawMessage {
	t.Helper()
	return mustJSON(t, map[string]any{"id": id, "type": typ, "baseType": typ, "state": "removed",
		"removed": "2017-06-01T10:00:00Z"})
}

// eventData wraps a rendered resource as the data of a resource.change event.
func eventData(t testing.TB, resource json.RawMessage) json.RawMessage {
	t.Helper()
	return mustJSON(t, map[string]json.RawMessage{"resource": resource})
}

// newTestStore returns a store whose gauge is registered on a private registry.
func newTestStore(t testing.TB) (*Store, *prometheus.Registry) {
	t.Helper()
	return simtest.Registered(t, NewStore)
}

// gaugeValues returns scale_subscriber_cache_objects by type label.
func gaugeValues(t testing.TB, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "scale_subscriber_cache_objects" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "type" {
					out[lp.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}

// serviceVersion returns the version marker of a cached service ("" when absent).
func serviceVersion(s *Store, id string) string {
	svc, ok := s.Service(id)
	if !ok {
		return ""
	}
	return svc.Description
}

// eventually polls cond every 2 ms (the in-process conditions are cheap) until it holds or timeout passes,
// then fails with msg.
func eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string) {
	t.Helper()
	simtest.EventuallyEvery(t, timeout, 2*time.Millisecond, msg, func() (bool, string) { return cond(), "" })
}

func serviceIDs(svcs []*cattle.Service) []string {
	out := make([]string, 0, len(svcs))
	for _, s := range svcs {
		out = append(out, s.ID)
	}
	return out
}

func hostIDs(hosts []*cattle.Host) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, h.ID)
	}
	return out
}

func instanceIDs(ins []*cattle.Instance) []string {
	out := make([]string, 0, len(ins))
	for _, in := range ins {
		out = append(out, in.ID)
	}
	return out
}
