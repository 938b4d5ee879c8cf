package upgrade

import (
	"fmt"
	"maps"
	"strings"

	"github.com/rancher/scale-subscriber/imageref"
)

// Label set on every upgraded launch config so the same tag pushed again is pulled again (as the original).
const (
	PullImageLabel  = "io.rancher.container.pull_image"
	PullImageAlways = "always"
)

// LaunchConfig is one launch config of a workload: the primary (Name "") or a sidekick.
type LaunchConfig struct {
	Name string
	// ImageUUID is the image as the backend stores it ("docker:nginx:1.13" in Cattle, "nginx:1.13" in
	// Kubernetes; both are understood).
	ImageUUID string
	Labels    map[string]string
}

// Workload is a service (or, later, a Kubernetes workload) with its launch configs.
type Workload struct {
	ID            string
	Kind          string
	LaunchConfigs []LaunchConfig
}

// Change is the upgrade of one launch config.
type Change struct {
	// Name is the launch config's name ("" = primary).
	Name string
	// FromImageUUID is the current image.
	FromImageUUID string
	// Image is the new image as pushed; ImageUUID is the same in Cattle's form ("docker:" + Image).
	Image     string
	ImageUUID string
	// Labels are the launch config's labels with io.rancher.container.pull_image=always added: a new map, the
	// input is not modified.
	Labels map[string]string
}

// UpgradePlan says which launch configs of a workload a push upgrades.
type UpgradePlan struct {
	WorkloadID string
	// Primary is true when the primary launch config changes; Sidekicks names the sidekicks that change.
	Primary   bool
	Sidekicks []string
	// Changes has one entry per changed launch config, in the workload's order.
	Changes []Change
	// Skipped says why launch configs that match the selector and run the pushed repository are left alone
	// (a semver policy refusing the push relative to the tag they run), one entry each; nil when none is.
	Skipped []string
}

// Plan decides whether push upgrades w. A launch config is selected when its labels match every selector pair
// (see MatchLabels) and its current image is the pushed repository (after normalisation); and only if the
// pushed tag equals configuredTag. ok is false when nothing is selected, with a reason for the execution record
// (tag mismatch, no label match, or labelled configs running another repository). It is PlanPolicy with the
// exact policy.
func Plan(w Workload, selector map[string]string, push Push, configuredTag string) (UpgradePlan, bool, string) {
	return PlanPolicy(w, selector, push, ExactPolicy(configuredTag))
}

// PlanPolicy is Plan under a tag policy. The pushed tag is checked first (policy.Admits), then each launch
// config that matches the selector and runs the pushed repository is offered to policy.Accept with the tag it
// runs now, so a semver policy compares with each launch config's own current tag; the refused ones are listed
// in Skipped. ok is false when nothing is selected or every candidate is refused, with the reasons.
func PlanPolicy(w Workload, selector map[string]string, push Push, policy Policy) (UpgradePlan, bool, string) {
	if ok, why := policy.Admits(push.Tag); !ok {
		return UpgradePlan{}, false, why
	}
	if len(selector) == 0 {
		return UpgradePlan{}, false, "empty service selector selects nothing"
	}
	plan := UpgradePlan{WorkloadID: w.ID}
	var otherRepos []string
	for _, lc := range w.LaunchConfigs {
		if !MatchLabels(selector, lc.Labels) {
			continue
		}
		ref, err := imageref.Parse(lc.ImageUUID)
		if err != nil || !strings.EqualFold(ref.Repository, push.Repository) {
			otherRepos = append(otherRepos, lc.ImageUUID)
			continue
		}
		if ok, why := policy.Accept(push.Tag, ref.Tag); !ok {
			plan.Skipped = append(plan.Skipped, launchConfigName(lc.Name)+": "+why)
			continue
		}
		// Matched labels are never empty, so the clone is a map to write to.
		labels := maps.Clone(lc.Labels)
		labels[PullImageLabel] = PullImageAlways
		plan.Changes = append(plan.Changes, Change{
			Name:          lc.Name,
			FromImageUUID: lc.ImageUUID,
			Image:         push.Image,
			ImageUUID:     imageref.RancherPrefix + push.Image,
			Labels:        labels,
		})
		if lc.Name == "" {
			plan.Primary = true
		} else {
			plan.Sidekicks = append(plan.Sidekicks, lc.Name)
		}
	}
	if len(plan.Changes) == 0 {
		switch {
		case len(plan.Skipped) > 0:
			return UpgradePlan{}, false, strings.Join(plan.Skipped, "; ")
		case len(otherRepos) > 0:
			return UpgradePlan{}, false, fmt.Sprintf("labels match but image %s is not %s",
				strings.Join(otherRepos, ", "), push.Repository)
		}
		return UpgradePlan{}, false, "no launch config matches the selector"
	}
	return plan, true, ""
}

func launchConfigName(name string) string {
	if name == "" {
		return "primary"
	}
	return "sidekick " + name
}

// MatchLabels reports whether labels satisfy every selector pair: some label key equals the selector key
// case-insensitively and, unless the selector value is empty (any value), its value equals the selector value
// case-insensitively (webhook-service v1.6's isMatchedService; master counted one random pair only). An empty
// selector matches nothing.
func MatchLabels(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for sk, sv := range selector {
		found := false
		for k, v := range labels {
			if strings.EqualFold(k, sk) && (sv == "" || strings.EqualFold(v, sv)) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
