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
	// Repository is the normalised repository ("docker.io/library/nginx", "registry:5000/team/app"), after
	// registry aliases.
	Repository string
	Tag        string
	// Digest is the manifest digest when the payload carries one ("" for Docker Hub, Quay and the custom shape).
	Digest string
	// Image is the reference as pushed ("myorg/app:1.2", "registry.cn-hangzhou.aliyuncs.com/ns/app:v1"), with an
	// aliased host: the image a selected launch config is switched to, as the original did ("docker:" + Image).
	Image string
	// Source is the payload format it came from (FormatDockerHub, FormatAliCloud, FormatAzure,
	// FormatDistribution, FormatHarbor, FormatQuay, FormatGHCR, FormatCustom), never FormatAuto.
	Source string
	// ReportedRepository is the repository as the payload reported it when a registry alias changed its host,
	// else "".
	ReportedRepository string
}

// ParseOptions are the receiver settings that shape parsing.
type ParseOptions struct {
	// Format is the receiver's payloadFormat: "" (dockerhub), a format, or FormatAuto to detect it.
	Format string
	// AddressType picks the Aliyun host (alicloud payloads only).
	AddressType string
	// RegistryAliases are applied to the pushes found (see ApplyAliases).
	RegistryAliases map[string]string
}

// ParseOptions returns the options c parses payloads with.
func (c Config) ParseOptions() ParseOptions {
	return ParseOptions{Format: c.PayloadFormat, AddressType: c.AddressType, RegistryAliases: c.RegistryAliases}
}

// ParsePayload extracts the pushes a trigger body announces. format and addressType are the receiver's
// payloadFormat and addressType ("" = dockerhub, registry). It is Parse without registry aliases.
func ParsePayload(format, addressType string, body []byte) ([]Push, string, error) {
	return Parse(ParseOptions{Format: format, AddressType: addressType}, body)
}

// Parse extracts the pushes a trigger body announces, in the format opts names or, for FormatAuto, the one
// Detect finds. A CNCF distribution envelope ({"events":[...]}) is recognised whatever the format.
//
// It returns the pushes, or none and the reason the payload is ignored (a push without a tag or by digest only,
// an Azure or GitHub ping, Harbor and GitHub events that are not pushes, distribution events that are not a
// manifest push with a tag); the reason may also be set next to pushes when some events or resources of one
// payload were ignored. Ignoring is never an error, because registries retry a non-2xx answer. Payloads that
// cannot be understood are an *Error with the original's message where it had one (400 upstream); a body
// FormatAuto cannot attribute to exactly one format is an *Error wrapping a *DetectError; malformed JSON is an
// *Error wrapping the syntax error.
func Parse(opts ParseOptions, body []byte) ([]Push, string, error) {
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
	format := opts.Format
	if format == FormatAuto {
		detected, err := detect(obj)
		if err != nil {
			return nil, "", &Error{Message: "Cannot detect the payload format", Err: err}
		}
		format = detected
	}
	pushes, reason, err := parseAs(format, opts.AddressType, obj)
	if err != nil {
		return nil, "", err
	}
	pushes, err = ApplyAliases(pushes, opts.RegistryAliases)
	if err != nil {
		return nil, "", err
	}
	return pushes, reason, nil
}

// parseAs reads obj in one format; a distribution envelope is read as one whatever the format.
func parseAs(format, addressType string, obj map[string]any) ([]Push, string, error) {
	if events, ok := obj["events"].([]any); ok {
		pushes, reason := parseDistribution(events)
		return pushes, reason, nil
	}
	switch format {
	case "", FormatDockerHub, FormatAliCloud:
		return parseDockerHub(format, addressType, obj)
	case FormatAzure:
		return parseAzure(obj)
	case FormatHarbor:
		return parseHarbor(obj)
	case FormatQuay:
		return parseQuay(obj)
	case FormatGHCR:
		return parseGHCR(obj)
	case FormatCustom:
		return parseCustom(obj)
	case FormatDistribution:
		return nil, "", errorf("Not a distribution notification: the body has no events list")
	}
	return nil, "", errorf("Invalid payload format %v", format)
}

// newPush normalises image (as pushed) into a Push. The image must name exactly the tag announced.
func newPush(source, image, tag, digest string) (Push, error) {
	ref, err := parsePushed(image)
	if err != nil {
		return Push{}, err
	}
	if ref.Tag != tag || ref.Digest != "" {
		// A tag imageref reads differently ("1 " trimmed, "1@sha256:…" as a digest) is not a Docker tag.
		return Push{}, errorf("Invalid tag %q in webhook response", tag)
	}
	return Push{Repository: ref.Repository, Tag: tag, Digest: digest, Image: image, Source: source}, nil
}

// parsePushed parses the image a payload announces. It must be a reference as written, because launch configs
// are switched to "docker:"+image: imageref.Parse would also accept surrounding spaces and a "docker:" prefix,
// which would deploy "docker: app:1" or "docker:docker:app:1".
func parsePushed(image string) (imageref.Ref, error) {
	if strings.TrimSpace(image) != image || strings.HasPrefix(image, imageref.RancherPrefix) {
		return imageref.Ref{}, errorf("Invalid image %s in webhook response", image)
	}
	ref, err := imageref.Parse(image)
	if err != nil {
		return imageref.Ref{}, &Error{Message: fmt.Sprintf("Invalid image %s in webhook response", image), Err: err}
	}
	return ref, nil
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

// stripScheme removes an http(s):// prefix and trailing slashes from a registry address some payloads write as
// a URL.
func stripScheme(s string) string {
	s = strings.TrimSpace(s)
	for _, scheme := range []string{"https://", "http://"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			s = s[len(scheme):]
			break
		}
	}
	return strings.TrimRight(s, "/")
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
