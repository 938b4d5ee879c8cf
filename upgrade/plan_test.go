package upgrade

import (
	"maps"
	"reflect"
	"testing"
)

func nginxPush(tag string) Push {
	return Push{Repository: "docker.io/library/nginx", Tag: tag, Image: "nginx:" + tag, Source: FormatDockerHub}
}

func TestPlanSelection(t *testing.T) {
	web := map[string]string{"app": "web"}
	tests := []struct {
		name     string
		lcs      []LaunchConfig
		selector map[string]string
		push     Push
		tag      string
		ok       bool
		changed  []string // launch config names changed ("" = primary)
		reason   string
	}{
		{name: "primary running the pushed repository", lcs: []LaunchConfig{{ImageUUID: "docker:nginx:1.13", Labels: web}},
			selector: web, push: nginxPush("1.14"), tag: "1.14", ok: true, changed: []string{""}},
		{name: "tag mismatch changes nothing", lcs: []LaunchConfig{{ImageUUID: "docker:nginx:1.13", Labels: web}},
			selector: web, push: nginxPush("1.15"), tag: "1.14",
			reason: `pushed tag "1.15" is not the configured tag "1.14"`},
		{name: "FixesOriginal labelled service running another repository is not switched",
			lcs:      []LaunchConfig{{ImageUUID: "docker:redis:5", Labels: web}},
			selector: web, push: nginxPush("1.14"), tag: "1.14",
			reason: "labels match but image docker:redis:5 is not docker.io/library/nginx"},
		{name: "no label match", lcs: []LaunchConfig{{ImageUUID: "docker:nginx:1.13", Labels: map[string]string{"app": "db"}}},
			selector: web, push: nginxPush("1.14"), tag: "1.14", reason: "no launch config matches the selector"},
		{name: "FixesOriginal all selector pairs must match",
			lcs:      []LaunchConfig{{ImageUUID: "docker:nginx:1.13", Labels: map[string]string{"app": "web"}}},
			selector: map[string]string{"app": "web", "tier": "front"}, push: nginxPush("1.14"), tag: "1.14",
			reason: "no launch config matches the selector"},
		{name: "keys and values case-insensitive",
			lcs:      []LaunchConfig{{ImageUUID: "docker:nginx:1.13", Labels: map[string]string{"APP": "Web", "Tier": "FRONT"}}},
			selector: map[string]string{"app": "web", "tier": "front"}, push: nginxPush("1.14"), tag: "1.14", ok: true,
			changed: []string{""}},
		{name: "empty selector value means any value",
			lcs:      []LaunchConfig{{ImageUUID: "docker:nginx:1.13", Labels: map[string]string{"app": "anything"}}},
			selector: map[string]string{"app": ""}, push: nginxPush("1.14"), tag: "1.14", ok: true, changed: []string{""}},
		{name: "empty selector selects nothing", lcs: []LaunchConfig{{ImageUUID: "docker:nginx:1.13", Labels: web}},
			selector: map[string]string{}, push: nginxPush("1.14"), tag: "1.14", reason: "empty service selector selects nothing"},
		{name: "sidekick only",
			lcs: []LaunchConfig{
				{ImageUUID: "docker:redis:5", Labels: web},
				{Name: "proxy", ImageUUID: "docker:nginx:1.13", Labels: web},
			},
			selector: web, push: nginxPush("1.14"), tag: "1.14", ok: true, changed: []string{"proxy"}},
		{name: "primary and sidekicks, unlabelled sidekick left alone",
			lcs: []LaunchConfig{
				{ImageUUID: "docker:nginx:1.13", Labels: web},
				{Name: "a", ImageUUID: "docker:library/nginx:1.12", Labels: web},
				{Name: "b", ImageUUID: "docker:nginx:1.13"},
				{Name: "c", ImageUUID: "docker.io/library/nginx", Labels: web},
			},
			selector: web, push: nginxPush("1.14"), tag: "1.14", ok: true, changed: []string{"", "a", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok, reason := Plan(Workload{ID: "1s5", Kind: "service", LaunchConfigs: tt.lcs}, tt.selector, tt.push, tt.tag)
			if ok != tt.ok || reason != tt.reason {
				t.Fatalf("ok %v reason %q, want %v %q", ok, reason, tt.ok, tt.reason)
			}
			if !ok {
				if !reflect.DeepEqual(p, UpgradePlan{}) {
					t.Fatalf("no plan expected, got %+v", p)
				}
				return
			}
			var names []string
			for _, c := range p.Changes {
				names = append(names, c.Name)
			}
			if !reflect.DeepEqual(names, tt.changed) {
				t.Fatalf("changed %q, want %q", names, tt.changed)
			}
			wantSidekicks := []string(nil)
			for _, n := range tt.changed {
				if n != "" {
					wantSidekicks = append(wantSidekicks, n)
				}
			}
			if p.WorkloadID != "1s5" || p.Primary != (tt.changed[0] == "") || !reflect.DeepEqual(p.Sidekicks, wantSidekicks) {
				t.Fatalf("plan = %+v", p)
			}
		})
	}
}

func TestPlanRepositoryNormalisation(t *testing.T) {
	tests := []struct {
		name  string
		image string
		push  Push
		match bool
	}{
		{name: "docker prefix and short name", image: "docker:nginx:1.13", push: nginxPush("1.14"), match: true},
		{name: "library", image: "docker:library/nginx:1.13", push: nginxPush("1.14"), match: true},
		{name: "docker.io", image: "docker:docker.io/library/nginx", push: nginxPush("1.14"), match: true},
		{name: "index.docker.io", image: "docker:index.docker.io/library/nginx:1.13", push: nginxPush("1.14"), match: true},
		{name: "without the docker prefix (Kubernetes style)", image: "nginx:1.13", push: nginxPush("1.14"), match: true},
		{name: "digest pinned", image: "docker:nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			push: nginxPush("1.14"), match: true},
		{name: "same name on another registry", image: "docker:registry.local:5000/nginx:1", push: nginxPush("1.14")},
		{name: "prefix of the name is not the name", image: "docker:nginx-extra:1", push: nginxPush("1.14")},
		{name: "registry host and port", image: "docker:registry.local:5000/team/app:1.0",
			push: Push{Repository: "registry.local:5000/team/app", Tag: "2.0", Image: "registry.local:5000/team/app:2.0"}, match: true},
		{name: "registry port differs", image: "docker:registry.local/team/app:1.0",
			push: Push{Repository: "registry.local:5000/team/app", Tag: "2.0", Image: "registry.local:5000/team/app:2.0"}},
		{name: "registry host case-insensitive", image: "docker:Registry.Local:5000/team/app:1.0",
			push: Push{Repository: "registry.local:5000/team/app", Tag: "2.0", Image: "registry.local:5000/team/app:2.0"}, match: true},
		{name: "aliyun vpc host is another repository", image: "docker:registry.cn-hangzhou.aliyuncs.com/ns/app:v0",
			push: Push{Repository: "registry-vpc.cn-hangzhou.aliyuncs.com/ns/app", Tag: "v1"}},
		{name: "no image", image: "docker:rancher/none", push: nginxPush("1.14")},
		{name: "unparseable image", image: "docker:", push: nginxPush("1.14")},
	}
	web := map[string]string{"app": "web"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := Workload{ID: "1s1", LaunchConfigs: []LaunchConfig{{ImageUUID: tt.image, Labels: web}}}
			_, ok, reason := Plan(w, web, tt.push, tt.push.Tag)
			if ok != tt.match {
				t.Fatalf("Plan(%s, push %s) ok = %v (%s), want %v", tt.image, tt.push.Repository, ok, reason, tt.match)
			}
		})
	}
}

func TestPlanChange(t *testing.T) {
	labels := map[string]string{"app": "web", "io.rancher.container.pull_image": "never"}
	before := maps.Clone(labels)
	w := Workload{ID: "1s1", LaunchConfigs: []LaunchConfig{{ImageUUID: "docker:nginx:1.13", Labels: labels}}}
	p, ok, _ := Plan(w, map[string]string{"app": "web"}, nginxPush("1.14"), "1.14")
	if !ok {
		t.Fatal("expected a plan")
	}
	want := Change{
		FromImageUUID: "docker:nginx:1.13",
		Image:         "nginx:1.14",
		ImageUUID:     "docker:nginx:1.14",
		Labels:        map[string]string{"app": "web", "io.rancher.container.pull_image": "always"},
	}
	if !reflect.DeepEqual(p.Changes, []Change{want}) {
		t.Fatalf("changes = %+v\nwant %+v", p.Changes, want)
	}
	// FixesOriginal: the original set the label on the service's own map (and shared one strategy across
	// services); the input must be left as it was.
	if !reflect.DeepEqual(labels, before) {
		t.Fatalf("input labels mutated: %v", labels)
	}
	p.Changes[0].Labels["extra"] = "x"
	if !reflect.DeepEqual(labels, before) {
		t.Fatal("the plan's labels must be a copy")
	}
}

func TestMatchLabels(t *testing.T) {
	tests := []struct {
		selector, labels map[string]string
		want             bool
	}{
		{map[string]string{"a": "1"}, map[string]string{"a": "1", "b": "2"}, true},
		{map[string]string{"a": "1", "b": "2"}, map[string]string{"a": "1"}, false},
		{map[string]string{"A": "X"}, map[string]string{"a": "x"}, true},
		{map[string]string{"a": ""}, map[string]string{"a": "whatever"}, true},
		{map[string]string{"a": ""}, map[string]string{"b": ""}, false},
		{map[string]string{"a": "1"}, nil, false},
		{nil, map[string]string{"a": "1"}, false},
		{map[string]string{}, map[string]string{"a": "1"}, false},
	}
	for _, tt := range tests {
		if got := MatchLabels(tt.selector, tt.labels); got != tt.want {
			t.Errorf("MatchLabels(%v, %v) = %v, want %v", tt.selector, tt.labels, got, tt.want)
		}
	}
}
