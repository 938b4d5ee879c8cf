package upgrade

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// manifestTypes are the media types of image manifests and indexes; anything else pushed is a blob (layer or
// config).
var manifestTypes = map[string]bool{
	"application/vnd.docker.distribution.manifest.v1+json":      true,
	"application/vnd.docker.distribution.manifest.v1+prettyjws": true,
	"application/vnd.docker.distribution.manifest.v2+json":      true,
	"application/vnd.docker.distribution.manifest.list.v2+json": true,
	"application/vnd.oci.image.manifest.v1+json":                true,
	"application/vnd.oci.image.index.v1+json":                   true,
}

// isManifest reports whether mediaType is a manifest (unknown future manifest types included by name).
func isManifest(mediaType string) bool {
	mt, _, _ := strings.Cut(mediaType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return manifestTypes[mt] || strings.Contains(mt, ".manifest.")
}

// parseDistribution extracts the manifest pushes with a tag from the events of a CNCF distribution
// notification envelope. Nothing in an envelope is an error: every other event is counted in the reason.
func parseDistribution(events []any) ([]Push, string) {
	var pushes []Push
	seen := make(map[string]bool)
	ignored := make(map[string]int)
	for _, e := range events {
		ev, ok := e.(map[string]any)
		if !ok {
			ignored["malformed event"]++
			continue
		}
		p, why := distributionPush(ev)
		if why != "" {
			ignored[why]++
			continue
		}
		if key := p.Repository + ":" + p.Tag; !seen[key] {
			seen[key] = true
			pushes = append(pushes, p)
		}
	}
	if len(events) == 0 {
		return nil, "no events"
	}
	if len(ignored) == 0 {
		return pushes, ""
	}
	n := 0
	parts := make([]string, 0, len(ignored))
	for _, why := range slices.Sorted(maps.Keys(ignored)) {
		n += ignored[why]
		parts = append(parts, fmt.Sprintf("%s: %d", why, ignored[why]))
	}
	return pushes, fmt.Sprintf("ignored %d of %d events (%s)", n, len(events), strings.Join(parts, ", "))
}

// distributionPush turns one event into a push, or says why it is not one.
func distributionPush(ev map[string]any) (Push, string) {
	action, _ := stringAt(ev, "action")
	if action != "push" {
		if action == "" {
			return Push{}, "no action"
		}
		return Push{}, action
	}
	target, ok := objectAt(ev, "target")
	if !ok {
		return Push{}, "push without target"
	}
	mediaType, _ := stringAt(target, "mediaType")
	if !isManifest(mediaType) {
		return Push{}, "blob push"
	}
	tag, _ := stringAt(target, "tag")
	if tag == "" {
		return Push{}, "manifest push without tag"
	}
	repository, _ := stringAt(target, "repository")
	if repository == "" {
		return Push{}, "push without repository"
	}
	host := eventHost(ev, target)
	if host == "" {
		return Push{}, "push without registry host"
	}
	digest, _ := stringAt(target, "digest")
	p, err := newPush(FormatDistribution, joinImage(host, repository, tag), tag, digest)
	if err != nil {
		return Push{}, "unparseable image"
	}
	return p, ""
}

// eventHost is the registry host the event names: request.host (the Host header the registry saw), else the
// host of target.url.
func eventHost(ev, target map[string]any) string {
	if request, ok := objectAt(ev, "request"); ok {
		if h, _ := stringAt(request, "host"); h != "" {
			return h
		}
	}
	if raw, _ := stringAt(target, "url"); raw != "" {
		if u, err := url.Parse(raw); err == nil {
			return u.Host
		}
	}
	return ""
}
