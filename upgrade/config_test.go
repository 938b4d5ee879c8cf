package upgrade

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateConfig(t *testing.T) {
	ok := Config{ServiceSelector: map[string]string{"app": "web"}, Tag: "1.14", BatchSize: 1, IntervalMillis: 2}
	badTag := "Invalid tag %s, tag length must be < 128, must contain [a-zA-Z0-9.-_] characters only, cannot start with '.' or '-'"
	tests := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{name: "valid", mod: func(*Config) {}},
		{name: "valid alicloud vpc", mod: func(c *Config) { c.PayloadFormat, c.AddressType = FormatAliCloud, AddressRegistryVPC }},
		{name: "valid azure", mod: func(c *Config) { c.PayloadFormat = FormatAzure }},
		{name: "valid dockerhub", mod: func(c *Config) { c.PayloadFormat, c.AddressType = FormatDockerHub, AddressRegistry }},
		{name: "no selector", mod: func(c *Config) { c.ServiceSelector = nil }, want: "Service selectors not provided"},
		{name: "empty selector refused like a missing one", mod: func(c *Config) { c.ServiceSelector = map[string]string{} },
			want: "Service selectors not provided"},
		{name: "no tag", mod: func(c *Config) { c.Tag = "" }, want: "Tag not provided"},
		{name: "tag starting with a dot", mod: func(c *Config) { c.Tag = ".1" }, want: strings.ReplaceAll(badTag, "%s", ".1")},
		{name: "tag with a space", mod: func(c *Config) { c.Tag = "a b" }, want: strings.ReplaceAll(badTag, "%s", "a b")},
		{name: "no batch size", mod: func(c *Config) { c.BatchSize = 0 }, want: "Batch size for upgrade not provided/invalid"},
		{name: "no interval", mod: func(c *Config) { c.IntervalMillis = 0 }, want: "Batch interval for upgrade not provided/invalid"},
		{name: "unknown format", mod: func(c *Config) { c.PayloadFormat = "gitlab" },
			want: "Invalid payload format gitlab, must be one of dockerhub, alicloud, azure, harbor, quay, ghcr, custom, distribution, auto"},
		{name: "valid harbor", mod: func(c *Config) { c.PayloadFormat = FormatHarbor }},
		{name: "valid quay", mod: func(c *Config) { c.PayloadFormat = FormatQuay }},
		{name: "valid ghcr", mod: func(c *Config) { c.PayloadFormat = FormatGHCR }},
		{name: "valid custom", mod: func(c *Config) { c.PayloadFormat = FormatCustom }},
		{name: "valid auto", mod: func(c *Config) { c.PayloadFormat = FormatAuto }},
		{name: "exact policy named", mod: func(c *Config) { c.TagPolicy = PolicyExact }},
		{name: "exact policy without tag", mod: func(c *Config) { c.TagPolicy, c.Tag = PolicyExact, "" }, want: "Tag not provided"},
		{name: "exact policy with a pattern", mod: func(c *Config) { c.TagPattern = "1.*" },
			want: "Tag pattern is only used by the glob and regex tag policies, not by exact"},
		{name: "glob", mod: func(c *Config) { c.Tag, c.TagPolicy, c.TagPattern = "", PolicyGlob, "1.14.*" }},
		{name: "glob without pattern", mod: func(c *Config) { c.Tag, c.TagPolicy = "", PolicyGlob },
			want: "Tag pattern not provided for tag policy glob"},
		{name: "bad glob", mod: func(c *Config) { c.Tag, c.TagPolicy, c.TagPattern = "", PolicyGlob, "1.[" },
			want: `Invalid tag pattern "1.[" for tag policy glob`},
		{name: "regex", mod: func(c *Config) { c.Tag, c.TagPolicy, c.TagPattern = "", PolicyRegex, `v\d+\.\d+` }},
		{name: "bad regex", mod: func(c *Config) { c.Tag, c.TagPolicy, c.TagPattern = "", PolicyRegex, "(1" },
			want: `Invalid tag pattern "(1" for tag policy regex`},
		{name: "semver", mod: func(c *Config) { c.Tag, c.TagPolicy = "", PolicySemverPatch }},
		{name: "semver with a pattern", mod: func(c *Config) { c.Tag, c.TagPolicy, c.TagPattern = "", PolicySemverMinor, "1.*" },
			want: "Tag pattern is only used by the glob and regex tag policies, not by semver-minor"},
		{name: "tag with a non-exact policy is refused, not ignored", mod: func(c *Config) { c.TagPolicy = PolicySemverMajor },
			want: "Tag is only used by the exact tag policy, not by semver-major (glob and regex take a tag pattern)"},
		{name: "unknown policy", mod: func(c *Config) { c.TagPolicy = "semver" },
			want: `Invalid tag policy "semver", must be one of exact, glob, regex, semver-major, semver-minor, semver-patch`},
		{name: "aliases", mod: func(c *Config) {
			c.RegistryAliases = map[string]string{"registry.cn-hangzhou.aliyuncs.com": "registry-vpc.cn-hangzhou.aliyuncs.com",
				"harbor.example.com": "10.0.0.5:8443", "[fd00::1]:5000": "registry.local"}
		}},
		{name: "alias with a scheme", mod: func(c *Config) { c.RegistryAliases = map[string]string{"https://harbor.example.com": "h"} },
			want: `Invalid registry alias "https://harbor.example.com": "https://harbor.example.com" is not a registry host (host or host:port, no scheme or path)`},
		{name: "alias to a path", mod: func(c *Config) { c.RegistryAliases = map[string]string{"harbor.example.com": "h/proj"} },
			want: `Invalid registry alias "harbor.example.com": "h/proj" is not a registry host (host or host:port, no scheme or path)`},
		{name: "alias to itself", mod: func(c *Config) { c.RegistryAliases = map[string]string{"index.docker.io": "Docker.io"} },
			want: `Invalid registry alias "index.docker.io": it maps the host to itself`},
		{name: "empty alias", mod: func(c *Config) { c.RegistryAliases = map[string]string{"": "h"} },
			want: `Invalid registry alias "": "" is not a registry host (host or host:port, no scheme or path)`},
		{name: "unknown address type", mod: func(c *Config) { c.AddressType = "registry-x" }, want: "Invalid address type registry-x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			checkErr(t, ValidateConfig(c), tt.want)
		})
	}
}

func TestValidTag(t *testing.T) {
	tests := []struct {
		tag  string
		want bool
	}{
		{"latest", true}, {"1.14", true}, {"v1.0-rc_1", true}, {"_x", true}, {strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false}, {"", false}, {".x", false}, {"-x", false}, {"a b", false}, {"a:b", false},
		{"a/b", false}, {"ü", false}, {"a\n", false},
	}
	for _, tt := range tests {
		if got := ValidTag(tt.tag); got != tt.want {
			t.Errorf("ValidTag(%q) = %v, want %v", tt.tag, got, tt.want)
		}
	}
}

func TestIntervalMillis(t *testing.T) {
	tests := []struct{ in, want int64 }{
		{2, 2000},      // the original's default, seconds
		{1, 1000},      //
		{99, 99000},    // largest legacy value
		{100, 100},     // Cattle's minimum, milliseconds
		{2000, 2000},   // a real millisecond value
		{0, 2000},      // unset: Cattle's default
		{-5, 2000},     //
		{60000, 60000}, //
		{1 << 40, 1 << 40},
	}
	for _, tt := range tests {
		if got := IntervalMillis(tt.in); got != tt.want {
			t.Errorf("IntervalMillis(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestStrategy(t *testing.T) {
	got := Config{BatchSize: 3, IntervalMillis: 2, StartFirst: true}.Strategy()
	if got != (Strategy{BatchSize: 3, IntervalMillis: 2000, StartFirst: true}) {
		t.Fatalf("Strategy = %+v", got)
	}
	if got := (Config{}).Strategy(); got != (Strategy{BatchSize: 1, IntervalMillis: 2000}) {
		t.Fatalf("default Strategy = %+v", got)
	}
}

// checkErr asserts err is nil when want is "", else an *Error whose message is want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *Error %q", err, err, want)
	}
	if e.Message != want {
		t.Fatalf("error message = %q, want %q", e.Message, want)
	}
}
