package cattle

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// apiVersion is the only API version the client speaks. CATTLE_URL usually
// ends in /v1 (what Cattle hands to its service containers); the v1 API names
// fields differently (environmentId vs stackId), so the path is rewritten.
const apiVersion = "v2-beta"

// endpoint is a parsed CATTLE_URL: the server root (scheme, host and any path
// prefix in front of the version segment) and the project named in the path.
type endpoint struct {
	root      string
	projectID string
}

// versionURL is <root>/v2-beta.
func (e endpoint) versionURL() string { return e.root + "/" + apiVersion }

// projectURL is <root>/v2-beta/projects/<id>.
func (e endpoint) projectURL(projectID string) string {
	return e.versionURL() + "/projects/" + url.PathEscape(projectID)
}

// parseEndpoint normalises the accepted CATTLE_URL spellings:
//
//	http://host:8080                       -> root http://host:8080
//	http://host:8080/v1, /v1/, /v2-beta/   -> same root
//	http://host:8080/v1/projects/1a5       -> same root, project 1a5
//	http://host/v2-beta/projects/1a5/schemas -> same root, project 1a5
//	http://host/rancher/v1                 -> root http://host/rancher
//
// Anything after the version (other than projects/<id>) is ignored, as are
// query and fragment. Userinfo is rejected so credentials only ever travel
// through the key options and never end up in an error message.
func parseEndpoint(raw string) (endpoint, error) {
	if strings.TrimSpace(raw) == "" {
		return endpoint{}, errors.New("cattle url is empty")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// url.Error repeats the input, which may hold credentials.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return endpoint{}, fmt.Errorf("parse cattle url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return endpoint{}, fmt.Errorf("cattle url %q must use http or https, not %q", redactURL(u), u.Scheme)
	}
	if u.Host == "" {
		return endpoint{}, fmt.Errorf("cattle url %q has no host", redactURL(u))
	}
	if u.User != nil {
		return endpoint{}, errors.New("cattle url must not contain credentials; pass the access key and secret key separately")
	}

	segments := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segments) == 1 && segments[0] == "" {
		segments = nil
	}
	version := -1
	for i := len(segments) - 1; i >= 0; i-- {
		if segments[i] == "v1" || segments[i] == apiVersion {
			version = i
			break
		}
	}
	prefix := segments
	var projectID string
	if version >= 0 {
		prefix = segments[:version]
		rest := segments[version+1:]
		if len(rest) >= 2 && rest[0] == "projects" && rest[1] != "" {
			projectID, err = url.PathUnescape(rest[1])
			if err != nil {
				return endpoint{}, fmt.Errorf("cattle url project id: %w", err)
			}
		}
	}

	root := url.URL{Scheme: u.Scheme, Host: u.Host}
	if len(prefix) > 0 {
		root.Path = "/" + strings.Join(prefix, "/")
	}
	return endpoint{root: root.String(), projectID: projectID}, nil
}
