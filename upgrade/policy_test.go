package upgrade

import (
	"reflect"
	"strings"
	"testing"
)

func mustPolicy(t *testing.T, name, pattern string) Policy {
	t.Helper()
	p, err := NewPolicy(name, pattern)
	if err != nil {
		t.Fatalf("NewPolicy(%q, %q): %v", name, pattern, err)
	}
	return p
}

func TestSemverPolicies(t *testing.T) {
	tests := []struct {
		policy, current, pushed string
		want                    bool
		why                     string // part of the reason when refused
	}{
		// The examples: current 1.14.0 under patch.
		{PolicySemverPatch, "1.14.0", "1.14.1", true, ""},
		{PolicySemverPatch, "1.14.0", "1.15.0", false, "outside 1.14.x"},
		{PolicySemverPatch, "1.14.0", "2.0.0", false, "outside 1.14.x"},
		{PolicySemverPatch, "1.14.0", "1.14.0", false, "not newer"},
		{PolicySemverPatch, "1.14.0", "1.13.9", false, "not newer"},
		{PolicySemverPatch, "1.14.0", "1.14.10", true, ""},
		// minor: same major.
		{PolicySemverMinor, "1.14.0", "1.14.1", true, ""},
		{PolicySemverMinor, "1.14.0", "1.15.0", true, ""},
		{PolicySemverMinor, "1.14.0", "2.0.0", false, "outside 1.x"},
		{PolicySemverMinor, "1.14.0", "1.14.0", false, "not newer"},
		// major: anything newer.
		{PolicySemverMajor, "1.14.0", "2.0.0", true, ""},
		{PolicySemverMajor, "1.14.0", "1.14.1", true, ""},
		{PolicySemverMajor, "1.14.0", "1.14.0", false, "not newer"},
		{PolicySemverMajor, "2.0.0", "1.99.0", false, "not newer"},
		// Docker-style tags: v prefix and missing parts.
		{PolicySemverPatch, "v1.14.0", "v1.14.2", true, ""},
		{PolicySemverPatch, "1.14", "1.14.1", true, ""},
		{PolicySemverPatch, "1.14.0", "1.14", false, "not newer"},
		{PolicySemverMinor, "1", "1.1", true, ""},
		// Pre-release suffixes must be of the same kind.
		{PolicySemverPatch, "1.14.0-alpine", "1.14.1-alpine", true, ""},
		{PolicySemverPatch, "1.25.3-alpine3.18", "1.25.4-alpine3.19", true, ""},
		{PolicySemverPatch, "1.14.0-alpine", "1.14.1", false, "pre-release suffix"},
		{PolicySemverPatch, "1.14.0", "1.14.1-rc.1", false, "pre-release suffix"},
		{PolicySemverMajor, "2.0.0-rc.1", "2.0.0-rc.2", true, ""},
		{PolicySemverMajor, "2.0.0-rc1", "2.0.0-rc2", true, ""},
		{PolicySemverPatch, "1.14.0-alpine", "1.14.1-debian", false, "pre-release suffix"},
		// Tags that are not versions.
		{PolicySemverPatch, "latest", "1.14.1", false, `current tag "latest" is not a semantic version`},
		{PolicySemverPatch, "1.14.0", "latest", false, `pushed tag "latest" is not a semantic version`},
		{PolicySemverPatch, "", "1.14.1", false, "current image has no tag"},
		{PolicySemverPatch, "1.14.0", "1.14.1.1", false, "not a semantic version"},
	}
	for _, tt := range tests {
		t.Run(tt.policy+" "+tt.current+" to "+tt.pushed, func(t *testing.T) {
			got, why := mustPolicy(t, tt.policy, "").Accept(tt.pushed, tt.current)
			if got != tt.want {
				t.Fatalf("Accept(%q, %q) = %v (%s), want %v", tt.pushed, tt.current, got, why, tt.want)
			}
			if tt.want && why != "" {
				t.Fatalf("accepted with a reason %q", why)
			}
			if !tt.want && !strings.Contains(why, tt.why) {
				t.Fatalf("reason %q does not say %q", why, tt.why)
			}
		})
	}
}

func TestPatternPolicies(t *testing.T) {
	tests := []struct {
		policy, pattern, tag string
		want                 bool
	}{
		{PolicyExact, "1.14", "1.14", true},
		{PolicyExact, "1.14", "1.14.1", false},
		{PolicyExact, "latest", "Latest", false},
		{PolicyGlob, "1.14.*", "1.14.2", true},
		{PolicyGlob, "1.14.*", "1.15.0", false},
		{PolicyGlob, "1.14.*", "1.14", false},
		{PolicyGlob, "*-alpine", "1.25.3-alpine", true},
		{PolicyGlob, "*-alpine", "1.25.3-alpine-slim", false},
		{PolicyGlob, "v?.?", "v1.2", true},
		{PolicyGlob, "release-[0-9]*", "release-42", true},
		{PolicyGlob, "release-[0-9]*", "release-x", false},
		{PolicyGlob, "*", "anything", true},
		// Anchored: a regex must match the whole tag, not a part of it.
		{PolicyRegex, `1\.14\.\d+`, "1.14.3", true},
		{PolicyRegex, `1\.14\.\d+`, "1.14.3-rc1", false},
		{PolicyRegex, `1\.14\.\d+`, "v1.14.3", false},
		{PolicyRegex, `main-[0-9a-f]{7}`, "main-1a2b3c4", true},
		{PolicyRegex, `main-[0-9a-f]{7}`, "feature-1a2b3c4", false},
		{PolicyRegex, `a|b`, "b", true},
		{PolicyRegex, `a|b`, "ab", false},
		{PolicyRegex, `(?i)LATEST`, "latest", true},
	}
	for _, tt := range tests {
		t.Run(tt.policy+" "+tt.pattern+" "+tt.tag, func(t *testing.T) {
			p := mustPolicy(t, tt.policy, tt.pattern)
			ok, why := p.Admits(tt.tag)
			if ok != tt.want {
				t.Fatalf("Admits(%q) = %v (%s), want %v", tt.tag, ok, why, tt.want)
			}
			// The current tag does not matter to pattern policies.
			for _, current := range []string{"", "1.0.0", tt.tag} {
				if got, _ := p.Accept(tt.tag, current); got != tt.want {
					t.Fatalf("Accept(%q, %q) = %v, want %v", tt.tag, current, got, tt.want)
				}
			}
			if !ok && why == "" {
				t.Fatal("refused without a reason")
			}
		})
	}
}

func TestPolicyZeroValueAcceptsNothing(t *testing.T) {
	var p Policy
	if ok, _ := p.Accept("latest", "latest"); ok {
		t.Fatal("the zero Policy must accept nothing")
	}
	if p.Name() != PolicyExact || p.NeedsCurrentTag() {
		t.Fatalf("zero Policy is %s", p)
	}
	if got := ExactPolicy("1.14").String(); got != `exact "1.14"` {
		t.Fatalf("String = %s", got)
	}
	if got := mustPolicy(t, PolicySemverMinor, "").String(); got != "semver-minor" {
		t.Fatalf("String = %s", got)
	}
}

func TestConfigPolicy(t *testing.T) {
	p, err := Config{Tag: "1.14"}.Policy()
	if err != nil || p.Name() != PolicyExact {
		t.Fatalf("default policy = %v, %v", p, err)
	}
	if ok, _ := p.Admits("1.14"); !ok {
		t.Fatal("exact policy must admit its tag")
	}
	p, err = Config{TagPolicy: PolicyRegex, TagPattern: `v\d+`}.Policy()
	if err != nil || !p.re.MatchString("v12") {
		t.Fatalf("regex policy = %v, %v", p, err)
	}
}

// nginx workload: primary on 1.14.0, sidekick "proxy" on 1.15.0, sidekick "cache" on another repository.
func policyWorkload() Workload {
	web := map[string]string{"app": "web"}
	return Workload{ID: "1s9", LaunchConfigs: []LaunchConfig{
		{ImageUUID: "docker:nginx:1.14.0", Labels: web},
		{Name: "proxy", ImageUUID: "docker:nginx:1.15.0", Labels: web},
		{Name: "cache", ImageUUID: "docker:redis:5", Labels: web},
	}}
}

func TestPlanPolicyUsesEachLaunchConfigsCurrentTag(t *testing.T) {
	web := map[string]string{"app": "web"}
	tests := []struct {
		name    string
		policy  Policy
		tag     string
		ok      bool
		changed []string
		skipped []string
		reason  string
	}{
		{name: "patch: 1.14.1 upgrades the primary on 1.14.0, not the sidekick on 1.15.0 (a downgrade)",
			policy: mustPolicy(t, PolicySemverPatch, ""), tag: "1.14.1", ok: true, changed: []string{""},
			skipped: []string{`sidekick proxy: pushed tag "1.14.1" is not newer than the current tag "1.15.0" (tag policy semver-patch)`}},
		{name: "patch: 2.0.0 refused for both",
			policy: mustPolicy(t, PolicySemverPatch, ""), tag: "2.0.0",
			reason: `primary: pushed tag "2.0.0" is outside 1.14.x of the current tag "1.14.0" (tag policy semver-patch); ` +
				`sidekick proxy: pushed tag "2.0.0" is outside 1.15.x of the current tag "1.15.0" (tag policy semver-patch)`},
		{name: "minor: 1.15.1 upgrades both",
			policy: mustPolicy(t, PolicySemverMinor, ""), tag: "1.15.1", ok: true, changed: []string{"", "proxy"}},
		{name: "minor: 1.15.0 upgrades the primary only (the sidekick runs it already)",
			policy: mustPolicy(t, PolicySemverMinor, ""), tag: "1.15.0", ok: true, changed: []string{""},
			skipped: []string{`sidekick proxy: pushed tag "1.15.0" is not newer than the current tag "1.15.0" (tag policy semver-minor)`}},
		{name: "semver refuses a tag that is not a version before looking at services",
			policy: mustPolicy(t, PolicySemverMajor, ""), tag: "latest",
			reason: `pushed tag "latest" is not a semantic version (tag policy semver-major)`},
		{name: "glob ignores the current tag: the same tag redeploys",
			policy: mustPolicy(t, PolicyGlob, "1.1?.*"), tag: "1.14.0", ok: true, changed: []string{"", "proxy"}},
		{name: "glob mismatch", policy: mustPolicy(t, PolicyGlob, "1.1?.*"), tag: "2.0.0",
			reason: `pushed tag "2.0.0" does not match the glob "1.1?.*"`},
		{name: "regex", policy: mustPolicy(t, PolicyRegex, `1\.1[45]\.\d+`), tag: "1.15.2", ok: true, changed: []string{"", "proxy"}},
		{name: "exact through PlanPolicy keeps Plan's message", policy: ExactPolicy("1.14"), tag: "1.15",
			reason: `pushed tag "1.15" is not the configured tag "1.14"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok, reason := PlanPolicy(policyWorkload(), web, nginxPush(tt.tag), tt.policy)
			if ok != tt.ok || reason != tt.reason {
				t.Fatalf("ok %v reason %q\nwant %v %q", ok, reason, tt.ok, tt.reason)
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
				if c.ImageUUID != "docker:nginx:"+tt.tag {
					t.Fatalf("change to %s", c.ImageUUID)
				}
			}
			if !reflect.DeepEqual(names, tt.changed) || !reflect.DeepEqual(p.Skipped, tt.skipped) {
				t.Fatalf("changed %q skipped %q\nwant %q %q", names, p.Skipped, tt.changed, tt.skipped)
			}
		})
	}
}

func TestPlanPolicySemverOnUntaggedOrPinnedImages(t *testing.T) {
	web := map[string]string{"app": "web"}
	for _, image := range []string{
		"docker:nginx",
		"docker:nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"docker:nginx:latest",
	} {
		w := Workload{ID: "1s1", LaunchConfigs: []LaunchConfig{{ImageUUID: image, Labels: web}}}
		_, ok, reason := PlanPolicy(w, web, nginxPush("1.14.1"), mustPolicy(t, PolicySemverPatch, ""))
		if ok || !strings.HasPrefix(reason, "primary: ") {
			t.Fatalf("%s: ok %v reason %q, want a refusal naming the primary", image, ok, reason)
		}
	}
}
