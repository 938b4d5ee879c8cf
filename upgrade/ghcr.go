package upgrade

import "strings"

// ghcrHost is where GitHub's container registry serves packages when the payload names no package_url.
const ghcrHost = "ghcr.io"

// parseGHCR reads a GitHub "package" webhook for a container image published to GitHub Container Registry.
// The tag is package.package_version.container_metadata.tag.name, the digest its tag.digest; the repository is
// package_url without its tag (ghcr.io/<owner>/<name>, or the Enterprise Server host), else
// ghcr.io/<package.namespace>/<package.name>, lower-cased as the registry serves it. A delivery without a tag
// (an untagged manifest, as in GitHub's own example), other actions, packages that are not
// container images, GitHub's ping and the legacy registry_package event are ignored with a reason.
func parseGHCR(obj map[string]any) ([]Push, string, error) {
	if _, ok := stringAt(obj, "zen"); ok {
		return nil, "github ping", nil
	}
	pkg, ok := objectAt(obj, "package")
	if !ok {
		if _, legacy := objectAt(obj, "registry_package"); legacy {
			return nil, "legacy github registry_package event; the package event announces the push", nil
		}
		return nil, "", errorf("GitHub event provided without package: send package events to this receiver")
	}
	switch action, _ := stringAt(obj, "action"); action {
	case "published", "updated":
	case "":
		return nil, "", errorf("GitHub package event provided without action")
	default:
		return nil, "github package action " + action, nil
	}
	version, _ := objectAt(pkg, "package_version")
	meta, isContainer := objectAt(version, "container_metadata")
	if !isContainer {
		if containerType(pkg) {
			return nil, "", errorf("GitHub container package event provided without container_metadata")
		}
		kind, _ := stringAt(pkg, "package_type")
		return nil, "github package is not a container image (" + kind + ")", nil
	}
	tagObj, _ := objectAt(meta, "tag")
	tag, _ := stringAt(tagObj, "name")
	if tag == "" {
		return nil, ReasonNoTag, nil
	}
	repository := ghcrRepository(pkg, version)
	if repository == "" {
		return nil, "", errorf("GitHub package event provided without package name")
	}
	digest, _ := stringAt(tagObj, "digest")
	if digest == "" {
		if name, _ := stringAt(version, "name"); strings.HasPrefix(name, "sha256:") {
			digest = name
		}
	}
	p, err := newPush(FormatGHCR, joinImage("", repository, tag), tag, digest)
	if err != nil {
		return nil, "", err
	}
	return []Push{p}, "", nil
}

// ghcrRepository is the pull repository of a package, "" when the payload names none.
func ghcrRepository(pkg, version map[string]any) string {
	if u, _ := stringAt(version, "package_url"); u != "" {
		u = stripScheme(u)
		// Cut the tag: a colon after the last slash (a colon before it is a port).
		if i := strings.LastIndex(u, ":"); i > strings.LastIndex(u, "/") {
			u = u[:i]
		}
		if strings.Contains(u, "/") {
			return strings.ToLower(u)
		}
	}
	namespace, _ := stringAt(pkg, "namespace")
	name, _ := stringAt(pkg, "name")
	if name == "" {
		return ""
	}
	if namespace == "" {
		owner, _ := objectAt(pkg, "owner")
		namespace, _ = stringAt(owner, "login")
	}
	path := strings.Trim(name, "/")
	if namespace = strings.Trim(namespace, "/"); namespace != "" {
		path = namespace + "/" + path
	}
	return strings.ToLower(ghcrHost + "/" + path)
}

// containerType reports whether the package says it is a container image. The type is read from the first of
// package_type, registry.type and ecosystem that is set: GitHub's own examples disagree between them (an npm
// package with ecosystem "docker"), and package_type is the field GitHub documents.
func containerType(pkg map[string]any) bool {
	registry, _ := objectAt(pkg, "registry")
	for _, s := range []string{str(pkg, "package_type"), str(registry, "type"), str(pkg, "ecosystem")} {
		if s != "" {
			s = strings.ToLower(s)
			return s == "container" || s == "docker"
		}
	}
	return false
}

func str(m map[string]any, key string) string {
	s, _ := stringAt(m, key)
	return s
}
