package version

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestStringDefaults(t *testing.T) {
	if got, want := String(), "dev (HEAD)"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

// TestLinkerInjection builds a tiny program the way scripts/build builds the
// service, so a rename of Version or GitCommit that would silently break the
// -X flags fails here instead.
func TestLinkerInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go toolchain not in PATH: %v", err)
	}
	const pkg = "github.com/rancher/scale-subscriber/version"
	tests := []struct {
		name    string
		ldflags string
		want    string
	}{
		{name: "defaults", ldflags: "", want: "dev (HEAD)"},
		{
			name:    "injected",
			ldflags: "-X " + pkg + ".Version=v1.2.3 -X " + pkg + ".GitCommit=abc1234",
			want:    "v1.2.3 (abc1234)",
		},
		{
			name:    "dirty",
			ldflags: "-X " + pkg + ".Version=abc1234-dirty -X " + pkg + ".GitCommit=abc1234",
			want:    "abc1234-dirty (abc1234)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "printversion")
			build := exec.Command(goBin, "build", "-ldflags", tc.ldflags, "-o", bin, "./testdata/printversion")
			build.Env = append(build.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			out, err := exec.Command(bin).Output()
			if err != nil {
				t.Fatalf("run printversion: %v", err)
			}
			if got := strings.TrimSpace(string(out)); got != tc.want {
				t.Fatalf("printversion = %q, want %q", got, tc.want)
			}
		})
	}
}
