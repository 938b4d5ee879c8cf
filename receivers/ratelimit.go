package receivers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// The `rateLimit` member of a receiver (any driver) bounds how often its trigger URL runs:
// {"perMinute": N, "burst": M}, a token bucket refilled at N a minute holding at most M. A receiver without
// one gets the service-wide limit (Options.RateLimit, --trigger-rate-per-minute / --trigger-burst). It is stored
// beside the driver's config as resourceData.rateLimit, so receivers written by webhook-service (which have
// none) are read and stored exactly as before. It is not a secret: it is rendered to every caller.

// Service-wide rate limit defaults and the bounds of a receiver's own limit.
const (
	// DefaultRatePerMinute and DefaultRateBurst: ten triggers a second on average, sixty at once. Alertmanager
	// sends a group's notification every group_interval (minutes), a registry one per push: a sender above this
	// is misconfigured or hostile, and each trigger can cost Cattle calls.
	DefaultRatePerMinute = 600
	DefaultRateBurst     = 60
	// MaxRatePerMinute and MaxRateBurst bound what a receiver may ask for.
	MaxRatePerMinute = 1_000_000
	MaxRateBurst     = 100_000
)

// dataRateLimit is the member of resourceData holding a receiver's own limit.
const dataRateLimit = "rateLimit"

// RateLimit is a token bucket: PerMinute triggers a minute on average, at most Burst at once. Burst zero means
// a tenth of PerMinute (at least 1), six seconds' worth.
type RateLimit struct {
	PerMinute int64 `json:"perMinute"`
	Burst     int64 `json:"burst,omitempty"`
}

// DefaultRateLimit is the service-wide limit when Options.RateLimit is zero.
func DefaultRateLimit() RateLimit {
	return RateLimit{PerMinute: DefaultRatePerMinute, Burst: DefaultRateBurst}
}

// Validate checks the bounds of a receiver's limit.
func (l RateLimit) Validate() error {
	switch {
	case l.PerMinute < 1 || l.PerMinute > MaxRatePerMinute:
		return fmt.Errorf("perMinute must be between 1 and %d, got %d", MaxRatePerMinute, l.PerMinute)
	case l.Burst < 0 || l.Burst > MaxRateBurst:
		return fmt.Errorf("burst must be between 1 and %d (or absent), got %d", MaxRateBurst, l.Burst)
	}
	return nil
}

// capacity is the bucket size: Burst, or a tenth of PerMinute when Burst is zero.
func (l RateLimit) capacity() int64 {
	if l.Burst > 0 {
		return l.Burst
	}
	return max(1, (l.PerMinute+9)/10)
}

// rateLimitInput is the rateLimit member of a create or update body.
type rateLimitInput struct {
	// given: the body has the member. Without it an update keeps the stored limit.
	given bool
	// limit is nil for "rateLimit": null, which returns the receiver to the service-wide limit.
	limit *RateLimit
}

// parseRateLimitInput decodes the raw rateLimit member of a write (nil when the body has none). Unknown members
// are refused, so that a typo ("perMinutes") is an error rather than a silent default.
func parseRateLimitInput(raw json.RawMessage) (rateLimitInput, error) {
	if raw == nil {
		return rateLimitInput{}, nil
	}
	in := rateLimitInput{given: true}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return in, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var l RateLimit
	if err := dec.Decode(&l); err != nil {
		return in, fail(http.StatusBadRequest, "Invalid rateLimit: must be {\"perMinute\": N, \"burst\": M} "+
			"(or null for the service's default): %v", err)
	}
	if err := l.Validate(); err != nil {
		return in, fail(http.StatusBadRequest, "Invalid rateLimit: %v", err)
	}
	in.limit = &l
	return in, nil
}

// mergeRateLimit returns the limit a write leaves: cur when the body has no rateLimit member, else the given one.
func mergeRateLimit(cur *RateLimit, in rateLimitInput) *RateLimit {
	if !in.given {
		return cur
	}
	return in.limit
}

// decodeStoredRateLimit reads resourceData.rateLimit leniently (numbers as strings, fractions truncated), as
// the other stored members are read; absent or null is none.
func decodeStoredRateLimit(raw json.RawMessage, present bool) (*RateLimit, error) {
	if !present || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var s struct {
		PerMinute flexInt `json:"perMinute"`
		Burst     flexInt `json:"burst"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("rateLimit: %w", err)
	}
	l := RateLimit{PerMinute: int64(s.PerMinute), Burst: int64(s.Burst)}
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("rateLimit: %w", err)
	}
	return &l, nil
}

func cloneRateLimit(l *RateLimit) *RateLimit {
	if l == nil {
		return nil
	}
	c := *l
	return &c
}
