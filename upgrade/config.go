package upgrade

import (
	"regexp"
	"slices"
	"strings"
)

// Payload formats (payloadFormat). Distribution notifications are recognised by their envelope whatever the
// format; FormatDistribution may also be configured, to refuse anything else. FormatAuto detects the format
// from the body and refuses a body it cannot attribute to exactly one format (see Detect).
const (
	FormatDockerHub    = "dockerhub"
	FormatAliCloud     = "alicloud"
	FormatAzure        = "azure"
	FormatDistribution = "distribution"
	FormatHarbor       = "harbor"
	FormatQuay         = "quay"
	FormatGHCR         = "ghcr"
	FormatCustom       = "custom"
	FormatAuto         = "auto"
)

// payloadFormats are the formats a receiver may be configured with ("" is dockerhub).
var payloadFormats = []string{FormatDockerHub, FormatAliCloud, FormatAzure, FormatHarbor, FormatQuay, FormatGHCR,
	FormatCustom, FormatDistribution, FormatAuto}

// Aliyun address types (addressType): the registry host a cluster pulls from.
const (
	AddressRegistry         = "registry"
	AddressRegistryVPC      = "registry-vpc"
	AddressRegistryInternal = "registry-internal"
)

// Defaults of the strategy, as Cattle's upgrade action.
const (
	DefaultBatchSize      = 1
	DefaultIntervalMillis = 2000
	// legacySecondsBelow: a stored intervalMillis below this is the original's seconds (Cattle's minimum
	// interval is 100 ms, so no real millisecond value is that small).
	legacySecondsBelow = 100
)

// tagPattern is Docker's tag grammar as the original checked it: a word character, then up to 127 word
// characters, dots and dashes.
var tagPattern = regexp.MustCompile(`^\w[\w.-]{0,127}$`)

// Config is the stored configuration of a serviceUpgrade receiver (JSON serviceUpgradeConfig).
type Config struct {
	ServiceSelector map[string]string
	// Tag is the tag the exact policy accepts (the original's only rule); other policies leave it empty.
	Tag string
	// TagPolicy is "exact" (also when empty), "glob", "regex", "semver-major", "semver-minor" or
	// "semver-patch"; see NewPolicy.
	TagPolicy string
	// TagPattern is the pattern of the glob and regex policies.
	TagPattern string
	// PayloadFormat is "dockerhub" (also when empty), "alicloud", "azure", "harbor", "quay", "ghcr", "custom",
	// "distribution" or "auto".
	PayloadFormat string
	// AddressType is "registry" (also when empty), "registry-vpc" or "registry-internal"; alicloud only.
	AddressType string
	BatchSize   int64
	// IntervalMillis as stored; see IntervalMillis for the unit.
	IntervalMillis int64
	StartFirst     bool
	// RegistryAliases maps the registry host a payload reports to the host services pull from, applied to
	// every push before matching (see ApplyAliases).
	RegistryAliases map[string]string
}

// ValidateConfig checks c as webhook-service's v1.6 branch did when a receiver was created, in the same order and
// with the same messages, then the payload format and address type (enums the original left to its schema).
// One deliberate difference: an empty selector is refused like a missing one, because it selects nothing (see
// MatchLabels). The tag checks depend on the tag policy: the exact policy (the default) needs Tag as the
// original did, glob and regex need a valid TagPattern, and a field the policy does not use is refused rather
// than silently ignored. Registry aliases must map a host to another host. The error is an *Error.
func ValidateConfig(c Config) error {
	if len(c.ServiceSelector) == 0 {
		return errorf("Service selectors not provided")
	}
	if _, err := c.Policy(); err != nil {
		return err
	}
	switch {
	case c.BatchSize <= 0:
		return errorf("Batch size for upgrade not provided/invalid")
	case c.IntervalMillis <= 0:
		return errorf("Batch interval for upgrade not provided/invalid")
	}
	if !validFormat(c.PayloadFormat) {
		return errorf("Invalid payload format %v, must be one of %s", c.PayloadFormat, strings.Join(payloadFormats, ", "))
	}
	if !validAddressType(c.AddressType) {
		return errorf("Invalid address type %v", c.AddressType)
	}
	return validateAliases(c.RegistryAliases)
}

// Policy returns the tag policy c configures, validated and compiled; the error is an *Error with the message
// ValidateConfig gives.
func (c Config) Policy() (Policy, error) {
	switch c.TagPolicy {
	case "", PolicyExact:
		switch {
		case c.TagPattern != "":
			return Policy{}, errorf("Tag pattern is only used by the glob and regex tag policies, not by %s", PolicyExact)
		case c.Tag == "":
			return Policy{}, errorf("Tag not provided")
		case !ValidTag(c.Tag):
			return Policy{}, errorf("Invalid tag %s, tag length must be < 128, must contain [a-zA-Z0-9.-_] characters "+
				"only, cannot start with '.' or '-'", c.Tag)
		}
		return NewPolicy(PolicyExact, c.Tag)
	}
	if !slices.Contains(policies, c.TagPolicy) {
		return NewPolicy(c.TagPolicy, c.TagPattern)
	}
	if c.Tag != "" {
		return Policy{}, errorf("Tag is only used by the exact tag policy, not by %s (glob and regex take a tag pattern)",
			c.TagPolicy)
	}
	return NewPolicy(c.TagPolicy, c.TagPattern)
}

func validFormat(f string) bool {
	return f == "" || slices.Contains(payloadFormats, f)
}

// ValidTag reports whether tag follows Docker's tag grammar.
func ValidTag(tag string) bool { return tagPattern.MatchString(tag) }

func validAddressType(t string) bool {
	switch t {
	case "", AddressRegistry, AddressRegistryVPC, AddressRegistryInternal:
		return true
	}
	return false
}

// IntervalMillis converts a stored intervalMillis to real milliseconds: values below 100 were written for the
// original, which multiplied them by 1000 (seconds), and are converted the same way; values of 100 and more are
// milliseconds. A value <= 0 gives Cattle's default, 2000.
func IntervalMillis(v int64) int64 {
	switch {
	case v <= 0:
		return DefaultIntervalMillis
	case v < legacySecondsBelow:
		return v * 1000
	}
	return v
}

// Strategy is the in-service upgrade strategy of a receiver, in Cattle's units.
type Strategy struct {
	BatchSize      int64
	IntervalMillis int64
	StartFirst     bool
}

// Strategy returns the strategy c asks for, with IntervalMillis in real milliseconds and defaults for unset
// values.
func (c Config) Strategy() Strategy {
	b := c.BatchSize
	if b <= 0 {
		b = DefaultBatchSize
	}
	return Strategy{BatchSize: b, IntervalMillis: IntervalMillis(c.IntervalMillis), StartFirst: c.StartFirst}
}
