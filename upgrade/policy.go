package upgrade

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Tag policies (tagPolicy): which pushed tags a receiver accepts.
const (
	// PolicyExact accepts the configured tag only: the original's rule and the default.
	PolicyExact = "exact"
	// PolicyGlob accepts tags matching a glob (path.Match syntax: *, ?, [a-z]) over the whole tag.
	PolicyGlob = "glob"
	// PolicyRegex accepts tags matching a regular expression (RE2 syntax), anchored to the whole tag.
	PolicyRegex = "regex"
	// PolicySemverMajor accepts any version newer than the service's current tag.
	PolicySemverMajor = "semver-major"
	// PolicySemverMinor accepts a newer version with the current tag's major version.
	PolicySemverMinor = "semver-minor"
	// PolicySemverPatch accepts a newer version with the current tag's major and minor versions.
	PolicySemverPatch = "semver-patch"
)

// policies lists the tag policies in the order they are documented.
var policies = []string{PolicyExact, PolicyGlob, PolicyRegex, PolicySemverMajor, PolicySemverMinor, PolicySemverPatch}

// Policy is a validated, compiled tag policy. The zero value is the exact policy for an empty tag, which accepts
// nothing (a push always has a tag).
//
// Exact, glob and regex decide from the pushed tag alone, so a push of the same mutable tag ("latest") is
// accepted every time; it redeploys because upgrades set pull_image=always, and a repeated delivery of one push
// is caught by Deduper, not by the policy. The semver policies compare the pushed tag with the tag each selected
// launch config runs now (see Accept): they accept only a strictly newer version, so the same version pushed
// again is refused.
type Policy struct {
	name    string
	pattern string
	re      *regexp.Regexp
}

// NewPolicy validates and compiles a policy; pattern is the tag of the exact policy, the pattern of glob and
// regex, and must be empty for the semver policies. The error is an *Error.
func NewPolicy(name, pattern string) (Policy, error) {
	p := Policy{name: name, pattern: pattern}
	switch name {
	case PolicyExact:
	case PolicyGlob, PolicyRegex:
		if pattern == "" {
			return Policy{}, errorf("Tag pattern not provided for tag policy %s", name)
		}
		if name == PolicyGlob {
			if _, err := path.Match(pattern, ""); err != nil {
				return Policy{}, &Error{Message: fmt.Sprintf("Invalid tag pattern %q for tag policy glob", pattern), Err: err}
			}
			break
		}
		re, err := regexp.Compile(`^(?:` + pattern + `)$`)
		if err != nil {
			return Policy{}, &Error{Message: fmt.Sprintf("Invalid tag pattern %q for tag policy regex", pattern), Err: err}
		}
		p.re = re
	case PolicySemverMajor, PolicySemverMinor, PolicySemverPatch:
		if pattern != "" {
			return Policy{}, errorf("Tag pattern is only used by the glob and regex tag policies, not by %s", name)
		}
	default:
		return Policy{}, errorf("Invalid tag policy %q, must be one of %s", name, strings.Join(policies, ", "))
	}
	return p, nil
}

// ExactPolicy is the original's rule: accept tag only.
func ExactPolicy(tag string) Policy { return Policy{name: PolicyExact, pattern: tag} }

// Name returns the policy's name ("exact" for the zero value).
func (p Policy) Name() string {
	if p.name == "" {
		return PolicyExact
	}
	return p.name
}

// String describes the policy for an execution record: `exact "1.14"`, `glob "1.14.*"`, `semver-patch`.
func (p Policy) String() string {
	if p.semver() {
		return p.name
	}
	return fmt.Sprintf("%s %q", p.Name(), p.pattern)
}

func (p Policy) semver() bool {
	return p.name == PolicySemverMajor || p.name == PolicySemverMinor || p.name == PolicySemverPatch
}

// NeedsCurrentTag reports whether Accept depends on the running tag (the semver policies).
func (p Policy) NeedsCurrentTag() bool { return p.semver() }

// Admits reports whether tag can be accepted at all, before any service is looked at: the whole decision for
// exact, glob and regex; for semver, that tag is a version. The reason says why not.
func (p Policy) Admits(tag string) (bool, string) {
	switch p.name {
	case "", PolicyExact:
		if tag != p.pattern {
			return false, fmt.Sprintf("pushed tag %q is not the configured tag %q", tag, p.pattern)
		}
	case PolicyGlob:
		// The pattern was checked by NewPolicy, so Match cannot fail.
		if ok, _ := path.Match(p.pattern, tag); !ok {
			return false, fmt.Sprintf("pushed tag %q does not match the glob %q", tag, p.pattern)
		}
	case PolicyRegex:
		if p.re == nil || !p.re.MatchString(tag) {
			return false, fmt.Sprintf("pushed tag %q does not match the regex %q", tag, p.pattern)
		}
	default:
		if _, err := semver.NewVersion(tag); err != nil {
			return false, fmt.Sprintf("pushed tag %q is not a semantic version (tag policy %s)", tag, p.name)
		}
	}
	return true, ""
}

// Accept reports whether pushed may replace current (the tag the launch config runs now, "" when its image has
// no tag). For exact, glob and regex it is Admits(pushed). For the semver policies both tags must be versions
// (a leading "v" and missing minor or patch are allowed: "v1.14" is 1.14.0), pushed must be strictly newer, and
// within the range: semver-patch keeps major.minor, semver-minor keeps major, semver-major any newer version.
// Pre-release suffixes must be of the same kind (their letters, see variant), so 1.14.0-alpine → 1.14.1-alpine and 2.0.0-rc.1 → 2.0.0-rc.2 are accepted but 1.14.0 → 1.14.1-rc.1 (a stable
// service would move to a release candidate) and 1.14.0-alpine → 1.14.1 (Docker's image variants use the same
// syntax) are not. The reason says why not.
func (p Policy) Accept(pushed, current string) (bool, string) {
	if ok, why := p.Admits(pushed); !ok || !p.semver() {
		return ok, why
	}
	if current == "" {
		return false, fmt.Sprintf("current image has no tag to compare %q with (tag policy %s)", pushed, p.name)
	}
	cur, err := semver.NewVersion(current)
	if err != nil {
		return false, fmt.Sprintf("current tag %q is not a semantic version (tag policy %s)", current, p.name)
	}
	// Admits parsed it already.
	next, _ := semver.NewVersion(pushed)
	if variant(cur.Prerelease()) != variant(next.Prerelease()) {
		return false, fmt.Sprintf("pushed tag %q and current tag %q differ in pre-release suffix (tag policy %s)",
			pushed, current, p.name)
	}
	if !next.GreaterThan(cur) {
		return false, fmt.Sprintf("pushed tag %q is not newer than the current tag %q (tag policy %s)", pushed, current, p.name)
	}
	switch {
	case p.name == PolicySemverMinor && next.Major() != cur.Major():
		return false, fmt.Sprintf("pushed tag %q is outside %d.x of the current tag %q (tag policy %s)",
			pushed, cur.Major(), current, p.name)
	case p.name == PolicySemverPatch && (next.Major() != cur.Major() || next.Minor() != cur.Minor()):
		return false, fmt.Sprintf("pushed tag %q is outside %d.%d.x of the current tag %q (tag policy %s)",
			pushed, cur.Major(), cur.Minor(), current, p.name)
	}
	return true, ""
}

// variant is the kind of a pre-release suffix: its dot-separated identifiers without their digits, empty ones
// dropped ("rc.1" and "rc1" → "rc", "alpine3.18" → "alpine", "" → "").
func variant(pre string) string {
	var kinds []string
	for _, id := range strings.Split(pre, ".") {
		if k := strings.Map(dropDigit, id); k != "" {
			kinds = append(kinds, k)
		}
	}
	return strings.Join(kinds, ".")
}

func dropDigit(r rune) rune {
	if r >= '0' && r <= '9' {
		return -1
	}
	return r
}
