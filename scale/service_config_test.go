package scale

import (
	"errors"
	"testing"
)

func TestValidateServiceConfig(t *testing.T) {
	ok := ServiceConfig{ServiceID: "1s12", Action: ActionUp, Amount: 1, Min: 1, Max: 5}
	tests := []struct {
		name string
		mod  func(c *ServiceConfig)
		want string
	}{
		{name: "valid", mod: func(*ServiceConfig) {}},
		{name: "valid down with cooldown", mod: func(c *ServiceConfig) { c.Action, c.CooldownSeconds = ActionDown, 60 }},
		{name: "no action", mod: func(c *ServiceConfig) { c.Action = "" }, want: "Scale action not provided"},
		{name: "bad action", mod: func(c *ServiceConfig) { c.Action = "sideways" }, want: "Invalid action sideways"},
		{name: "zero amount", mod: func(c *ServiceConfig) { c.Amount = 0 }, want: "Invalid amount: 0"},
		{name: "negative amount", mod: func(c *ServiceConfig) { c.Amount = -2 }, want: "Invalid amount: -2"},
		{name: "no service", mod: func(c *ServiceConfig) { c.ServiceID = "" }, want: "ServiceId not provided"},
		{name: "zero min", mod: func(c *ServiceConfig) { c.Min = 0 }, want: "Minimum scale not provided/invalid"},
		{name: "zero max", mod: func(c *ServiceConfig) { c.Max = 0 }, want: "Maximum scale not provided/invalid"},
		{name: "min equals max", mod: func(c *ServiceConfig) { c.Min = 5 }, want: "Max must be greater than min"},
		{name: "min above max", mod: func(c *ServiceConfig) { c.Min = 6 }, want: "Max must be greater than min"},
		{name: "action checked before amount", mod: func(c *ServiceConfig) { c.Action, c.Amount = "x", 0 },
			want: "Invalid action x"},
		{name: "negative cooldown", mod: func(c *ServiceConfig) { c.CooldownSeconds = -1 },
			want: "Invalid cooldownSeconds: -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			checkErr(t, ValidateServiceConfig(c), tt.want)
		})
	}
}

func TestServiceConfigRequest(t *testing.T) {
	c := ServiceConfig{ServiceID: "1s1", Action: ActionDown, Amount: 2, Min: 1, Max: 9, CooldownSeconds: 30}
	want := ServiceRequest{Action: ActionDown, Amount: 2, Min: 1, Max: 9, Receiver: "1go4", CooldownSeconds: 30}
	if got := c.Request("1go4"); got != want {
		t.Fatalf("Request = %+v, want %+v", got, want)
	}
}

func TestServiceTargetChecks(t *testing.T) {
	good := ServiceTarget{ID: "1s12", Found: true, Kind: KindService, ImageUUID: "docker:nginx:1.13"}
	tests := []struct {
		name          string
		mod           func(t *ServiceTarget)
		create, check string
	}{
		{name: "service", mod: func(*ServiceTarget) {}},
		{name: "load balancer", mod: func(t *ServiceTarget) { t.Kind = KindLoadBalancerService }},
		{name: "missing", mod: func(t *ServiceTarget) { t.Found = false },
			create: "Invalid service 1s12", check: "Service 1s12 has been deleted"},
		{name: "removed", mod: func(t *ServiceTarget) { t.Removed = true },
			create: "Invalid service 1s12", check: "Service 1s12 has been deleted"},
		{name: "dns service", mod: func(t *ServiceTarget) { t.Kind = "dnsService" },
			create: "Can only create webhooks for Services. The supplied service is of type dnsService",
			check:  "Can only create webhooks for Services. The supplied service is of type dnsService"},
		{name: "global", mod: func(t *ServiceTarget) { t.Global = true },
			create: "Cannot create webhook for global service 1s12", check: "Cannot create webhook for global service 1s12"},
		{name: "no image", mod: func(t *ServiceTarget) { t.ImageUUID = NoImage },
			create: "Cannot create webhook for service with no image 1s12",
			check:  "Cannot create webhook for service with no image 1s12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := good
			tt.mod(&target)
			checkErr(t, ValidateServiceTarget(target), tt.create)
			checkErr(t, CheckServiceTarget(target), tt.check)
		})
	}
}

// checkErr asserts err is nil when want is "", else an *Error with exactly that message.
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
	if e.Message != want || err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
}
