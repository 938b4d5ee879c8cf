package upgrade

import (
	"fmt"
	"strings"
)

// Harbor event types that announce a push: "pushImage" (Harbor 1.9–1.10), "PUSH_ARTIFACT" (2.x) and the
// CloudEvents type of 2.8+ policies with payload_format CloudEvents.
const (
	harborPushV1         = "pushImage"
	harborPushV2         = "PUSH_ARTIFACT"
	harborPushCloudEvent = "harbor.artifact.pushed"
)

// parseHarbor reads a Harbor project webhook: the v1 and v2 envelope ({type, occur_at, operator, event_data})
// or the CloudEvents one ({specversion, type, data}, data being event_data). Each tagged resource of a push is
// one push, its image the resource_url (Harbor's external endpoint, project, repository and tag). A resource
// pushed without a tag carries its digest as the tag (v2) and is ignored like any push without a tag; other
// event types (pulls, deletes, scans, quotas, replication) are ignored with their type.
func parseHarbor(obj map[string]any) ([]Push, string, error) {
	typ, _ := stringAt(obj, "type")
	var eventData map[string]any
	if _, cloudEvent := stringAt(obj, "specversion"); cloudEvent {
		if !strings.HasPrefix(typ, "harbor.") {
			return nil, "", errorf("CloudEvents event of type %q is not a Harbor event", typ)
		}
		if typ != harborPushCloudEvent {
			return nil, "harbor event " + typ, nil
		}
		data, ok := objectAt(obj, "data")
		if !ok {
			return nil, "", errorf("Harbor event provided without data")
		}
		eventData = data
	} else {
		if typ == "" {
			return nil, "", errorf("Harbor event provided without type")
		}
		if typ != harborPushV1 && typ != harborPushV2 {
			return nil, "harbor event " + typ, nil
		}
		data, ok := objectAt(obj, "event_data")
		if !ok {
			return nil, "", errorf("Harbor event provided without event_data")
		}
		eventData = data
	}
	resources, ok := eventData["resources"].([]any)
	if !ok || len(resources) == 0 {
		return nil, "", errorf("Harbor push provided without resources")
	}
	var pushes []Push
	seen := make(map[string]bool)
	untagged := 0
	for i, r := range resources {
		res, ok := r.(map[string]any)
		if !ok {
			return nil, "", errorf("Harbor resource %d is not an object", i)
		}
		p, tagged, err := harborPush(res)
		if err != nil {
			return nil, "", err
		}
		if !tagged {
			untagged++
			continue
		}
		if key := p.Repository + ":" + p.Tag; !seen[key] {
			seen[key] = true
			pushes = append(pushes, p)
		}
	}
	switch {
	case untagged == 0:
		return pushes, "", nil
	case len(pushes) == 0:
		return nil, ReasonNoTag, nil
	}
	return pushes, fmt.Sprintf("ignored %d of %d resources (%s: %d)", untagged, len(resources), ReasonNoTag, untagged), nil
}

// harborPush reads one resource; tagged is false for a push by digest only.
func harborPush(res map[string]any) (Push, bool, error) {
	tag, _ := stringAt(res, "tag")
	digest, _ := stringAt(res, "digest")
	if tag == "" || tag == digest || strings.HasPrefix(tag, "sha256:") {
		return Push{}, false, nil
	}
	url, _ := stringAt(res, "resource_url")
	url = stripScheme(url)
	if url == "" {
		return Push{}, false, errorf("Harbor resource with tag %s provided without resource_url", tag)
	}
	ref, err := parsePushed(url)
	if err != nil {
		return Push{}, false, err
	}
	if ref.Tag != tag {
		return Push{}, false, errorf("Harbor resource_url %s does not name the tag %s", url, tag)
	}
	return Push{Repository: ref.Repository, Tag: tag, Digest: digest, Image: url, Source: FormatHarbor}, true, nil
}
