package upgrade

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/rancher/scale-subscriber/imageref"
)

// hostPattern is a registry host as Docker's reference grammar has it: DNS labels or an IPv6 literal in
// brackets, with an optional port. No scheme, no path.
var hostPattern = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$`)

// dockerHubHosts are the names Docker Hub is reported under; imageref normalises them all to docker.io.
var dockerHubHosts = map[string]bool{"docker.io": true, "index.docker.io": true, "registry-1.docker.io": true}

// validateAliases checks that every alias maps a registry host to another host. The error is an *Error.
func validateAliases(aliases map[string]string) error {
	for _, from := range slices.Sorted(maps.Keys(aliases)) {
		to := aliases[from]
		switch {
		case !hostPattern.MatchString(from):
			return errorf("Invalid registry alias %q: %q is not a registry host (host or host:port, no scheme or path)", from, from)
		case !hostPattern.MatchString(to):
			return errorf("Invalid registry alias %q: %q is not a registry host (host or host:port, no scheme or path)", from, to)
		case aliasKey(from) == aliasKey(to):
			return errorf("Invalid registry alias %q: it maps the host to itself", from)
		}
	}
	return nil
}

// aliasKey is how hosts are compared: case-insensitively, with Docker Hub's names as docker.io.
func aliasKey(host string) string {
	h := strings.ToLower(host)
	if dockerHubHosts[h] {
		return "docker.io"
	}
	return h
}

// ApplyAliases rewrites the registry host of each push that aliases maps (the host a registry reports → the
// host services pull from): Aliyun's public host to its VPC or internal one, Harbor's external URL to the name
// the nodes use. Repository and Image get the new host; ReportedRepository keeps the repository as reported.
// Aliases apply once (a → b, b → c does not take a to c) and hosts compare case-insensitively. The input is not
// modified. The error is an *Error (an alias that yields an invalid image name).
func ApplyAliases(pushes []Push, aliases map[string]string) ([]Push, error) {
	if len(aliases) == 0 || len(pushes) == 0 {
		return pushes, nil
	}
	byHost := make(map[string]string, len(aliases))
	for from, to := range aliases {
		byHost[aliasKey(from)] = to
	}
	out := make([]Push, len(pushes))
	for i, p := range pushes {
		out[i] = p
		host, rest, ok := strings.Cut(p.Repository, "/")
		if !ok {
			continue
		}
		to, ok := byHost[aliasKey(host)]
		if !ok {
			continue
		}
		image := to + "/" + rest + ":" + p.Tag
		ref, err := imageref.Parse(image)
		if err != nil {
			return nil, &Error{Message: fmt.Sprintf("Registry alias %s → %s gives the invalid image %s", host, to, image), Err: err}
		}
		out[i].ReportedRepository = p.Repository
		out[i].Repository = ref.Repository
		out[i].Image = image
	}
	return out, nil
}
