package scale

// Service kinds the scaleService driver accepts (Cattle's names; a Kubernetes backend maps its scalable workloads
// to KindService).
const (
	KindService             = "service"
	KindLoadBalancerService = "loadBalancerService"
)

// NoImage is the imageUuid of a Cattle service without an image (selector-only services), which cannot be scaled.
const NoImage = "docker:rancher/none"

// ServiceConfig is the stored configuration of a scaleService receiver (JSON scaleServiceConfig).
type ServiceConfig struct {
	ServiceID string
	Action    Action
	Amount    int
	Min       int
	Max       int
	// CooldownSeconds, when positive, holds the receiver back for that long after it last scaled (our
	// addition; see Cooldown).
	CooldownSeconds int
}

// ValidateServiceConfig checks c as webhook-service did when a receiver was created, in the same order and with
// the same messages, then checks our cooldownSeconds addition. The error is an *Error.
func ValidateServiceConfig(c ServiceConfig) error {
	switch {
	case c.Action == "":
		return errorf("Scale action not provided")
	case !c.Action.Valid():
		return errorf("Invalid action %v", c.Action)
	case c.Amount <= 0:
		return errorf("Invalid amount: %v", c.Amount)
	case c.ServiceID == "":
		return errorf("ServiceId not provided")
	case c.Min <= 0:
		return errorf("Minimum scale not provided/invalid")
	case c.Max <= 0:
		return errorf("Maximum scale not provided/invalid")
	case c.Min >= c.Max:
		return errorf("Max must be greater than min")
	case c.CooldownSeconds < 0:
		return errorf("Invalid cooldownSeconds: %v", c.CooldownSeconds)
	}
	return nil
}

// Request turns the configuration into one trigger's request; receiver keys its cooldown.
func (c ServiceConfig) Request(receiver string) ServiceRequest {
	return ServiceRequest{Action: c.Action, Amount: c.Amount, Min: c.Min, Max: c.Max,
		Receiver: receiver, CooldownSeconds: c.CooldownSeconds}
}

// ServiceTarget describes the service a scaleService receiver points at, as far as the checks need it. Found is
// false when the service does not exist (or is not visible to the project).
type ServiceTarget struct {
	ID      string
	Found   bool
	Removed bool
	Kind    string
	// Global is true for services that run one container per host (Cattle label
	// io.rancher.scheduler.global=true), where scale means nothing.
	Global bool
	// ImageUUID is the primary launch config's image (NoImage for selector-only services).
	ImageUUID string
}

// ValidateServiceTarget checks the target when a receiver is created, with the original's messages: it must
// exist, not be removed, be a service or load balancer, not be global and have an image.
func ValidateServiceTarget(t ServiceTarget) error {
	if !t.Found || t.Removed {
		return errorf("Invalid service %v", t.ID)
	}
	return checkScalable(t)
}

// CheckServiceTarget checks the target when a receiver is triggered. The original only checked existence there
// ("Service X has been deleted"); the kind, global and image checks are repeated because a service can change
// after the receiver was created (it could be upgraded to a global one).
func CheckServiceTarget(t ServiceTarget) error {
	if !t.Found || t.Removed {
		return errorf("Service %v has been deleted", t.ID)
	}
	return checkScalable(t)
}

func checkScalable(t ServiceTarget) error {
	if t.Kind != KindService && t.Kind != KindLoadBalancerService {
		return errorf("Can only create webhooks for Services. The supplied service is of type %v", t.Kind)
	}
	if t.Global {
		return errorf("Cannot create webhook for global service %s", t.ID)
	}
	if t.ImageUUID == NoImage {
		return errorf("Cannot create webhook for service with no image %s", t.ID)
	}
	return nil
}
