// Package imageref normalises Docker image names the way a registry push and a Rancher launch config must be
// compared: "docker:nginx:1.13", "nginx", "docker.io/library/nginx" and "index.docker.io/library/nginx:latest" are
// all the repository "docker.io/library/nginx". It wraps github.com/distribution/reference, the parser Docker and
// the CNCF registry use, so our notion of "the same repository" is theirs.
package imageref
