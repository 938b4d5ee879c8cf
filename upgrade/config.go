package upgrade

import "regexp"

// Payload formats (payloadFormat). FormatDistribution is never configured: distribution notifications are
// recognised by their envelope whatever the format.
const (
	FormatDockerHub    = "dockerhub"
	FormatAliCloud     = "alicloud"
	FormatAzure        = "azure"
	FormatDistribution = "distribution"
)

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
	Tag             string
	// PayloadFormat is "dockerhub" (also when empty), "alicloud" or "azure".
	PayloadFormat string
	// AddressType is "registry" (also when empty), "registry-vpc" or "registry-internal"; alicloud only.
	AddressType string
	BatchSize   int64
	// IntervalMillis as stored; see IntervalMillis for the unit.
	IntervalMillis int64
	StartFirst     bool
}

// ValidateConfig checks c as webhook-service's v1.6 branch did when a receiver was created, in the same order and
// with the same messages, then the payload format and address type (enums the original left to its schema).
// One deliberate difference: an empty selector is refused like a missing one, because it selects nothing (see
// MatchLabels). The error is an *Error.
func ValidateConfig(c Config) error {
	switch {
	case len(c.ServiceSelector) == 0:
		return errorf("Service selectors not provided")
	case c.Tag == "":
		return errorf("Tag not provided")
	case !ValidTag(c.Tag):
		return errorf("Invalid tag %s, tag length must be < 128, must contain [a-zA-Z0-9.-_] characters only, "+
			"cannot start with '.' or '-'", c.Tag)
	case c.BatchSize <= 0:
		return errorf("Batch size for upgrade not provided/invalid")
	case c.IntervalMillis <= 0:
		return errorf("Batch interval for upgrade not provided/invalid")
	}
	switch c.PayloadFormat {
	case "", FormatDockerHub, FormatAliCloud, FormatAzure:
	default:
		return errorf("Invalid payload format %v", c.PayloadFormat)
	}
	if !validAddressType(c.AddressType) {
		return errorf("Invalid address type %v", c.AddressType)
	}
	return nil
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
