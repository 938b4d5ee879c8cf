package receivers

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/upgrade"
)

// Create-time validation of driver configs, with webhook-service's messages (cattle-protocol.md §6.5) where it
// had a check, and ours where it had none. All of it lives in this file so it can move to the drivers'
// packages later.

// Labels the scaleService checks read.
const (
	labelGlobal = "io.rancher.scheduler.global"
	imageNone   = "docker:rancher/none"
)

// validate checks r's config for its driver, then its notify config; every refusal is a 400, with the
// message the original gave where it had the check. scaleService looks the service up (cache first, then
// Cattle); scaleHost looks a hostTemplateId up.
func (a *API) validate(ctx context.Context, r *Receiver) error {
	if err := a.validateDriver(ctx, r); err != nil {
		return err
	}
	return a.checkNotify(r)
}

func (a *API) validateDriver(ctx context.Context, r *Receiver) error {
	switch r.Driver {
	case DriverScaleService:
		return a.validateScaleService(ctx, &r.ScaleService)
	case DriverScaleHost:
		return a.validateScaleHost(ctx, &r.ScaleHost)
	case DriverServiceUpgrade:
		return validateServiceUpgrade(&r.ServiceUpgrade)
	case DriverForwardPost:
		return a.validateForwardPost(&r.ForwardPost)
	}
	return fail(http.StatusBadRequest, "Invalid driver %v", r.Driver)
}

// validateScaleAction holds the first checks scaleService and scaleHost share, in the original's order.
func validateScaleAction(action string, amount int64) error {
	switch {
	case action == "":
		return fail(http.StatusBadRequest, "Scale action not provided")
	case action != "up" && action != "down":
		return fail(http.StatusBadRequest, "Invalid action %v", action)
	case amount <= 0:
		return fail(http.StatusBadRequest, "Invalid amount: %v", amount)
	}
	return nil
}

func validateMinMax(lo, hi int64) error {
	switch {
	case lo <= 0:
		return fail(http.StatusBadRequest, "Minimum scale not provided/invalid")
	case hi <= 0:
		return fail(http.StatusBadRequest, "Maximum scale not provided/invalid")
	case lo >= hi:
		return fail(http.StatusBadRequest, "Max must be greater than min")
	}
	return nil
}

func validateOnResolved(v string) error {
	switch v {
	case "", OnResolvedIgnore, OnResolvedAct:
		return nil
	}
	return fail(http.StatusBadRequest, "Invalid onResolved %v, must be %s or %s", v, OnResolvedIgnore, OnResolvedAct)
}

func (a *API) validateScaleService(ctx context.Context, c *ScaleServiceConfig) error {
	if err := validateScaleAction(c.Action, c.Amount); err != nil {
		return err
	}
	if c.ServiceID == "" {
		return fail(http.StatusBadRequest, "ServiceId not provided")
	}
	if err := validateMinMax(c.Min, c.Max); err != nil {
		return err
	}
	if c.CooldownSeconds < 0 {
		return fail(http.StatusBadRequest, "Invalid cooldownSeconds: %v", c.CooldownSeconds)
	}
	if err := validateOnResolved(c.OnResolved); err != nil {
		return err
	}
	svc, err := a.lookupService(ctx, c.ServiceID)
	if err != nil {
		return err
	}
	if svc == nil || svc.IsRemoved() {
		return fail(http.StatusBadRequest, "Invalid service %v", c.ServiceID)
	}
	if svc.Kind != "service" && svc.Kind != "loadBalancerService" {
		return fail(http.StatusBadRequest, "Can only create webhooks for Services. The supplied service is of type %v", svc.Kind)
	}
	lc := svc.LaunchConfig
	if lc != nil && strings.EqualFold(lc.Labels()[labelGlobal], "true") {
		return fail(http.StatusBadRequest, "Cannot create webhook for global service %s", c.ServiceID)
	}
	if lc == nil || lc.ImageUUID() == "" || lc.ImageUUID() == imageNone {
		return fail(http.StatusBadRequest, "Cannot create webhook for service with no image %s", c.ServiceID)
	}
	return nil
}

// lookupService finds a service of this project: in the cache, else through Cattle (a service created a moment
// ago may not be cached yet). nil means it does not exist; the project-scoped client never returns another
// project's service.
func (a *API) lookupService(ctx context.Context, id string) (*cattle.Service, error) {
	if svc, ok := a.store.Service(id); ok && (svc.AccountID == "" || svc.AccountID == a.projectID) {
		return svc, nil
	}
	if !validID(id) {
		return nil, nil
	}
	var svc cattle.Service
	err := a.cattle.ByID(ctx, "service", id, &svc)
	switch {
	case errors.Is(err, cattle.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, failCause(http.StatusInternalServerError, err, "Error in getService")
	}
	return &svc, nil
}

func (a *API) validateScaleHost(ctx context.Context, c *ScaleHostConfig) error {
	if err := validateScaleAction(c.Action, c.Amount); err != nil {
		return err
	}
	// An empty selector would match nothing (the original matched on one random pair of it); a hostTemplateId
	// alone names the group as in webhook-service master.
	if len(c.HostSelector) == 0 && c.HostTemplateID == "" {
		return fail(http.StatusBadRequest, "HostSelector not provided")
	}
	if err := validateMinMax(c.Min, c.Max); err != nil {
		return err
	}
	switch {
	case c.Action == "up" && c.DeleteOption != "":
		return fail(http.StatusBadRequest, "Delete option not to be provided while scaling up")
	case c.Action == "down" && c.DeleteOption != DeleteMostRecent && c.DeleteOption != DeleteLeastRecent:
		return fail(http.StatusBadRequest, "Invalid delete option %v", c.DeleteOption)
	}
	if err := validateOnResolved(c.OnResolved); err != nil {
		return err
	}
	if c.HostTemplateID == "" {
		return nil
	}
	if !validID(c.HostTemplateID) {
		return fail(http.StatusBadRequest, "hostTemplate does not exist")
	}
	var tmpl cattle.HostTemplate
	err := a.cattle.ByID(ctx, "hostTemplate", c.HostTemplateID, &tmpl)
	switch {
	case errors.Is(err, cattle.ErrNotFound):
		return fail(http.StatusBadRequest, "hostTemplate does not exist")
	case err != nil:
		return failCause(http.StatusBadRequest, err, "Cannot get hostTemplate resource")
	case tmpl.IsRemoved():
		return fail(http.StatusBadRequest, "hostTemplate does not exist")
	}
	return nil
}

// validateServiceUpgrade runs upgrade.ValidateConfig (the original's checks and messages, then tag policies,
// payload formats, address types and registry aliases), then the members the execution layer reads: the
// deadline and grace cannot be negative, and a secret only goes with a format whose sender can sign with it.
func validateServiceUpgrade(c *ServiceUpgradeConfig) error {
	if err := upgrade.ValidateConfig(c.UpgradeConfig()); err != nil {
		var uerr *upgrade.Error
		if errors.As(err, &uerr) {
			return fail(http.StatusBadRequest, "%s", uerr.Error())
		}
		return fail(http.StatusBadRequest, "%s", err.Error())
	}
	switch {
	case c.FinishTimeoutSeconds < 0 || c.FinishTimeoutSeconds > MaxUpgradeSeconds:
		return fail(http.StatusBadRequest, "Invalid finishTimeoutSeconds: %v, must be 0 (default) to %d",
			c.FinishTimeoutSeconds, MaxUpgradeSeconds)
	case c.UnhealthyGraceSeconds < 0 || c.UnhealthyGraceSeconds > MaxUpgradeSeconds:
		return fail(http.StatusBadRequest, "Invalid unhealthyGraceSeconds: %v, must be 0 (default) to %d",
			c.UnhealthyGraceSeconds, MaxUpgradeSeconds)
	}
	if c.Secret != "" && !slices.Contains(signedFormats, c.PayloadFormat) {
		return fail(http.StatusBadRequest, "A secret needs payloadFormat %s: it checks the X-Hub-Signature-256 "+
			"header GitHub (and senders that sign the same way) add, which %s payloads never carry",
			strings.Join(signedFormats, ", "), formatOrDefault(c.PayloadFormat))
	}
	if len(c.Secret) > maxSecretBytes {
		return fail(http.StatusBadRequest, "Secret too long: at most %d bytes", maxSecretBytes)
	}
	return nil
}

// signedFormats are the payload formats whose senders can sign deliveries GitHub's way: GitHub itself, a
// custom sender (a CI job can compute the HMAC), and auto, which may receive GitHub's.
var signedFormats = []string{upgrade.FormatGHCR, upgrade.FormatCustom, upgrade.FormatAuto}

// maxSecretBytes bounds a receiver's secret (GitHub's own limit is far lower).
const maxSecretBytes = 1024

func formatOrDefault(f string) string {
	if f == "" {
		return upgrade.FormatDockerHub
	}
	return f
}

// validateForwardPost adds the checks the original lacked: the relay stays inside this project's service proxy
// (the path cannot climb out of /r/projects/<p>/<service>:<port> and reach the API with the service's key).
func (a *API) validateForwardPost(c *ForwardPostConfig) error {
	switch c.ProjectID {
	case "":
		c.ProjectID = a.projectID
	case a.projectID:
	default:
		return fail(http.StatusBadRequest, "forwardPost projectId must be this environment (%s)", a.projectID)
	}
	if c.ServiceName == "" || strings.ContainsAny(c.ServiceName, "/?#%\\:") || c.ServiceName == "." || c.ServiceName == ".." {
		return fail(http.StatusBadRequest, "Invalid serviceName %q", c.ServiceName)
	}
	if p, err := strconv.Atoi(c.Port); err != nil || p < 1 || p > 65535 {
		return fail(http.StatusBadRequest, "Invalid port %q", c.Port)
	}
	if c.Path != "" {
		if !strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, "?#%\\") {
			return fail(http.StatusBadRequest, "Invalid path %q: it must start with / and hold no query, fragment or escapes", c.Path)
		}
		for _, seg := range strings.Split(c.Path, "/") {
			if seg == ".." || seg == "." {
				return fail(http.StatusBadRequest, "Invalid path %q: it must not contain . or .. segments", c.Path)
			}
		}
	}
	return nil
}

// validID reports whether id looks like a Cattle API id ("1go4": "1", lower-case letters, digits), so nothing
// else is ever put into a Cattle URL.
func validID(id string) bool {
	if len(id) < 3 || len(id) > 32 || id[0] != '1' {
		return false
	}
	i := 1
	for i < len(id) && id[i] >= 'a' && id[i] <= 'z' {
		i++
	}
	if i == 1 || i == len(id) {
		return false
	}
	for ; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}
