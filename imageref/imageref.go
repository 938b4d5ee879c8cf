package imageref

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// RancherPrefix is how Cattle launch configs mark a Docker image in imageUuid.
const RancherPrefix = "docker:"

// Ref is a parsed image reference.
type Ref struct {
	// Repository is the fully qualified repository, e.g. "docker.io/library/nginx" or "registry:5000/team/app".
	Repository string
	// Tag is the tag, "" when the reference has none (an untagged reference means "latest" to Docker).
	Tag string
	// Digest is the content digest, "" when absent.
	Digest string
}

// String renders the reference in familiar form ("nginx:1.14", "registry:5000/team/app:2").
func (r Ref) String() string {
	named, err := reference.ParseNormalizedNamed(r.Repository)
	if err != nil {
		return r.Repository
	}
	s := reference.FamiliarName(named)
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Parse parses an image name as written in a launch config (with or without the "docker:" prefix) or in a
// registry payload. Docker Hub names are normalised ("nginx" → "docker.io/library/nginx", "index.docker.io/x" →
// "docker.io/x"); other registry hosts keep their host and port.
func Parse(image string) (Ref, error) {
	s := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(image), RancherPrefix))
	if s == "" {
		return Ref{}, fmt.Errorf("parse image %q: empty name", image)
	}
	s = strings.TrimPrefix(s, "index.docker.io/")
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return Ref{}, fmt.Errorf("parse image %q: %w", image, err)
	}
	ref := Ref{Repository: named.Name()}
	if tagged, ok := named.(reference.Tagged); ok {
		ref.Tag = tagged.Tag()
	}
	if digested, ok := named.(reference.Digested); ok {
		ref.Digest = digested.Digest().String()
	}
	return ref, nil
}

// Repository returns the normalised repository of image, or "" when it cannot be parsed (for indexing, where a
// malformed imageUuid such as "docker:rancher/none" handling must not fail the caller).
func Repository(image string) string {
	ref, err := Parse(image)
	if err != nil {
		return ""
	}
	return ref.Repository
}
