package imageref

import (
	"strings"
	"testing"
)

// FuzzParse checks that a parsed reference is a fixed point: writing it back in full ("<repository>:<tag>@<digest>"),
// with the "docker:" prefix a launch config has, or in familiar form (String) parses to the same reference,
// so a launch config image and a payload image compare equal exactly when they name the same repository.
// Repository agrees with Parse, and is "" exactly when Parse fails. Plain `go test` runs the seeds only;
// scripts/fuzz runs it for a while.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"docker:nginx:1.13", "nginx", "library/nginx:latest", "docker.io/library/nginx:1.14",
		"index.docker.io/library/nginx:1.14", "docker:index.docker.io/myorg/app", "registry-1.docker.io/myorg/app:2",
		"registry.example.com:5000/team/app:2.0", "registry.cn-hangzhou.aliyuncs.com/ns/app:v1",
		"localhost:5000/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"ghcr.io/octo/app:1.0.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"[::1]:5000/app:1", "docker:rancher/none", "hub.harbor.com/test-webhook/debian:latest",
		"quay.io/ns/name:tag-1", " docker: nginx ", "", "docker:", "Nginx:1", "nginx:bad tag", "::", "a//b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, image string) {
		ref, err := Parse(image)
		if err != nil {
			if got := Repository(image); got != "" {
				t.Fatalf("Parse(%q) failed (%v) but Repository gives %q", image, err, got)
			}
			return
		}
		if ref.Repository == "" || strings.HasPrefix(ref.Repository, RancherPrefix) {
			t.Fatalf("Parse(%q) = %+v", image, ref)
		}
		if got := Repository(image); got != ref.Repository {
			t.Fatalf("Repository(%q) = %q, Parse says %q", image, got, ref.Repository)
		}
		full := ref.Repository
		if ref.Tag != "" {
			full += ":" + ref.Tag
		}
		if ref.Digest != "" {
			full += "@" + ref.Digest
		}
		for _, again := range []string{full, RancherPrefix + full, ref.String()} {
			got, err := Parse(again)
			if err != nil {
				t.Fatalf("Parse(%q) = %+v, but its rewriting %q does not parse: %v", image, ref, again, err)
			}
			if got != ref {
				t.Fatalf("Parse(%q) = %+v, but its rewriting %q parses to %+v", image, ref, again, got)
			}
		}
	})
}
