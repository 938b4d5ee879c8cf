package upgrade

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DetectError is a body FormatAuto cannot attribute to exactly one format. The receiver API answers it with
// 400 and its message (wrapped in an *Error by Parse).
type DetectError struct {
	// Candidates are the formats the body matches: none, or more than one (ambiguous).
	Candidates []string
	// Detail says what was looked for when nothing matched.
	Detail string
}

// Error implements error.
func (e *DetectError) Error() string {
	if len(e.Candidates) > 1 {
		return fmt.Sprintf("the body matches more than one format (%s); set payloadFormat to the one the registry sends",
			strings.Join(e.Candidates, ", "))
	}
	return "the body matches no known format (" + e.Detail + "); set payloadFormat, or check that the registry sends image push events"
}

// Ambiguous reports whether the body matched several formats.
func (e *DetectError) Ambiguous() bool { return len(e.Candidates) > 1 }

// Detect names the format of a payload body by the fields only that format has (see detect). Malformed JSON
// or a body that is not an object is an *Error; a body matching no format or several is a *DetectError.
func Detect(body []byte) (string, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return "", errorf("No Payload recevied from webhook")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "", &Error{Message: "Malformed JSON payload", Err: err}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return "", errorf("Body should be of type map[string]interface{}")
	}
	return detect(obj)
}

// detect attributes obj to a format by its distinctive top-level fields:
//
//   - distribution: an "events" list (CNCF distribution and GitLab registry notifications)
//   - harbor: "type" and an "event_data" object (v1 and v2), or a CloudEvents "specversion" with a "harbor.*" type
//   - quay: "docker_url"
//   - ghcr: a "package" or "registry_package" object, or a GitHub ping ("zen" and "hook_id")
//   - azure: a "target" object with "action" or a "request" object
//   - a "push_data" object is dockerhub with repository.repo_name, alicloud with repository.region and
//     repository.repo_full_name, custom (seed 002's Jenkins shape) with repository.repo_url and repository.name
//     and no repo_name
//
// It never guesses: no match, or a match of several, is a *DetectError.
func detect(obj map[string]any) (string, error) {
	var found []string
	if _, ok := obj["events"].([]any); ok {
		found = append(found, FormatDistribution)
	}
	if isHarbor(obj) {
		found = append(found, FormatHarbor)
	}
	if _, ok := obj["docker_url"].(string); ok {
		found = append(found, FormatQuay)
	}
	if isGitHub(obj) {
		found = append(found, FormatGHCR)
	}
	if _, ok := objectAt(obj, "target"); ok {
		_, hasAction := stringAt(obj, "action")
		_, hasRequest := objectAt(obj, "request")
		if hasAction || hasRequest {
			found = append(found, FormatAzure)
		}
	}
	var detail string
	if _, ok := objectAt(obj, "push_data"); ok {
		shapes := pushDataShapes(obj)
		found = append(found, shapes...)
		if len(shapes) == 0 {
			detail = "push_data without repository.repo_name (dockerhub), repository.region and repo_full_name " +
				"(alicloud) or repository.repo_url and name (custom)"
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return "", &DetectError{Candidates: found}
	}
	if detail == "" {
		detail = describeKeys(obj)
		if version, ok := stringAt(obj, "specversion"); ok {
			typ, _ := stringAt(obj, "type")
			detail = fmt.Sprintf("CloudEvents %s event of type %q, not a Harbor event", version, typ)
		}
	}
	return "", &DetectError{Detail: detail}
}

// pushDataShapes names the Docker Hub style formats obj's repository object fits.
func pushDataShapes(obj map[string]any) []string {
	repo, _ := objectAt(obj, "repository")
	var shapes []string
	_, hasName := stringAt(repo, "repo_name")
	if hasName {
		shapes = append(shapes, FormatDockerHub)
	}
	_, hasRegion := stringAt(repo, "region")
	_, hasFull := stringAt(repo, "repo_full_name")
	if hasRegion && hasFull {
		shapes = append(shapes, FormatAliCloud)
	}
	url, _ := stringAt(repo, "repo_url")
	_, hasImage := stringAt(repo, "name")
	if strings.TrimSpace(url) != "" && hasImage && !hasName {
		shapes = append(shapes, FormatCustom)
	}
	return shapes
}

func isHarbor(obj map[string]any) bool {
	typ, hasType := stringAt(obj, "type")
	if _, ok := objectAt(obj, "event_data"); ok && hasType {
		return true
	}
	_, isCloudEvent := stringAt(obj, "specversion")
	return isCloudEvent && strings.HasPrefix(typ, "harbor.")
}

func isGitHub(obj map[string]any) bool {
	if _, ok := objectAt(obj, "package"); ok {
		return true
	}
	if _, ok := objectAt(obj, "registry_package"); ok {
		return true
	}
	_, zen := stringAt(obj, "zen")
	_, hook := obj["hook_id"]
	return zen && hook
}

// describeKeys lists a few top-level keys of obj for an error message, each cut short: they come from the
// sender.
func describeKeys(obj map[string]any) string {
	const maxKeys, maxLen = 8, 32
	if len(obj) == 0 {
		return "an empty object"
	}
	keys := slices.Sorted(maps.Keys(obj))
	more := len(keys) > maxKeys
	if more {
		keys = keys[:maxKeys]
	}
	for i, k := range keys {
		if r := []rune(k); len(r) > maxLen {
			keys[i] = string(r[:maxLen]) + "…"
		}
		keys[i] = fmt.Sprintf("%q", keys[i])
	}
	s := "top-level keys " + strings.Join(keys, ", ")
	if more {
		s += ", …"
	}
	return s
}
