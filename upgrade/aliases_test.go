package upgrade

import (
	"reflect"
	"testing"
)

func TestApplyAliases(t *testing.T) {
	aliyun := Push{Repository: "registry.cn-hangzhou.aliyuncs.com/ns/app", Tag: "v1", Digest: "sha256:aa",
		Image: "registry.cn-hangzhou.aliyuncs.com/ns/app:v1", Source: FormatAliCloud}
	harbor := Push{Repository: "harbor.example.com/proj/web", Tag: "1.2", Image: "harbor.example.com/proj/web:1.2",
		Source: FormatHarbor}
	hub := Push{Repository: "docker.io/library/nginx", Tag: "1.14", Image: "nginx:1.14", Source: FormatDockerHub}
	aliases := map[string]string{
		// Aliyun: the public host a payload reports → the VPC host the cluster pulls from.
		"registry.cn-hangzhou.aliyuncs.com": "registry-vpc.cn-hangzhou.aliyuncs.com",
		// Harbor: the external URL → the name the nodes use; keys compare case-insensitively.
		"HARBOR.example.com": "harbor.internal:8443",
		// Docker Hub under one of its other names → a pull-through mirror.
		"index.docker.io": "mirror.local:5000",
	}
	got, err := ApplyAliases([]Push{aliyun, harbor, hub}, aliases)
	if err != nil {
		t.Fatal(err)
	}
	want := []Push{
		{Repository: "registry-vpc.cn-hangzhou.aliyuncs.com/ns/app", Tag: "v1", Digest: "sha256:aa",
			Image: "registry-vpc.cn-hangzhou.aliyuncs.com/ns/app:v1", Source: FormatAliCloud,
			ReportedRepository: "registry.cn-hangzhou.aliyuncs.com/ns/app"},
		{Repository: "harbor.internal:8443/proj/web", Tag: "1.2", Image: "harbor.internal:8443/proj/web:1.2",
			Source: FormatHarbor, ReportedRepository: "harbor.example.com/proj/web"},
		{Repository: "mirror.local:5000/library/nginx", Tag: "1.14", Image: "mirror.local:5000/library/nginx:1.14",
			Source: FormatDockerHub, ReportedRepository: "docker.io/library/nginx"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if aliyun.Repository != "registry.cn-hangzhou.aliyuncs.com/ns/app" {
		t.Fatal("input modified")
	}
	// Aliases apply once: a → b, b → c leaves a at b.
	chained, err := ApplyAliases([]Push{harbor}, map[string]string{"harbor.example.com": "b.example.com", "b.example.com": "c.example.com"})
	if err != nil || chained[0].Repository != "b.example.com/proj/web" {
		t.Fatalf("chained = %+v, %v", chained, err)
	}
	// The host a payload reports compares case-insensitively too.
	upper := Push{Repository: "Quay.Example.com/ns/app", Tag: "1", Image: "Quay.Example.com/ns/app:1", Source: FormatQuay}
	lowered, err := ApplyAliases([]Push{upper}, map[string]string{"quay.example.com": "q.local"})
	if err != nil || lowered[0].Image != "q.local/ns/app:1" {
		t.Fatalf("case-insensitive host = %+v, %v", lowered, err)
	}
	// Unmatched hosts and no aliases leave pushes alone.
	same, err := ApplyAliases([]Push{hub}, map[string]string{"quay.io": "q.local"})
	if err != nil || !reflect.DeepEqual(same, []Push{hub}) {
		t.Fatalf("unmatched = %+v, %v", same, err)
	}
}

func TestParseAppliesAliasesBeforeMatching(t *testing.T) {
	// The Harbor sample reports the external host; services pull through the internal one.
	opts := ParseOptions{Format: FormatHarbor, RegistryAliases: map[string]string{"hub.harbor.com": "harbor.svc:5000"}}
	pushes, _, err := Parse(opts, sample(t, "harbor_v2_push.json"))
	if err != nil || len(pushes) != 1 {
		t.Fatalf("Parse = %+v, %v", pushes, err)
	}
	web := map[string]string{"app": "web"}
	w := Workload{ID: "1s1", LaunchConfigs: []LaunchConfig{{ImageUUID: "docker:harbor.svc:5000/test-webhook/debian:latest", Labels: web}}}
	plan, ok, reason := Plan(w, web, pushes[0], "latest")
	if !ok {
		t.Fatalf("aliased push must match the service: %s", reason)
	}
	if plan.Changes[0].ImageUUID != "docker:harbor.svc:5000/test-webhook/debian:latest" {
		t.Fatalf("new image %s", plan.Changes[0].ImageUUID)
	}
	// Without the alias the same push does not match.
	plain, _, _ := Parse(ParseOptions{Format: FormatHarbor}, sample(t, "harbor_v2_push.json"))
	if _, ok, _ := Plan(w, web, plain[0], "latest"); ok {
		t.Fatal("the unaliased push must not match a service pulling from another host")
	}
	// Aliyun through Config: addressType gives the public host, an alias the enterprise instance's VPC host.
	c := Config{PayloadFormat: FormatAliCloud, RegistryAliases: map[string]string{
		"registry.cn-shanghai.aliyuncs.com": "myinst-registry-vpc.cn-shanghai.cr.aliyuncs.com"}}
	got, _, err := Parse(c.ParseOptions(), sample(t, "aliyun_seed002.json"))
	if err != nil || got[0].Image != "myinst-registry-vpc.cn-shanghai.cr.aliyuncs.com/rancher_cn/webhook:latest" {
		t.Fatalf("aliyun = %+v, %v", got, err)
	}
}
