package upgrade

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rancher/scale-subscriber/imageref"
)

// Push is one image push a payload announces.
type Push struct {
	// Repository is the normalised repository ("docker.io/library/nginx", "registry:5000/team/app").
	Repository string
	Tag        string
	// Digest is the manifest digest when the payload carries one ("" for Docker Hub).
	Digest string
	// Image is the reference as pushed ("myorg/app:1.2", "registry.cn-hangzhou.aliyuncs.com/ns/app:v1"): the
	// image a selected launch config is switched to, as the original did ("docker:" + Image).
	Image string
	// Source is the payload format it came from (FormatDockerHub, FormatAliCloud, FormatAzure,
	// FormatDistribution).
	Source string
}

// ParsePayload extracts the pushes a trigger body announces. format and addressType are the receiver's
// payloadFormat and addressType ("" = dockerhub, registry). A CNCF distribution envelope ({"events":[...]}) is
// recognised whatever the format.
//
// It returns the pushes, or none and the reason the payload is ignored (a Docker Hub push without a tag, an
// Azure ping, distribution events that are not a manifest push with a tag); the reason may also be set next to
// pushes when some events of an envelope were ignored. Payloads that cannot be understood are an *Error with
// the original's message; malformed JSON is an *Error wrapping the syntax error.
func ParsePayload(format, addressType string, body []byte) ([]Push, string, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, "", errorf("No Payload recevied from webhook")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, "", &Error{Message: "Malformed JSON payload", Err: err}
	}
	if v == nil {
		return nil, "", errorf("No Payload recevied from webhook")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, "", errorf("Body should be of type map[string]interface{}")
	}
	if events, ok := obj["events"].([]any); ok {
		pushes, reason := parseDistribution(events)
		return pushes, reason, nil
	}
	switch format {
	case "", FormatDockerHub, FormatAliCloud:
		return parseDockerHub(format, addressType, obj)
	case FormatAzure:
		return parseAzure(obj)
	}
	return nil, "", errorf("Invalid payload format %v", format)
}

// newPush normalises image (as pushed) into a Push.
func newPush(source, image, tag, digest string) (Push, error) {
	ref, err := imageref.Parse(image)
	if err != nil {
		return Push{}, &Error{Message: fmt.Sprintf("Invalid image %s in webhook response", image), Err: err}
	}
	return Push{Repository: ref.Repository, Tag: tag, Digest: digest, Image: image, Source: source}, nil
}

// objectAt returns m[key] when it is a JSON object.
func objectAt(m map[string]any, key string) (map[string]any, bool) {
	o, ok := m[key].(map[string]any)
	return o, ok
}

// stringAt returns m[key] when it is a JSON string.
func stringAt(m map[string]any, key string) (string, bool) {
	s, ok := m[key].(string)
	return s, ok
}

// joinImage builds "<host>/<repository>:<tag>" without doubling slashes.
func joinImage(host, repository, tag string) string {
	host = strings.TrimSuffix(host, "/")
	repository = strings.TrimPrefix(repository, "/")
	if host == "" {
		return repository + ":" + tag
	}
	return host + "/" + repository + ":" + tag
}
