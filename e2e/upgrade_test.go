package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// dockerHubPush is the minimal Docker Hub payload of webhook-service's documentation.
var dockerHubPush = []byte(`{"push_data":{"tag":"1.14"},"repository":{"repo_name":"nginx"}}`)

// upgradeReceiver creates a serviceUpgrade receiver for app=web on tag 1.14 as the original's UI wrote it:
// intervalMillis 2 meant 2 seconds there.
func (e *env) upgradeReceiver(name string) receiver {
	e.t.Helper()
	return e.createReceiver(`{"name":"` + name + `","driver":"serviceUpgrade","serviceUpgradeConfig":` +
		`{"serviceSelector":{"app":"web"},"tag":"1.14","payloadFormat":"dockerhub","batchSize":2,"intervalMillis":2}}`)
}

// actionCalls returns the service actions (POST ...?action=) among calls, as "<action> <service id> <status>".
func actionCalls(calls []call) []string {
	var out []string
	for _, c := range calls {
		action, ok := strings.CutPrefix(c.Query, "action=")
		if c.Method != http.MethodPost || !ok || !strings.Contains(c.Path, "/services/") {
			continue
		}
		id := strings.TrimSuffix(c.Path[strings.LastIndex(strings.TrimSuffix(c.Path, "/"), "/")+1:], "/")
		out = append(out, fmt.Sprintf("%s %s %d", action, id, c.Status))
	}
	return out
}

// waitExecution waits until the execution history holds a record of receiver r on target whose outcome is one
// of outcomes, and returns it.
func (e *env) waitExecution(r receiver, target string, outcomes ...string) record {
	e.t.Helper()
	var found record
	eventually(e.t, "an execution of "+r.Name+" on "+target+" "+strings.Join(outcomes, "/"), func() (bool, string) {
		recs := e.executions("receiverId=" + r.ID)
		for _, rec := range recs {
			if rec.Target == target && slices.Contains(outcomes, rec.Outcome) {
				found = rec
				return true, ""
			}
		}
		b, _ := json.Marshal(recs)
		return false, string(b)
	})
	return found
}

// A Docker Hub push of nginx:1.14 upgrades the services labelled app=web that run nginx, and only those: a
// labelled service running redis and an nginx service without the label are left alone (the original switched
// every labelled service to the pushed image). The upgrade carries the full launch config with the new image,
// the pull-always label and the legacy interval converted (2 → 2000 ms); the finish is event driven: the call
// log shows upgrade then finishupgrade and no read of the service in between, and web ends active on
// docker:nginx:1.14.
func TestDockerHubPushUpgradesOnlyMatchingServices(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	redis := e.createService("cache", "docker:redis:7", 1, map[string]string{"app": "web"})
	static := e.createService("static", "docker:nginx:1.13", 1, map[string]string{"app": "static"})
	e.waitCachedServices()
	r := e.upgradeReceiver("upgrade-web")
	mark := e.callMark()

	a := e.trigger(r.URL, "application/json", dockerHubPush)
	if a.status != http.StatusAccepted {
		t.Fatalf("push: %s, want 202 Accepted", a)
	}
	if rep := decodeReply(t, a); !slices.Equal(rep.Targets, []string{web}) || rep.Result != "accepted" {
		t.Errorf("push answered %s, want accepted for web (%s) only", a.body, web)
	}
	rec := e.waitExecution(r, "service:"+web, "done", "failed", "ignored")
	if rec.Outcome != "done" {
		t.Fatalf("web's upgrade ended %+v, want done", rec)
	}

	calls, _ := e.callsSince(mark)
	if got, want := actionCalls(calls), []string{"upgrade " + web + " 202", "finishupgrade " + web + " 202"}; !slices.Equal(got, want) {
		t.Errorf("service actions %v, want %v", got, want)
	}
	if reads := matching(calls, func(c call) bool { return c.is(http.MethodGet, "services/"+web, "") }); len(reads) != 0 {
		t.Errorf("the service polled web during its upgrade: %v", reads)
	}
	up := matching(calls, func(c call) bool { return c.is(http.MethodPost, "services/"+web, "upgrade") })
	var in struct {
		InServiceStrategy struct {
			BatchSize      int            `json:"batchSize"`
			IntervalMillis int            `json:"intervalMillis"`
			StartFirst     bool           `json:"startFirst"`
			LaunchConfig   map[string]any `json:"launchConfig"`
		} `json:"inServiceStrategy"`
	}
	if len(up) != 1 || json.Unmarshal([]byte(up[0].Body), &in) != nil {
		t.Fatalf("upgrade call %v: cannot read its body", up)
	}
	s := in.InServiceStrategy
	if s.BatchSize != 2 || s.IntervalMillis != 2000 || s.StartFirst {
		t.Errorf("upgrade strategy %s, want batchSize 2, intervalMillis 2000 (legacy 2 s), startFirst false", up[0].Body)
	}
	labels, _ := s.LaunchConfig["labels"].(map[string]any)
	if s.LaunchConfig["imageUuid"] != "docker:nginx:1.14" || labels["app"] != "web" ||
		labels["io.rancher.container.pull_image"] != "always" || !equalJSON(s.LaunchConfig["ports"], []string{"8080:80/tcp"}) {
		t.Errorf("upgrade launchConfig %v, want web's full config on docker:nginx:1.14 with pull_image=always", s.LaunchConfig)
	}

	if got := e.service(web); !settled(got) || got.LaunchConfig.ImageUUID != "docker:nginx:1.14" {
		t.Errorf("web ends %s on %s, want active on docker:nginx:1.14", got.State, got.LaunchConfig.ImageUUID)
	}
	for _, other := range []serviceView{redis, static} {
		if got := e.service(other.ID); !settled(got) || got.LaunchConfig.ImageUUID != other.LaunchConfig.ImageUUID {
			t.Errorf("%s ends %s on %s, want it untouched on %s", other.Name, got.State, got.LaunchConfig.ImageUUID,
				other.LaunchConfig.ImageUUID)
		}
	}
}

// A push that arrives while the service is in the middle of another upgrade (here one a user started by hand and
// left "upgraded") is recorded as waiting, not dropped and not forced; once the user finishes theirs, the push is
// applied on top of the then-current launch config and finished.
func TestPushWhileServiceBusyIsAppliedLater(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	var raw struct {
		LaunchConfig map[string]any `json:"launchConfig"`
	}
	e.sim(http.MethodGet, projectPath("services/"+web), nil, &raw)
	lc := raw.LaunchConfig
	labels, _ := lc["labels"].(map[string]any)
	labels["release"] = "manual"
	e.sim(http.MethodPost, projectPath("services/"+web+"/?action=upgrade"), map[string]any{
		"inServiceStrategy": map[string]any{"batchSize": 2, "intervalMillis": 100, "launchConfig": lc}}, nil)
	e.waitService(web, "web upgraded by hand", func(s serviceView) bool { return s.State == "upgraded" })

	r := e.upgradeReceiver("upgrade-web")
	mark := e.callMark()
	a := e.trigger(r.URL, "application/json", dockerHubPush)
	if a.status != http.StatusAccepted {
		t.Fatalf("push while upgraded: %s, want 202", a)
	}
	rec := e.waitExecution(r, "service:"+web, "queued", "running")
	eventually(t, "the push recorded as waiting", func() (bool, string) {
		rec = e.execution(rec.ID)
		return strings.Contains(rec.Decision, "waiting"), fmt.Sprintf("%+v", rec)
	})
	calls, _ := e.callsSince(mark)
	if got := actionCalls(calls); len(got) != 0 {
		t.Fatalf("actions on an upgraded service before its owner finished it: %v", got)
	}
	if s := e.service(web); s.State != "upgraded" {
		t.Fatalf("web is %s, want still upgraded (nobody but its owner may finish it)", s.State)
	}

	e.sim(http.MethodPost, projectPath("services/"+web+"/?action=finishupgrade"), map[string]any{}, nil)
	done := e.waitExecution(r, "service:"+web, "done", "failed", "ignored")
	if done.ID != rec.ID || done.Outcome != "done" {
		t.Fatalf("the waiting push ended as %+v, want execution %s done", done, rec.ID)
	}
	calls, _ = e.callsSince(mark)
	want := []string{"finishupgrade " + web + " 202", "upgrade " + web + " 202", "finishupgrade " + web + " 202"}
	if got := actionCalls(calls); !slices.Equal(got, want) {
		t.Errorf("service actions %v, want the user's finish, then our upgrade and finish: %v", got, want)
	}
	s := e.service(web)
	if !settled(s) || s.LaunchConfig.ImageUUID != "docker:nginx:1.14" || s.LaunchConfig.Labels["release"] != "manual" {
		t.Errorf("web ends %s on %s with labels %v, want active on docker:nginx:1.14 keeping release=manual",
			s.State, s.LaunchConfig.ImageUUID, s.LaunchConfig.Labels)
	}
}

// A CNCF distribution registry notification that announces no tagged manifest push (a pull, a blob push, a
// manifest push without a tag) is answered 2xx with the reason, since the registry retries anything else
// forever, and nothing is upgraded.
func TestDistributionPullAndBlobPushDoNothing(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	r := e.upgradeReceiver("upgrade-web")
	mark := e.callMark()

	event := func(id, action, mediaType, tag string) string {
		return `{"id":"` + id + `","timestamp":"2026-11-30T08:00:00Z","action":"` + action + `","target":{` +
			`"mediaType":"` + mediaType + `","digest":"sha256:0f3e4c1b","size":7023,"length":7023,` +
			`"repository":"library/nginx","url":"https://registry-1.docker.io/v2/library/nginx/manifests/sha256:0f3e4c1b",` +
			`"tag":"` + tag + `"},"request":{"id":"r1","addr":"10.0.0.9:5000","host":"registry-1.docker.io",` +
			`"method":"GET","useragent":"docker/24.0"},"actor":{},"source":{"addr":"registry:5000","instanceID":"i1"}}`
	}
	for _, tc := range []struct {
		name string
		body string
	}{
		{"manifest pull", `{"events":[` + event("e1", "pull", "application/vnd.docker.distribution.manifest.v2+json", "1.14") + `]}`},
		{"blob pushes", `{"events":[` + event("e2", "push", "application/vnd.docker.image.rootfs.diff.tar.gzip", "") + "," +
			event("e3", "push", "application/vnd.docker.container.image.v1+json", "") + `]}`},
		{"manifest push without tag", `{"events":[` + event("e4", "push", "application/vnd.docker.distribution.manifest.v2+json", "") + `]}`},
	} {
		a := e.trigger(r.URL, "application/vnd.docker.distribution.events.v1+json", []byte(tc.body))
		if a.status < 200 || a.status > 299 {
			t.Errorf("%s: %s, want 2xx", tc.name, a)
			continue
		}
		rep := decodeReply(t, a)
		if rep.Result != "none" || rep.Reason == "" {
			t.Errorf("%s answered %s, want result none with a reason", tc.name, a.body)
		}
		if rec := e.execution(rep.ExecutionID); rec.Outcome != "ignored" {
			t.Errorf("%s recorded as %+v, want ignored", tc.name, rec)
		}
	}
	calls, _ := e.callsSince(mark)
	if got := actionCalls(calls); len(got) != 0 {
		t.Errorf("registry events that are no tagged push caused service actions: %v", got)
	}
	if s := e.service(web); !settled(s) || s.LaunchConfig.ImageUUID != "docker:nginx:1.13" {
		t.Errorf("web is %s on %s, want untouched on docker:nginx:1.13", s.State, s.LaunchConfig.ImageUUID)
	}
}

// A push that arrives while our own upgrade of the service is still running (held in "upgrading" with /_sim/stall)
// waits, recorded as waiting behind that upgrade; once the first upgrade has finished, the second is applied and
// finished too, so the service ends on the newest image.
func TestPushDuringOurUpgradeIsAppliedAfter(t *testing.T) {
	t.Parallel()
	e := start(t)
	web := e.id("service/web")
	r14 := e.upgradeReceiver("upgrade-web")
	r15 := e.createReceiver(`{"name":"upgrade-web-115","driver":"serviceUpgrade","serviceUpgradeConfig":` +
		`{"serviceSelector":{"app":"web"},"tag":"1.15","batchSize":2,"intervalMillis":100}}`)
	mark := e.callMark()
	stall := func(stalled bool) {
		e.sim(http.MethodPost, "/_sim/stall", map[string]any{"type": "service", "id": web, "stalled": stalled}, nil)
	}
	stall(true)
	if a := e.trigger(r14.URL, "application/json", dockerHubPush); a.status != http.StatusAccepted {
		t.Fatalf("push 1.14: %s, want 202", a)
	}
	e.waitService(web, "web upgrading to 1.14", func(s serviceView) bool { return s.State == "upgrading" })

	a := e.trigger(r15.URL, "application/json", []byte(`{"push_data":{"tag":"1.15"},"repository":{"repo_name":"nginx"}}`))
	if rep := decodeReply(t, a); a.status != http.StatusAccepted || !slices.Equal(rep.Targets, []string{web}) {
		t.Fatalf("push 1.15 during the upgrade: %s, want 202 for web", a)
	}
	rec := e.waitExecution(r15, "service:"+web, "queued", "running")
	eventually(t, "the second push recorded as waiting", func() (bool, string) {
		rec = e.execution(rec.ID)
		return strings.Contains(rec.Decision, "waiting"), fmt.Sprintf("%+v", rec)
	})
	calls, _ := e.callsSince(mark)
	if got, want := actionCalls(calls), []string{"upgrade " + web + " 202"}; !slices.Equal(got, want) {
		t.Fatalf("actions while the first upgrade runs: %v, want only %v", got, want)
	}

	stall(false)
	if done := e.waitExecution(r15, "service:"+web, "done", "failed", "ignored"); done.Outcome != "done" {
		t.Fatalf("the second push ended %+v, want done", done)
	}
	if first := e.waitExecution(r14, "service:"+web, "done", "failed", "ignored"); first.Outcome != "done" {
		t.Errorf("the first push ended %+v, want done", first)
	}
	calls, _ = e.callsSince(mark)
	want := []string{"upgrade " + web + " 202", "finishupgrade " + web + " 202", "upgrade " + web + " 202", "finishupgrade " + web + " 202"}
	if got := actionCalls(calls); !slices.Equal(got, want) {
		t.Errorf("actions %v, want %v", got, want)
	}
	var images []string
	for _, c := range matching(calls, func(c call) bool { return c.is(http.MethodPost, "services/"+web, "upgrade") }) {
		var in struct {
			InServiceStrategy struct {
				LaunchConfig struct {
					ImageUUID string `json:"imageUuid"`
				} `json:"launchConfig"`
			} `json:"inServiceStrategy"`
		}
		if err := json.Unmarshal([]byte(c.Body), &in); err != nil {
			t.Fatalf("decode upgrade body: %v", err)
		}
		images = append(images, in.InServiceStrategy.LaunchConfig.ImageUUID)
	}
	if !slices.Equal(images, []string{"docker:nginx:1.14", "docker:nginx:1.15"}) {
		t.Errorf("upgraded to %v, want 1.14 then 1.15", images)
	}
	if s := e.service(web); !settled(s) || s.LaunchConfig.ImageUUID != "docker:nginx:1.15" {
		t.Errorf("web ends %s on %s, want active on docker:nginx:1.15", s.State, s.LaunchConfig.ImageUUID)
	}
}

// Aliyun (addressType registry-vpc) and Azure Container Registry pushes name their registry host; each upgrades
// the labelled service that runs that repository on that host, to the pushed tag.
func TestAliCloudAndAzurePushes(t *testing.T) {
	t.Parallel()
	e := start(t)
	shop := e.createService("shop", "docker:registry-vpc.cn-hangzhou.aliyuncs.com/acme/shop:1.0", 1, map[string]string{"app": "shop"})
	api := e.createService("api", "docker:myregistry.azurecr.io/team/api:1.0", 1, map[string]string{"app": "api"})
	e.waitCachedServices()
	ali := e.createReceiver(`{"name":"upgrade-shop","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":{"app":"shop"},` +
		`"tag":"1.1","payloadFormat":"alicloud","addressType":"registry-vpc","batchSize":1,"intervalMillis":100}}`)
	az := e.createReceiver(`{"name":"upgrade-api","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":{"app":"api"},` +
		`"tag":"1.1","payloadFormat":"azure","batchSize":1,"intervalMillis":100}}`)

	for _, tc := range []struct {
		r     receiver
		svc   serviceView
		body  string
		image string
	}{
		{ali, shop, `{"push_data":{"digest":"sha256:9a1f","pushed_at":"2026-11-30 08:00:00","tag":"1.1"},"repository":` +
			`{"date_created":"2026-01-01 00:00:00","name":"shop","namespace":"acme","region":"cn-hangzhou",` +
			`"repo_full_name":"acme/shop","repo_type":"PRIVATE"}}`,
			"docker:registry-vpc.cn-hangzhou.aliyuncs.com/acme/shop:1.1"},
		{az, api, `{"id":"a1","timestamp":"2026-11-30T08:00:00Z","action":"push","target":{"mediaType":` +
			`"application/vnd.docker.distribution.manifest.v2+json","size":524,"digest":"sha256:9a1f","length":524,` +
			`"repository":"team/api","tag":"1.1"},"request":{"id":"q1","host":"myregistry.azurecr.io","method":"PUT","useragent":"docker/24.0"}}`,
			"docker:myregistry.azurecr.io/team/api:1.1"},
	} {
		a := e.trigger(tc.r.URL, "application/json", []byte(tc.body))
		if rep := decodeReply(t, a); a.status != http.StatusAccepted || !slices.Equal(rep.Targets, []string{tc.svc.ID}) {
			t.Errorf("%s push: %s, want 202 for %s", tc.r.Name, a, tc.svc.ID)
			continue
		}
		if rec := e.waitExecution(tc.r, "service:"+tc.svc.ID, "done", "failed", "ignored"); rec.Outcome != "done" {
			t.Errorf("%s upgrade ended %+v, want done", tc.r.Name, rec)
		}
		if s := e.service(tc.svc.ID); !settled(s) || s.LaunchConfig.ImageUUID != tc.image {
			t.Errorf("%s ends %s on %s, want active on %s", tc.svc.Name, s.State, s.LaunchConfig.ImageUUID, tc.image)
		}
	}
}
