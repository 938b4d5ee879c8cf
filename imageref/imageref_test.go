package imageref

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in, repo, tag string
		wantErr       bool
	}{
		{in: "docker:nginx:1.13", repo: "docker.io/library/nginx", tag: "1.13"},
		{in: "nginx", repo: "docker.io/library/nginx"},
		{in: "library/nginx:latest", repo: "docker.io/library/nginx", tag: "latest"},
		{in: "docker.io/library/nginx:1.14", repo: "docker.io/library/nginx", tag: "1.14"},
		{in: "index.docker.io/library/nginx:1.14", repo: "docker.io/library/nginx", tag: "1.14"},
		{in: "docker:index.docker.io/myorg/app", repo: "docker.io/myorg/app"},
		{in: "registry.example.com:5000/team/app:2.0", repo: "registry.example.com:5000/team/app", tag: "2.0"},
		{in: "registry.cn-hangzhou.aliyuncs.com/ns/app:v1", repo: "registry.cn-hangzhou.aliyuncs.com/ns/app", tag: "v1"},
		{in: "localhost:5000/app@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", repo: "localhost:5000/app"},
		{in: "", wantErr: true},
		{in: "docker:", wantErr: true},
		{in: "Nginx:1", wantErr: true},
		{in: "nginx:bad tag", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Parse(%q) = %+v, want error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got.Repository != tt.repo || got.Tag != tt.tag {
				t.Fatalf("Parse(%q) = %+v, want repo %q tag %q", tt.in, got, tt.repo, tt.tag)
			}
		})
	}
}

func TestStringIsFamiliar(t *testing.T) {
	ref, err := Parse("docker:docker.io/library/nginx:1.14")
	if err != nil {
		t.Fatal(err)
	}
	if got := ref.String(); got != "nginx:1.14" {
		t.Fatalf("String() = %q, want nginx:1.14", got)
	}
	if Repository("docker:rancher/none") != "docker.io/rancher/none" {
		t.Fatalf("Repository of rancher/none = %q", Repository("docker:rancher/none"))
	}
	if Repository("::") != "" {
		t.Fatal("unparseable image must give an empty repository")
	}
}
