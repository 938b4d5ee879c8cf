package peers

// crane as a registry client: images built offline from a layer tarball the test writes (`crane append` on the
// empty base image), pushed, pulled, copied and deleted on the test's registry, and nothing fetched from
// anywhere else.

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// craneTimeout bounds one crane command; each moves a few hundred bytes over loopback.
const craneTimeout = time.Minute

// crane runs the crane binary with a configuration directory of its own, so no credentials or proxy settings
// of the machine are used.
type crane struct {
	t    *testing.T
	path string
	env  []string
}

func newCrane(t *testing.T, path string) *crane {
	t.Helper()
	home := t.TempDir()
	env := append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+home, "NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost")
	return &crane{t: t, path: path, env: env}
}

// run runs crane with args against a plain-HTTP registry and returns its standard output, failing the test when
// it fails.
func (c *crane) run(args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), craneTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.path, append(args, "--insecure")...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("crane %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// push builds an image of one layer on the empty base and pushes it as ref; it returns the manifest digest.
func (c *crane) push(ref, layer string) string {
	c.t.Helper()
	out := c.run("append", "--new_layer", layer, "--new_tag", ref)
	_, digest, ok := strings.Cut(out, "@")
	if !ok || !strings.HasPrefix(digest, "sha256:") {
		c.t.Fatalf("crane append printed %q, want <repository>@sha256:<digest>", out)
	}
	return digest
}

// layerTarball writes an uncompressed layer holding /etc/peers-release with the given content, with fixed
// metadata so the same content always makes the same layer.
func layerTarball(t *testing.T, content string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte(content + "\n")
	hdr := &tar.Header{Name: "etc/peers-release", Mode: 0o644, Size: int64(len(body)),
		ModTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatalf("write layer header: %v", err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatalf("write layer file: %v", err)
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("close layer: %v", err)
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("layer-%s.tar", strings.NewReplacer("/", "_", ":", "_").Replace(content)))
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatalf("write layer tarball: %v", err)
	}
	return path
}
