package e2e

// Upgrades that finish themselves safely, through real HTTP on cattlesim: the finish is gated on the health of
// the new containers, a broken image or a stuck upgrade is rolled back, pushes during an upgrade coalesce to
// the newest, an upgrade in flight survives a restart of the service, and tag policies decide through a
// trigger. cattlesim's /_sim/health-rules makes an image's new containers unhealthy, /_sim/stall holds a
// service's state machine (a slow upgrade).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// finalOutcomes are the outcomes an upgrade's record ends with.
var finalOutcomes = []string{"done", "rolled-back", "timed-out", "failed", "ignored"}

// upgradeRecord is an execution record with the members upgrades add.
type upgradeRecord struct {
	ID         string `json:"id"`
	ReceiverID string `json:"receiverId"`
	Target     string `json:"target"`
	Input      string `json:"input"`
	Decision   string `json:"decision"`
	Outcome    string `json:"outcome"`
	Error      string `json:"error"`
	Image      *struct {
		Old    string `json:"old"`
		New    string `json:"new"`
		Digest string `json:"digest"`
	} `json:"image"`
	Steps []struct {
		Time    time.Time `json:"time"`
		Message string    `json:"message"`
	} `json:"steps"`
}

// step returns the index of the first step containing s, -1 when there is none.
func (r upgradeRecord) step(s string) int {
	return slices.IndexFunc(r.Steps, func(st struct {
		Time    time.Time `json:"time"`
		Message string    `json:"message"`
	}) bool {
		return strings.Contains(st.Message, s)
	})
}

func (r upgradeRecord) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// upgradeRecord reads one execution with its steps.
func (e *env) upgradeRecord(id string) upgradeRecord {
	e.t.Helper()
	a := e.api(http.MethodGet, "/v1-webhooks/executions/"+id, nil)
	if a.status != http.StatusOK {
		e.t.Fatalf("GET execution %s: %s", id, a)
	}
	var r upgradeRecord
	if err := json.Unmarshal(a.body, &r); err != nil {
		e.t.Fatalf("decode execution %s: %v: %s", id, err, a.body)
	}
	return r
}

// finalUpgrade waits until receiver r's upgrade of service id has ended and returns its record.
func (e *env) finalUpgrade(r receiver, id string) upgradeRecord {
	e.t.Helper()
	return e.upgradeRecord(e.waitExecution(r, "service:"+id, finalOutcomes...).ID)
}

// healthRule makes the new containers of image reach healthState ("unhealthy", "initializing"...).
func (e *env) healthRule(image, healthState string) {
	e.t.Helper()
	e.sim(http.MethodPost, "/_sim/health-rules", map[string]any{"image": image, "healthState": healthState}, nil)
}

// stall holds (true) or releases a service's state machine.
func (e *env) stall(id string, stalled bool) {
	e.t.Helper()
	e.sim(http.MethodPost, "/_sim/stall", map[string]any{"type": "service", "id": id, "stalled": stalled}, nil)
}

// upgradeImages returns the launch config images of the upgrade calls on service id among calls.
func upgradeImages(t *testing.T, calls []call, id string) []string {
	t.Helper()
	var images []string
	for _, c := range matching(calls, func(c call) bool { return c.is(http.MethodPost, "services/"+id, "upgrade") }) {
		var in struct {
			InServiceStrategy struct {
				LaunchConfig struct {
					ImageUUID string            `json:"imageUuid"`
					Labels    map[string]string `json:"labels"`
				} `json:"launchConfig"`
			} `json:"inServiceStrategy"`
		}
		if err := json.Unmarshal([]byte(c.Body), &in); err != nil {
			t.Fatalf("decode upgrade body %s: %v", c.Body, err)
		}
		images = append(images, in.InServiceStrategy.LaunchConfig.ImageUUID)
	}
	return images
}

// safeReceiver creates a serviceUpgrade receiver for app=web; extra is appended to its config members.
func (e *env) safeReceiver(name, extra string) receiver {
	e.t.Helper()
	return e.createReceiver(`{"name":"` + name + `","driver":"serviceUpgrade","serviceUpgradeConfig":` +
		`{"serviceSelector":{"app":"web"},"batchSize":1,"intervalMillis":100` + extra + `}}`)
}

func pushOf(tag string) []byte {
	return []byte(`{"push_data":{"tag":"` + tag + `"},"repository":{"repo_name":"nginx"}}`)
}

// A healthy upgrade is finished once the service is upgraded and every new container is healthy, and the
// record shows each step in order; the service ends active on the new image with the marker label of the
// execution on its launch config.
func TestHealthyUpgradeFinishes(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	r := e.safeReceiver("web-healthy", `,"tag":"1.14"`)
	mark := e.callMark()

	if a := e.trigger(r.URL, "application/json", pushOf("1.14")); a.status != http.StatusAccepted {
		t.Fatalf("push: %s, want 202", a)
	}
	rec := e.finalUpgrade(r, web)
	if rec.Outcome != "done" {
		t.Fatalf("upgrade ended %s, want done", rec)
	}
	started, healthy, finish, finished := rec.step("upgrade started"), rec.step("new containers healthy 2/2"),
		rec.step("finishupgrade"), rec.step("finished")
	if started < 0 || healthy <= started || finish <= healthy || finished <= finish {
		t.Errorf("steps %s, want upgrade started < new containers healthy 2/2 < finishupgrade < finished", rec)
	}
	if rec.Image == nil || rec.Image.Old != "nginx:1.13" || rec.Image.New != "nginx:1.14" {
		t.Errorf("record image %+v, want nginx:1.13 → nginx:1.14", rec.Image)
	}
	calls, _ := e.callsSince(mark)
	if got, want := actionCalls(calls), []string{"upgrade " + web + " 202", "finishupgrade " + web + " 202"}; !slices.Equal(got, want) {
		t.Errorf("actions %v, want %v", got, want)
	}
	s := e.service(web)
	if !settled(s) || s.LaunchConfig.ImageUUID != "docker:nginx:1.14" ||
		!strings.HasPrefix(s.LaunchConfig.Labels["io.rancher.scale-subscriber.execution"], r.ID+"/"+rec.ID+"/") {
		t.Errorf("web ends %s on %s with labels %v, want active on docker:nginx:1.14 marked by %s/%s", s.State,
			s.LaunchConfig.ImageUUID, s.LaunchConfig.Labels, r.ID, rec.ID)
	}
}

// New containers that turn unhealthy and stay so past the grace get the upgrade rolled back: no finishupgrade,
// the service is active on the old image again, and the record says why.
func TestUnhealthyUpgradeRollsBack(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	e.healthRule("docker:nginx:1.14", "unhealthy")
	r := e.safeReceiver("web-broken", `,"tag":"1.14","unhealthyGraceSeconds":1`)
	mark := e.callMark()

	if a := e.trigger(r.URL, "application/json", pushOf("1.14")); a.status != http.StatusAccepted {
		t.Fatalf("push: %s, want 202", a)
	}
	rec := e.finalUpgrade(r, web)
	if rec.Outcome != "rolled-back" || !strings.Contains(rec.Error, "unhealthy for 1s") {
		t.Fatalf("upgrade ended %s, want rolled-back because new containers were unhealthy for 1s", rec)
	}
	unhealthy, rollback, rolledBack := rec.step("unhealthy; rolling back after 1s"), rec.step("rollback:"), rec.step("rolled back:")
	if unhealthy < 0 || rollback <= unhealthy || rolledBack <= rollback {
		t.Errorf("steps %s, want the unhealthy containers, the rollback and its end", rec)
	}
	calls, _ := e.callsSince(mark)
	if got, want := actionCalls(calls), []string{"upgrade " + web + " 202", "rollback " + web + " 202"}; !slices.Equal(got, want) {
		t.Errorf("actions %v, want %v", got, want)
	}
	if s := e.service(web); !settled(s) || s.LaunchConfig.ImageUUID != "docker:nginx:1.13" {
		t.Errorf("web ends %s on %s, want active on the old docker:nginx:1.13", s.State, s.LaunchConfig.ImageUUID)
	}
}

// An upgrade that does not finish by finishTimeoutSeconds (here held in "upgrading" with /_sim/stall) is rolled
// back; with rollbackOnFailure false it is left as it is and reported timed-out, with no rollback call.
func TestDeadlineRollsBackOrReports(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	slow := e.createService("slow", "docker:nginx:1.13", 1, map[string]string{"app": "slow"})
	e.waitCachedServices()
	r := e.safeReceiver("web-deadline", `,"tag":"1.14","finishTimeoutSeconds":1`)
	left := e.createReceiver(`{"name":"slow-deadline","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":` +
		`{"app":"slow"},"tag":"1.14","batchSize":1,"intervalMillis":100,"finishTimeoutSeconds":1,"rollbackOnFailure":false}}`)
	mark := e.callMark()
	e.stall(web, true)
	e.stall(slow.ID, true)

	for _, rc := range []receiver{r, left} {
		if a := e.trigger(rc.URL, "application/json", pushOf("1.14")); a.status != http.StatusAccepted {
			t.Fatalf("push to %s: %s, want 202", rc.Name, a)
		}
	}
	// The rollback is accepted while the service is still held; releasing it lets the rollback run.
	eventually(t, "the rollback of web", func() (bool, string) {
		calls, _ := e.callsSince(mark)
		got := actionCalls(calls)
		return slices.Contains(got, "rollback "+web+" 202"), fmt.Sprintf("actions %v", got)
	})
	e.stall(web, false)
	rec := e.finalUpgrade(r, web)
	if rec.Outcome != "rolled-back" || !strings.Contains(rec.Error, "not finished within 1s") {
		t.Errorf("web's upgrade ended %s, want rolled-back for the deadline", rec)
	}
	if s := e.waitService(web, "web active", settled); s.LaunchConfig.ImageUUID != "docker:nginx:1.13" {
		t.Errorf("web ends on %s, want the old docker:nginx:1.13", s.LaunchConfig.ImageUUID)
	}

	kept := e.finalUpgrade(left, slow.ID)
	if kept.Outcome != "timed-out" || !strings.Contains(kept.Error, "not finished within 1s") ||
		kept.step("left upgrading for a human") < 0 {
		t.Errorf("slow's upgrade ended %s, want timed-out and left upgrading", kept)
	}
	calls, _ := e.callsSince(mark)
	if got := actionCalls(calls); slices.Contains(got, "rollback "+slow.ID+" 202") || !slices.Contains(got, "upgrade "+slow.ID+" 202") {
		t.Errorf("actions %v: slow must be upgraded and never rolled back", got)
	}
	if s := e.service(slow.ID); s.State != "upgrading" {
		t.Errorf("slow is %s, want left upgrading", s.State)
	}
}

// Three pushes during one upgrade: the first runs, the second waits and is superseded by the third, so there
// are exactly two upgrades, the second to the newest image (glob tag policy 1.1*).
func TestThreePushesDuringOneUpgradeMakeTwo(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	r := e.safeReceiver("web-glob", `,"tagPolicy":"glob","tagPattern":"1.1*"`)
	mark := e.callMark()
	e.stall(web, true)
	if a := e.trigger(r.URL, "application/json", pushOf("1.14")); a.status != http.StatusAccepted {
		t.Fatalf("push 1.14: %s, want 202", a)
	}
	e.waitService(web, "web upgrading", func(s serviceView) bool { return s.State == "upgrading" })
	var ids []string
	for _, tag := range []string{"1.15", "1.16"} {
		a := e.trigger(r.URL, "application/json", pushOf(tag))
		if a.status != http.StatusAccepted {
			t.Fatalf("push %s during the upgrade: %s, want 202", tag, a)
		}
		rec := e.upgradeRecord(decodeReply(t, a).ExecutionID)
		ids = append(ids, strings.TrimSuffix(rec.Decision[strings.LastIndex(rec.Decision, " ")+1:], ")"))
	}
	eventually(t, "1.15 superseded by 1.16", func() (bool, string) {
		rec := e.upgradeRecord(ids[0])
		return rec.Outcome == "ignored" && strings.Contains(rec.Decision, "superseded by a newer push ("+ids[1]+")"), rec.String()
	})
	e.stall(web, false)
	last := e.upgradeRecord(ids[1])
	eventually(t, "the 1.16 upgrade ends", func() (bool, string) {
		last = e.upgradeRecord(ids[1])
		return slices.Contains(finalOutcomes, last.Outcome), last.String()
	})
	if last.Outcome != "done" || last.step("waiting behind upgrade") < 0 {
		t.Errorf("1.16 ended %s, want done after waiting behind the first upgrade", last)
	}
	calls, _ := e.callsSince(mark)
	want := []string{"upgrade " + web + " 202", "finishupgrade " + web + " 202", "upgrade " + web + " 202", "finishupgrade " + web + " 202"}
	if got := actionCalls(calls); !slices.Equal(got, want) {
		t.Errorf("actions %v, want exactly two upgrades: %v", got, want)
	}
	if got := upgradeImages(t, calls, web); !slices.Equal(got, []string{"docker:nginx:1.14", "docker:nginx:1.16"}) {
		t.Errorf("upgraded to %v, want 1.14 then the newest, 1.16", got)
	}
	if s := e.service(web); !settled(s) || s.LaunchConfig.ImageUUID != "docker:nginx:1.16" {
		t.Errorf("web ends %s on %s, want active on docker:nginx:1.16", s.State, s.LaunchConfig.ImageUUID)
	}
}

// The semver-patch policy, through a trigger: 2.0.0 is refused with the reason (200, nothing done) and 1.14.1
// is applied over 1.14.0.
func TestSemverPatchPolicyThroughTrigger(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	svc := e.createService("semver", "docker:nginx:1.14.0", 1, map[string]string{"app": "semver"})
	e.waitCachedServices()
	r := e.createReceiver(`{"name":"semver-patch","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":` +
		`{"app":"semver"},"tagPolicy":"semver-patch","batchSize":1,"intervalMillis":100}}`)
	mark := e.callMark()

	a := e.trigger(r.URL, "application/json", pushOf("2.0.0"))
	rep := decodeReply(t, a)
	if a.status != http.StatusOK || rep.Result != "none" || !strings.Contains(rep.Reason, `outside 1.14.x of the current tag "1.14.0"`) {
		t.Errorf("push 2.0.0: %s, want 200 none, outside 1.14.x", a)
	}
	a = e.trigger(r.URL, "application/json", pushOf("1.14.1"))
	if rep := decodeReply(t, a); a.status != http.StatusAccepted || !slices.Equal(rep.Targets, []string{svc.ID}) {
		t.Fatalf("push 1.14.1: %s, want 202 for %s", a, svc.ID)
	}
	if rec := e.finalUpgrade(r, svc.ID); rec.Outcome != "done" {
		t.Errorf("1.14.1 ended %s, want done", rec)
	}
	if s := e.service(svc.ID); !settled(s) || s.LaunchConfig.ImageUUID != "docker:nginx:1.14.1" {
		t.Errorf("semver ends %s on %s, want active on docker:nginx:1.14.1", s.State, s.LaunchConfig.ImageUUID)
	}
	calls, _ := e.callsSince(mark)
	if got := actionCalls(calls); !slices.Equal(got, []string{"upgrade " + svc.ID + " 202", "finishupgrade " + svc.ID + " 202"}) {
		t.Errorf("actions %v, want only the 1.14.1 upgrade of %s (2.0.0 refused, web untouched)", got, svc.ID)
	}
	if s := e.service(web); s.LaunchConfig.ImageUUID != "docker:nginx:1.13" {
		t.Errorf("web is on %s, want untouched", s.LaunchConfig.ImageUUID)
	}
}

// A restart of scale-subscriber in the middle of an upgrade: the first instance starts it and is stopped while
// the service is held in "upgrading"; the service reaches "upgraded" with nobody watching; a new instance on
// the same cattlesim adopts the upgrade from Cattle's state (our marker label), without any new event, and
// finishes it.
func TestRestartMidUpgradeStillCompletes(t *testing.T) {
	t.Parallel()
	e := &env{t: t, logs: &logBuffer{}}
	e.client = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(e.client.CloseIdleConnections)
	e.startSim()
	stopFirst := e.launchService(nil)
	e.waitHealthy()
	web := e.id("service/web")
	r := e.safeReceiver("web-restart", `,"tag":"1.14"`)
	mark := e.callMark()

	e.stall(web, true)
	if a := e.trigger(r.URL, "application/json", pushOf("1.14")); a.status != http.StatusAccepted {
		t.Fatalf("push: %s, want 202", a)
	}
	first := e.waitExecution(r, "service:"+web, "running")
	e.waitService(web, "web upgrading", func(s serviceView) bool { return s.State == "upgrading" })
	stopFirst()
	e.stall(web, false)
	e.waitService(web, "web upgraded with nobody to finish it", func(s serviceView) bool {
		return s.State == "upgraded" && s.Transitioning == "no"
	})
	restart := e.callMark()

	e.launchService(nil)
	e.waitHealthy()
	s := e.waitService(web, "web finished by the new instance", settled)
	if s.LaunchConfig.ImageUUID != "docker:nginx:1.14" {
		t.Errorf("web ends on %s, want docker:nginx:1.14", s.LaunchConfig.ImageUUID)
	}
	rec := e.finalUpgrade(r, web)
	if rec.Outcome != "done" || rec.step("adopted the upgrade started by execution "+first.ID) < 0 ||
		rec.step("new containers healthy 2/2") < 0 {
		t.Errorf("the new instance's record %s, want done, adopted from execution %s, new containers healthy", rec, first.ID)
	}
	calls, _ := e.callsSince(mark)
	if got, want := actionCalls(calls), []string{"upgrade " + web + " 202", "finishupgrade " + web + " 202"}; !slices.Equal(got, want) {
		t.Errorf("actions %v, want %v", got, want)
	}
	after, _ := e.callsSince(restart)
	if got := actionCalls(after); !slices.Equal(got, []string{"finishupgrade " + web + " 202"}) {
		t.Errorf("actions after the restart %v, want the new instance's finishupgrade", got)
	}
}
