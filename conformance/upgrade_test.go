package conformance

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
)

// §3.4, §3.5, §7.6, §7.7: the in-service upgrade. The upgrade action replaces the launch config wholesale at
// once (fresh version, previous config recorded), answers 202 in upgrading, replaces the units batch by
// batch, keeps the old containers stopped until finishupgrade removes them, and waits in upgraded for
// finishupgrade (→ active) or rollback (→ active with the old configs and containers back).

// upgradeImage starts an in-service upgrade of svc's primary config to image, sending back the full current
// config with only the image changed, as a real client must (§3.4).
func upgradeImage(t *testing.T, c *cattle.Client, svc *cattle.Service, image string, strategy cattle.InServiceStrategy,
) *cattle.Service {
	t.Helper()
	lc := svc.LaunchConfig.Clone()
	lc.SetImageUUID(image)
	strategy.LaunchConfig = lc
	answer, err := c.ServiceAction(t.Context(), svc, cattle.ActionUpgrade, &cattle.ServiceUpgrade{InServiceStrategy: &strategy})
	if err != nil {
		t.Fatalf("upgrade %s to %s: %v", svc.Name, image, err)
	}
	return answer
}

// actionNames returns the sorted keys of an actions map.
func actionNames(r cattle.Resource) []string {
	var out []string
	for a := range r.Actions {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// checkActions fails unless every action of want is offered and none of refuse is.
func checkActions(t *testing.T, r cattle.Resource, want, refuse []string) {
	t.Helper()
	for _, a := range want {
		if !r.HasAction(a) {
			t.Errorf("%s %s in %s offers %v, want %s among them (§3.2)", r.Type, r.ID, r.State, actionNames(r), a)
		}
	}
	for _, a := range refuse {
		if r.HasAction(a) {
			t.Errorf("%s %s in %s offers %s; the state table does not allow it there (§3.2)", r.Type, r.ID, r.State, a)
		}
	}
}

func TestUpgradeThenFinishUpgrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	webID := e.id("1a5/service/web")
	web := getService(t, c, webID)
	oldPorts, _ := web.LaunchConfig.Raw("ports")

	answer := upgradeImage(t, c, web, "docker:nginx:1.14", cattle.InServiceStrategy{BatchSize: 1, IntervalMillis: 100})
	if answer.State != "upgrading" || answer.Transitioning != cattle.TransitioningYes {
		t.Errorf("upgrade answer %s/%s, want upgrading/yes (§2.5: already transitioning)", answer.State, answer.Transitioning)
	}
	newVersion := answer.LaunchConfig.Version()
	if got := answer.LaunchConfig.ImageUUID(); got != "docker:nginx:1.14" {
		t.Errorf("launchConfig image right after upgrade %q, want the new one at once (§3.4)", got)
	}
	if newVersion == "" || newVersion == "0" {
		t.Errorf("launchConfig version after upgrade %q, want a fresh one", newVersion)
	}
	if ports, _ := answer.LaunchConfig.Raw("ports"); string(ports) != string(oldPorts) {
		t.Errorf("launchConfig ports %s after upgrade, want the sent %s kept", ports, oldPorts)
	}
	if up := answer.Upgrade; up == nil || up.InServiceStrategy == nil || up.InServiceStrategy.PreviousLaunchConfig == nil ||
		up.InServiceStrategy.PreviousLaunchConfig.ImageUUID() != "docker:nginx:1.13" {
		t.Errorf("upgrade record %+v, want inServiceStrategy.previousLaunchConfig with docker:nginx:1.13", up)
	}
	checkActions(t, answer.Resource, []string{cattle.ActionCancelUpgrade, cattle.ActionRollback},
		[]string{cattle.ActionUpgrade, cattle.ActionFinishUpgrade})

	upgraded := waitServiceSettled(t, c, webID, "upgraded")
	checkActions(t, upgraded.Resource, []string{cattle.ActionFinishUpgrade, cattle.ActionRollback},
		[]string{cattle.ActionUpgrade, cattle.ActionCancelUpgrade})
	// Old containers are stopped, not removed, and stay in instanceIds until finishupgrade (§3.5).
	var oldIDs []string
	for _, in := range serviceContainers(t, c, webID) {
		switch in.Version {
		case "0":
			oldIDs = append(oldIDs, in.ID)
			if in.State != "stopped" || in.ImageUUID != "docker:nginx:1.13" {
				t.Errorf("old container %s: %s image %s, want stopped with docker:nginx:1.13", in.ID, in.State, in.ImageUUID)
			}
		case newVersion:
			if in.State != "running" || in.ImageUUID != "docker:nginx:1.14" {
				t.Errorf("new container %s: %s image %s, want running docker:nginx:1.14", in.ID, in.State, in.ImageUUID)
			}
		default:
			t.Errorf("container %s has version %q, neither old (0) nor new (%s)", in.ID, in.Version, newVersion)
		}
	}
	if len(oldIDs) != 2 || len(upgraded.InstanceIDs) != 4 {
		t.Errorf("upgraded web: %d old containers, instanceIds %v; want 2 old kept and 4 ids", len(oldIDs),
			upgraded.InstanceIDs)
	}

	finishing, err := c.ServiceAction(t.Context(), upgraded, cattle.ActionFinishUpgrade, nil)
	if err != nil {
		t.Fatalf("finishupgrade: %v", err)
	}
	if finishing.State != "finishing-upgrade" {
		t.Errorf("finishupgrade answer state %s, want finishing-upgrade", finishing.State)
	}
	done := waitServiceSettled(t, c, webID, "active")
	checkActions(t, done.Resource, []string{cattle.ActionUpgrade}, []string{cattle.ActionFinishUpgrade})
	if len(done.InstanceIDs) != 2 || done.LaunchConfig.ImageUUID() != "docker:nginx:1.14" {
		t.Errorf("finished web: instanceIds %v image %s, want 2 ids on docker:nginx:1.14", done.InstanceIDs,
			done.LaunchConfig.ImageUUID())
	}
	for _, in := range serviceContainers(t, c, webID) {
		if in.Version != newVersion || in.State != "running" {
			t.Errorf("after finishupgrade container %s is %s version %q, want running version %s", in.ID, in.State,
				in.Version, newVersion)
		}
	}
	for _, id := range oldIDs {
		var in cattle.Instance
		if err := c.ByID(t.Context(), "instance", id, &in); err != nil {
			t.Errorf("old container %s by id: %v (removed ones are still served)", id, err)
		} else if !in.IsRemoved() {
			t.Errorf("old container %s after finishupgrade: state %s, want removed", id, in.State)
		}
	}
}

func TestUpgradeThenRollback(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	workerID := e.id("1a5/service/worker")
	worker := getService(t, c, workerID)
	if len(worker.SecondaryLaunchConfigs) != 1 {
		t.Fatalf("worker has %d sidekicks, want 1", len(worker.SecondaryLaunchConfigs))
	}
	oldImage := worker.LaunchConfig.ImageUUID()
	sidekick := worker.SecondaryLaunchConfigs[0].Clone()
	oldSidekickImage := sidekick.ImageUUID()
	sidekick.SetImageUUID("docker:busybox:1.37")

	answer := upgradeImage(t, c, worker, "docker:busybox:1.37", cattle.InServiceStrategy{BatchSize: 1,
		IntervalMillis: 100, SecondaryLaunchConfigs: []cattle.LaunchConfig{*sidekick}})
	if answer.State != "upgrading" {
		t.Errorf("upgrade answer state %s, want upgrading", answer.State)
	}
	upgraded := waitServiceSettled(t, c, workerID, "upgraded")
	if len(upgraded.SecondaryLaunchConfigs) != 1 || upgraded.SecondaryLaunchConfigs[0].ImageUUID() != "docker:busybox:1.37" {
		t.Errorf("sidekick config after upgrade %v, want docker:busybox:1.37", upgraded.SecondaryLaunchConfigs)
	}
	var newIDs []string
	for _, in := range serviceContainers(t, c, workerID) {
		if in.Version != "0" {
			newIDs = append(newIDs, in.ID)
		}
	}
	if len(newIDs) != 2 {
		t.Errorf("upgraded worker has %d new containers, want 2 (primary + sidekick)", len(newIDs))
	}

	rolling, err := c.ServiceAction(t.Context(), upgraded, cattle.ActionRollback, nil)
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if rolling.State != "rolling-back" {
		t.Errorf("rollback answer state %s, want rolling-back", rolling.State)
	}
	back := waitServiceSettled(t, c, workerID, "active")
	if back.LaunchConfig.ImageUUID() != oldImage || back.LaunchConfig.Version() != "0" {
		t.Errorf("after rollback launchConfig %s version %s, want %s version 0 restored", back.LaunchConfig.ImageUUID(),
			back.LaunchConfig.Version(), oldImage)
	}
	if len(back.SecondaryLaunchConfigs) != 1 || back.SecondaryLaunchConfigs[0].ImageUUID() != oldSidekickImage {
		t.Errorf("after rollback sidekick config %v, want %s restored", back.SecondaryLaunchConfigs, oldSidekickImage)
	}
	waitFor(t, settleTimeout, "the old containers running again", func() (bool, string) {
		insts := serviceContainers(t, c, workerID)
		var desc []string
		ok := len(insts) == 2
		for _, in := range insts {
			desc = append(desc, fmt.Sprintf("%s:%s:%s:%s", in.ID, in.State, in.Version, in.ImageUUID))
			ok = ok && in.State == "running" && in.Version == "0" && (in.ImageUUID == oldImage || in.ImageUUID == oldSidekickImage)
		}
		return ok, fmt.Sprint(desc)
	})
	for _, id := range newIDs {
		var in cattle.Instance
		if err := c.ByID(t.Context(), "instance", id, &in); err != nil || !in.IsRemoved() {
			t.Errorf("new container %s after rollback: state %s (%v), want removed", id, in.State, err)
		}
	}
}

// upgradeSnapshot counts web's containers by version and whether they run.
type upgradeSnapshot struct{ oldRunning, newRunning int }

func TestUpgradeBatchSizeAndStartFirst(t *testing.T) {
	t.Parallel()
	// Slow container starts and health checks widen the windows the strategies differ in.
	slow := withTimings(cattlesim.Timings{Step: fastStep, ContainerStart: 250 * time.Millisecond,
		HealthCheck: 250 * time.Millisecond})
	for _, tc := range []struct {
		name     string
		strategy cattle.InServiceStrategy
		// Signatures over the polled snapshots of a scale-2 service (must see / must never see):
		mixed   bool // one unit new and running while the other old one still runs (batches of 1)
		allDown bool // both old stopped and no new one running yet (stop-first batches of 2)
		overlap bool // more running containers than the scale (start-first)
	}{
		{"batchSize 1 stop first", cattle.InServiceStrategy{BatchSize: 1, IntervalMillis: 100}, true, false, false},
		{"batchSize 2 stop first", cattle.InServiceStrategy{BatchSize: 2, IntervalMillis: 100}, false, true, false},
		{"batchSize 1 start first", cattle.InServiceStrategy{BatchSize: 1, IntervalMillis: 100, StartFirst: true},
			true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, slow)
			c := e.client(e.env5)
			webID := e.id("1a5/service/web")
			answer := upgradeImage(t, c, getService(t, c, webID), "docker:nginx:1.14", tc.strategy)
			newVersion := answer.LaunchConfig.Version()
			var mixed, allDown, overlap bool
			var trace []upgradeSnapshot
			waitFor(t, settleTimeout, "web upgraded", func() (bool, string) {
				var snap upgradeSnapshot
				for _, in := range serviceContainers(t, c, webID) {
					if in.State != "running" {
						continue
					}
					if in.Version == newVersion {
						snap.newRunning++
					} else {
						snap.oldRunning++
					}
				}
				if len(trace) == 0 || trace[len(trace)-1] != snap {
					trace = append(trace, snap)
				}
				mixed = mixed || (snap.oldRunning == 1 && snap.newRunning == 1)
				allDown = allDown || (snap.oldRunning == 0 && snap.newRunning == 0)
				overlap = overlap || snap.oldRunning+snap.newRunning > 2
				svc, err := c.GetService(t.Context(), webID)
				if err != nil {
					return false, err.Error()
				}
				return svc.State == "upgraded" && svc.Transitioning == cattle.TransitioningNo, svc.State
			})
			if mixed != tc.mixed || allDown != tc.allDown || overlap != tc.overlap {
				t.Errorf("%+v: saw mixed=%v allDown=%v overlap=%v, want %v/%v/%v; running (old,new) over time: %v",
					tc.strategy, mixed, allDown, overlap, tc.mixed, tc.allDown, tc.overlap, trace)
			}
		})
	}
}
