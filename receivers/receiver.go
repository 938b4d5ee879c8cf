package receivers

import (
	"slices"
	"time"

	"github.com/rancher/scale-subscriber/notify"
	"github.com/rancher/scale-subscriber/upgrade"
)

// Driver names, as webhook-service registered them. The JSON member holding a driver's config is the name
// with "Config" appended (scaleService → scaleServiceConfig).
const (
	DriverScaleService   = "scaleService"
	DriverScaleHost      = "scaleHost"
	DriverServiceUpgrade = "serviceUpgrade"
	DriverForwardPost    = "forwardPost"
)

// Drivers lists the supported drivers in a stable order.
func Drivers() []string {
	return []string{DriverForwardPost, DriverScaleHost, DriverScaleService, DriverServiceUpgrade}
}

func knownDriver(name string) bool { return slices.Contains(Drivers(), name) }

// Values of the onResolved option of the scale drivers: what an Alertmanager "resolved" notification does.
const (
	OnResolvedIgnore = "ignore" // the default: a resolved alert changes nothing
	OnResolvedAct    = "act"    // a resolved alert is acted on like a firing one
)

// Values of scaleHostConfig.deleteOption.
const (
	DeleteMostRecent  = "mostRecent"
	DeleteLeastRecent = "leastRecent"
)

// Values of serviceUpgradeConfig.payloadFormat and addressType.
const (
	PayloadDockerHub = "dockerhub"
	PayloadAliCloud  = "alicloud"
	PayloadAzure     = "azure"

	AddressRegistry         = "registry"
	AddressRegistryInternal = "registry-internal"
	AddressRegistryVPC      = "registry-vpc"
)

// Receiver is one receiver hook as stored in Cattle: what an Executor needs to run a trigger. It holds no key.
// Exactly the config of Driver is meaningful; the others are zero.
type Receiver struct {
	// ID is the API id of the backing genericObject (e.g. "1go4").
	ID string
	// ProjectID is the environment the receiver belongs to.
	ProjectID string
	Name      string
	Driver    string
	// State is the genericObject's state ("active", "requested", ...).
	State string
	// URL is the trigger URL as stored when the receiver was created. It contains the key: never log it.
	URL string

	ScaleService   ScaleServiceConfig
	ScaleHost      ScaleHostConfig
	ServiceUpgrade ServiceUpgradeConfig
	ForwardPost    ForwardPostConfig

	// Notify says who hears how the receiver's executions ended (any driver); nil when nobody does. It holds
	// the webhook's secret and header values: never log or render it as it is (see notifyView).
	Notify *notify.ReceiverConfig
	// RateLimit is the receiver's own trigger rate limit (any driver); nil means the service-wide one.
	RateLimit *RateLimit
}

// ScaleServiceConfig is scaleServiceConfig: webhook-service's fields plus cooldownSeconds and onResolved.
// Integers are int64 as in the original, so a fractional amount is refused at decoding ("Bad request body").
type ScaleServiceConfig struct {
	ServiceID string `json:"serviceId,omitempty"`
	Amount    int64  `json:"amount,omitempty"`
	Action    string `json:"action,omitempty"`
	Min       int64  `json:"min,omitempty"`
	Max       int64  `json:"max,omitempty"`
	// CooldownSeconds, when positive, holds the receiver back for that long after it last scaled (ours).
	CooldownSeconds int64 `json:"cooldownSeconds,omitempty"`
	// OnResolved says what an Alertmanager "resolved" notification does: OnResolvedIgnore (default, "") or
	// OnResolvedAct (ours).
	OnResolved string `json:"onResolved,omitempty"`
	Type       string `json:"type,omitempty"`
}

// ScaleHostConfig is scaleHostConfig: the v1.6 fields, master's hostTemplateId, and onResolved.
type ScaleHostConfig struct {
	HostSelector map[string]string `json:"hostSelector,omitempty"`
	Amount       int64             `json:"amount,omitempty"`
	Action       string            `json:"action,omitempty"`
	Min          int64             `json:"min,omitempty"`
	Max          int64             `json:"max,omitempty"`
	DeleteOption string            `json:"deleteOption,omitempty"`
	// HostTemplateID names a hostTemplate new hosts are created from (webhook-service master).
	HostTemplateID string `json:"hostTemplateId,omitempty"`
	OnResolved     string `json:"onResolved,omitempty"`
	Type           string `json:"type,omitempty"`
}

// ServiceUpgradeConfig is serviceUpgradeConfig. IntervalMillis keeps the original's meaning for old receivers:
// values below 100 are seconds (the original multiplied by 1000); the execution layer converts. Every member
// after StartFirst is ours and omitted when unset, so a receiver of the original is stored and rendered
// exactly as before.
type ServiceUpgradeConfig struct {
	ServiceSelector map[string]string `json:"serviceSelector,omitempty"`
	Tag             string            `json:"tag,omitempty"`
	PayloadFormat   string            `json:"payloadFormat,omitempty"`
	AddressType     string            `json:"addressType,omitempty"`
	BatchSize       int64             `json:"batchSize,omitempty"`
	IntervalMillis  int64             `json:"intervalMillis,omitempty"`
	StartFirst      bool              `json:"startFirst,omitempty"`
	// TagPolicy and TagPattern choose the pushed tags accepted (upgrade.Config.Policy): "exact" (default, Tag),
	// "glob" and "regex" (TagPattern), "semver-major", "semver-minor", "semver-patch".
	TagPolicy  string `json:"tagPolicy,omitempty"`
	TagPattern string `json:"tagPattern,omitempty"`
	// RegistryAliases map the registry host a payload reports to the host services pull from.
	RegistryAliases map[string]string `json:"registryAliases,omitempty"`
	// Secret, when set, is the key of the X-Hub-Signature-256 HMAC every delivery must carry (GitHub's
	// webhook secret). Write-only: stored, never rendered (SecretSet says whether there is one), never logged.
	Secret string `json:"secret,omitempty"`
	// SecretSet is rendered true when the receiver has a secret; it is ignored on input and never stored.
	SecretSet bool `json:"secretSet,omitempty"`
	// FinishTimeoutSeconds bounds an upgrade from its start to finishupgrade (DefaultFinishTimeoutSeconds when
	// 0); past it the upgrade is rolled back (or left, see RollbackOnFailure).
	FinishTimeoutSeconds int64 `json:"finishTimeoutSeconds,omitempty"`
	// UnhealthyGraceSeconds is how long new containers may stay unhealthy before the upgrade is rolled back
	// (DefaultUnhealthyGraceSeconds when 0).
	UnhealthyGraceSeconds int64 `json:"unhealthyGraceSeconds,omitempty"`
	// RollbackOnFailure says whether a failed upgrade (unhealthy past the grace, an error, the deadline) is
	// rolled back: true when unset; false leaves the service as it is, for a human, and reports it.
	RollbackOnFailure *bool  `json:"rollbackOnFailure,omitempty"`
	Type              string `json:"type,omitempty"`
}

// Defaults of the upgrade safety members of serviceUpgradeConfig.
const (
	// DefaultFinishTimeoutSeconds: Cattle's default batch interval is 2 s, so ten minutes covers a service of
	// a few dozen containers with slow health checks.
	DefaultFinishTimeoutSeconds = 600
	// DefaultUnhealthyGraceSeconds: long enough for a health check's retries (Rancher's default check is every
	// 2 s with 3 failures to turn unhealthy) to let a flapping container recover.
	DefaultUnhealthyGraceSeconds = 60
	// MaxUpgradeSeconds bounds both (a week): larger values are refused, and read as the bound when stored by
	// another program, so a duration never overflows.
	MaxUpgradeSeconds = 7 * 24 * 3600
)

// FinishTimeout is the upgrade's deadline, from its start to finishupgrade.
func (c ServiceUpgradeConfig) FinishTimeout() time.Duration {
	return seconds(c.FinishTimeoutSeconds, DefaultFinishTimeoutSeconds)
}

// UnhealthyGrace is how long new containers may be unhealthy before the upgrade counts as failed.
func (c ServiceUpgradeConfig) UnhealthyGrace() time.Duration {
	return seconds(c.UnhealthyGraceSeconds, DefaultUnhealthyGraceSeconds)
}

// seconds converts a stored number of seconds, def when not positive, at most MaxUpgradeSeconds.
func seconds(v, def int64) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(min(v, MaxUpgradeSeconds)) * time.Second
}

// RollsBack reports whether a failed upgrade is rolled back (the default) rather than left for a human.
func (c ServiceUpgradeConfig) RollsBack() bool {
	return c.RollbackOnFailure == nil || *c.RollbackOnFailure
}

// UpgradeConfig is the upgrade package's view of the config (policy, parsing, strategy, validation).
func (c ServiceUpgradeConfig) UpgradeConfig() upgrade.Config {
	return upgrade.Config{ServiceSelector: c.ServiceSelector, Tag: c.Tag, TagPolicy: c.TagPolicy,
		TagPattern: c.TagPattern, PayloadFormat: c.PayloadFormat, AddressType: c.AddressType,
		BatchSize: c.BatchSize, IntervalMillis: c.IntervalMillis, StartFirst: c.StartFirst,
		RegistryAliases: c.RegistryAliases}
}

// redacted is the config as the API shows it: without the secret, saying whether there is one.
func (c ServiceUpgradeConfig) redacted() ServiceUpgradeConfig {
	c.SecretSet = c.Secret != ""
	c.Secret = ""
	return c
}

// ForwardPostConfig is forwardPostConfig: the trigger is relayed to <cattle>/r/projects/<projectId>/<serviceName>:<port><path>.
type ForwardPostConfig struct {
	ProjectID   string `json:"projectId,omitempty"`
	ServiceName string `json:"serviceName,omitempty"`
	Port        string `json:"port,omitempty"`
	Path        string `json:"path,omitempty"`
	Type        string `json:"type,omitempty"`
}

// config returns the config of the receiver's driver, for storage (nil for an unknown driver).
func (r *Receiver) config() any {
	switch r.Driver {
	case DriverScaleService:
		return r.ScaleService
	case DriverScaleHost:
		return r.ScaleHost
	case DriverServiceUpgrade:
		return r.ServiceUpgrade
	case DriverForwardPost:
		return r.ForwardPost
	}
	return nil
}

// setType stamps the driver name into its config's type member, as the original did when rendering.
func (r *Receiver) setType() {
	switch r.Driver {
	case DriverScaleService:
		r.ScaleService.Type = r.Driver
	case DriverScaleHost:
		r.ScaleHost.Type = r.Driver
	case DriverServiceUpgrade:
		r.ServiceUpgrade.Type = r.Driver
	case DriverForwardPost:
		r.ForwardPost.Type = r.Driver
	}
}
