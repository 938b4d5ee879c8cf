package execution

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/receivers"
)

// Restart pickup. Our upgrades are marked in Cattle itself: every launch config we upgrade gets the label
// MarkerLabel = "<receiverId>/<executionId>/<start in unix ms>", sent with the pull-always label in the
// upgrade input. Cattle keeps it in the service's launch config, and the previous config in the upgrade's
// record. After a restart nothing else is left of a run, so when a service key is reconciled with no run and
// the cached service is upgrading or upgraded with a marker its previous config did not have, the run is
// adopted: health-gated to finishupgrade or rolled back, under the receiver's deadline counted from the start
// the marker records. The startup relist reports every cached object as changed, which queues every
// service:<id> key (cache.Informer OnChange → handlers.KeysFor), so adoption needs no new event.
//
// The previous-config check is what tells our upgrade from a later one a human started by hand: Rancher's UI
// copies the current labels, our marker included, into the new config, so such an upgrade shows the same
// marker before and after and is not ours.

// MarkerLabel is the launch config label marking an upgrade started by scale-subscriber.
const MarkerLabel = "io.rancher.scale-subscriber.execution"

// newMarker is the MarkerLabel value of an upgrade started at started by execution executionID of a receiver.
func newMarker(receiverID, executionID string, started time.Time) string {
	return receiverID + "/" + executionID + "/" + strconv.FormatInt(started.UnixMilli(), 10)
}

// parseMarker reads a MarkerLabel value; ok is false when it is not one of ours.
func parseMarker(v string) (receiverID, executionID string, started time.Time, ok bool) {
	parts := strings.Split(v, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return "", "", time.Time{}, false
	}
	ms, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || ms <= 0 {
		return "", "", time.Time{}, false
	}
	return parts[0], parts[1], time.UnixMilli(ms), true
}

// ourMarker returns the marker of an upgrade of svc that scale-subscriber started: a launch config carries a
// MarkerLabel value its previous config (in the upgrade's record) did not have. "" when there is none.
func ourMarker(svc *cattle.Service) string {
	for _, lc := range launchConfigs(svc) {
		v := lc.Labels()[MarkerLabel]
		if v == "" {
			continue
		}
		if prev := previousConfig(svc, lc.Name()); prev != nil && prev.Labels()[MarkerLabel] == v {
			continue
		}
		if _, _, _, ok := parseMarker(v); ok {
			return v
		}
	}
	return ""
}

// adopt returns a run for an upgrade of ours the service shows in flight with no run following it (after a
// restart), or nil.
func (x *Executor) adopt(key string, svc *cattle.Service) *upgradeRun {
	if svc.State != "upgrading" && svc.State != "upgraded" {
		// A run left to a human ends when the service leaves the upgrade; forget it.
		x.upgrades.forgetReleased(svc.ID)
		return nil
	}
	marker := ourMarker(svc)
	if marker == "" || x.upgrades.isReleased(svc.ID, marker) {
		return nil
	}
	receiverID, executionID, started, _ := parseMarker(marker)
	cfg := receivers.ServiceUpgradeConfig{}
	name, note := "", ""
	if obj, ok := x.cache.Receiver(receiverID); ok {
		if rcv, err := receivers.DecodeStored(obj, ""); err == nil && rcv.Driver == receivers.DriverServiceUpgrade {
			cfg, name = rcv.ServiceUpgrade, rcv.Name
		}
	}
	if name == "" {
		note = fmt.Sprintf("; receiver %s not found, default deadline and grace apply", receiverID)
	}
	e := x.history.Start(receiverID, name, receivers.DriverServiceUpgrade, started)
	in := newIntent(key, e)
	e.Running()
	image := ""
	if svc.LaunchConfig != nil {
		image = imageOf(svc.LaunchConfig.ImageUUID())
	}
	old := ""
	if prev := previousConfig(svc, ""); prev != nil {
		old = imageOf(prev.ImageUUID())
	}
	e.SetImage(ImageChange{Old: old, New: image})
	e.SetInput(fmt.Sprintf("upgrade to %s in flight after a restart (started by execution %s at %s)",
		image, executionID, started.UTC().Format(time.RFC3339)))
	e.SetDecision("adopted: follow the upgrade to finishupgrade or rollback" + note)
	e.Step(fmt.Sprintf("adopted the upgrade started by execution %s (service %s)%s", executionID, svc.State, note))
	x.log.WithFields(logFields(key, receivers.DriverServiceUpgrade)).WithField("execution", e.ID()).
		WithField("state", svc.State).Info("adopted an upgrade in flight")
	s := safetyOf(cfg)
	return &upgradeRun{in: in, phase: phaseUpgrading, marker: marker, started: started,
		deadline: started.Add(s.finishTimeout), safety: s, left: true}
}

// safetyOf reads the safety members of a receiver's config, with their defaults.
func safetyOf(c receivers.ServiceUpgradeConfig) safety {
	return safety{finishTimeout: c.FinishTimeout(), grace: c.UnhealthyGrace(), rollback: c.RollsBack()}
}
