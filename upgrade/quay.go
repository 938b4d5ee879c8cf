package upgrade

import (
	"maps"
	"slices"
)

// parseQuay reads a Quay (quay.io or Red Hat Quay) "Repository Push" notification: docker_url is the repository
// with its registry host and updated_tags the tags pushed, one push per tag. updated_tags is a list of tags
// today and was an object tag → image id in the 2013 format; both are read. Quay sends no digest. Build
// notifications (build_id, docker_tags) are ignored: the push they lead to is notified on its own.
func parseQuay(obj map[string]any) ([]Push, string, error) {
	dockerURL, _ := stringAt(obj, "docker_url")
	dockerURL = stripScheme(dockerURL)
	if dockerURL == "" {
		return nil, "", errorf("Quay notification provided without docker_url")
	}
	raw, present := obj["updated_tags"]
	if !present {
		if _, build := obj["build_id"]; build {
			return nil, "quay build notification, not a repository push", nil
		}
		return nil, "", errorf("Quay notification provided without updated_tags")
	}
	var tags []string
	switch t := raw.(type) {
	case []any:
		for _, v := range t {
			tag, ok := v.(string)
			if !ok {
				return nil, "", errorf("Quay updated_tags must hold tag names")
			}
			tags = append(tags, tag)
		}
	case map[string]any:
		// The 2013 format; sorted so the pushes come in a stable order.
		tags = slices.Sorted(maps.Keys(t))
	default:
		return nil, "", errorf("Quay updated_tags must be a list of tags")
	}
	var pushes []Push
	seen := make(map[string]bool)
	for _, tag := range tags {
		if tag == "" || seen[tag] {
			continue
		}
		seen[tag] = true
		p, err := newPush(FormatQuay, joinImage("", dockerURL, tag), tag, "")
		if err != nil {
			return nil, "", err
		}
		pushes = append(pushes, p)
	}
	if len(pushes) == 0 {
		return nil, ReasonNoTag, nil
	}
	return pushes, "", nil
}
