package e2e

// Registry payloads through the API: each new format, from the real samples in upgrade/testdata, triggers an
// upgrade of the service that runs the pushed repository; a GitHub delivery to a receiver with a secret must
// carry a valid X-Hub-Signature-256 (the one 401 answer); a redelivered push (same digest) does not redeploy
// twice while a new push of the same mutable tag does; auto-detection refuses an ambiguous body.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sample reads a payload sample of the upgrade package.
func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "upgrade", "testdata", name))
	if err != nil {
		t.Fatalf("read sample %s: %v", name, err)
	}
	return b
}

// githubSignature is the X-Hub-Signature-256 value of body under secret.
func githubSignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// postSigned POSTs body to a trigger URL with the given X-Hub-Signature-256 ("" sends none), as GitHub does.
func (e *env) postSigned(url string, body []byte, signature string) answer {
	e.t.Helper()
	h := jsonHeader("X-GitHub-Event", "package")
	if signature != "" {
		h.Set("X-Hub-Signature-256", signature)
	}
	return e.must(http.MethodPost, url, h, body)
}

const ghcrSecret = "It's a Secret to Everybody"

// Every new payload format, from a real sample, upgrades the service running the pushed repository (and only
// that one: two services run quay.io/mynamespace/repository, each selected by its own receiver): Harbor v1,
// Tencent TCR's Harbor v1, Harbor v2, Harbor CloudEvents detected by "auto" with a registry alias to the host
// the nodes pull from, Quay (current and 2013 shapes, the latter detected), a signed GHCR package event and
// seed 002's custom Jenkins shape.
func TestEachPayloadFormatUpgrades(t *testing.T) {
	t.Parallel()
	e := start(t)
	cases := []struct {
		name, file, format, extra string
		// image is what the service runs before (with tag "old"), want what it runs after.
		image, want string
	}{
		{"harbor-v1", "harbor_v1_push.json", "harbor", `"tag":"7"`,
			"harbor.sunvalley.com.cn/library/centos", "harbor.sunvalley.com.cn/library/centos:7"},
		{"harbor-tcr", "harbor_v1_tcr_push.json", "harbor", `"tag":"v1.10.0"`,
			"xxx-bj.tencentcloudcr.com/public/nginx", "xxx-bj.tencentcloudcr.com/public/nginx:v1.10.0"},
		{"harbor-v2", "harbor_v2_push.json", "harbor", `"tag":"latest"`,
			"hub.harbor.com/test-webhook/debian", "hub.harbor.com/test-webhook/debian:latest"},
		{"harbor-cloudevents", "harbor_cloudevents_push.json", "auto",
			`"tag":"latest","registryAliases":{"hub.harbor.com":"harbor.internal:5000"}`,
			"harbor.internal:5000/test-webhook/debian", "harbor.internal:5000/test-webhook/debian:latest"},
		{"quay", "quay_push.json", "quay", `"tagPolicy":"glob","tagPattern":"*"`,
			"quay.io/mynamespace/repository", "quay.io/mynamespace/repository:latest"},
		{"quay-2013", "quay_push_2013.json", "auto", `"tag":"latest"`,
			"quay.io/mynamespace/repository", "quay.io/mynamespace/repository:latest"},
		{"ghcr", "ghcr_published_tagged.json", "ghcr", `"tagPolicy":"semver-major","secret":"` + ghcrSecret + `"`,
			"ghcr.io/codertocat/hello-world", "ghcr.io/codertocat/hello-world:1.0.0"},
		{"custom", "custom_jenkins_seed002.json", "custom", `"tagPolicy":"regex","tagPattern":"v[0-9.]+"`,
			"registry.cn-shenzhen.aliyuncs.com/rancher/webhook", "registry.cn-shenzhen.aliyuncs.com/rancher/webhook:v1.2.0"},
	}
	services := make([]serviceView, len(cases))
	for i, tc := range cases {
		old := ":0.9.0"
		if !strings.Contains(tc.extra, "semver") {
			old = ":old"
		}
		services[i] = e.createService(tc.name, "docker:"+tc.image+old, 1, map[string]string{"app": tc.name})
	}
	e.waitCachedServices()
	receivers := make([]receiver, len(cases))
	for i, tc := range cases {
		receivers[i] = e.createReceiver(`{"name":"` + tc.name + `","driver":"serviceUpgrade","serviceUpgradeConfig":` +
			`{"serviceSelector":{"app":"` + tc.name + `"},"payloadFormat":"` + tc.format + `","batchSize":1,` +
			`"intervalMillis":100,` + tc.extra + `}}`)
	}
	for i, tc := range cases {
		body := sample(t, tc.file)
		var a answer
		if tc.format == "ghcr" {
			a = e.postSigned(receivers[i].URL, body, githubSignature(ghcrSecret, body))
		} else {
			a = e.trigger(receivers[i].URL, "application/json", body)
		}
		if rep := decodeReply(t, a); a.status != http.StatusAccepted || !slices.Equal(rep.Targets, []string{services[i].ID}) {
			t.Errorf("%s (%s): %s, want 202 for %s only", tc.name, tc.file, a, services[i].ID)
		}
	}
	for i, tc := range cases {
		if rec := e.finalUpgrade(receivers[i], services[i].ID); rec.Outcome != "done" {
			t.Errorf("%s: upgrade ended %s, want done", tc.name, rec)
			continue
		}
		if s := e.service(services[i].ID); !settled(s) || s.LaunchConfig.ImageUUID != "docker:"+tc.want {
			t.Errorf("%s: service ends %s on %s, want active on docker:%s", tc.name, s.State, s.LaunchConfig.ImageUUID, tc.want)
		}
	}
}

// A GHCR receiver with a secret refuses, with 401 and nothing done, a delivery whose signature is forged
// (signed with another secret, or the body changed after signing) or missing; the genuine delivery upgrades.
func TestGHCRSignatureRefusedWith401(t *testing.T) {
	t.Parallel()
	e := start(t)
	svc := e.createService("hello", "docker:ghcr.io/codertocat/hello-world:0.9.0", 1, map[string]string{"app": "hello"})
	e.waitCachedServices()
	r := e.createReceiver(`{"name":"ghcr-hello","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":` +
		`{"app":"hello"},"tag":"1.0.0","payloadFormat":"ghcr","secret":"` + ghcrSecret + `","batchSize":1,"intervalMillis":100}}`)
	if cfg := r.ServiceUpgradeConfig; cfg["secret"] != nil || cfg["secretSet"] != true {
		t.Errorf("the receiver renders its secret or hides that it has one: %v", cfg)
	}
	body := sample(t, "ghcr_published_tagged.json")
	tampered := []byte(strings.Replace(string(body), `"1.0.0"`, `"6.6.6"`, 1))
	mark := e.callMark()
	for _, tc := range []struct {
		name      string
		body      []byte
		signature string
		message   string
	}{
		{"signed with another secret", body, githubSignature("guessed", body), "signature does not match"},
		{"body changed after signing", tampered, githubSignature(ghcrSecret, body), "signature does not match"},
		{"no signature", body, "", "missing X-Hub-Signature-256"},
		{"sha1 signature", body, "sha1=" + strings.Repeat("0", 40), "malformed X-Hub-Signature-256"},
	} {
		a := e.postSigned(r.URL, tc.body, tc.signature)
		wantError(t, tc.name, a, http.StatusUnauthorized, tc.message)
	}
	calls, _ := e.callsSince(mark)
	if got := actionCalls(calls); len(got) != 0 {
		t.Fatalf("refused deliveries caused actions: %v", got)
	}
	for _, rec := range e.executions("receiverId=" + r.ID) {
		if rec.Outcome != "rejected" {
			t.Errorf("refused delivery recorded as %+v, want rejected", rec)
		}
	}
	if strings.Contains(e.logs.String(), ghcrSecret) {
		t.Errorf("the secret is in the logs")
	}

	a := e.postSigned(r.URL, body, githubSignature(ghcrSecret, body))
	if a.status != http.StatusAccepted {
		t.Fatalf("genuine delivery: %s, want 202", a)
	}
	if rec := e.finalUpgrade(r, svc.ID); rec.Outcome != "done" {
		t.Errorf("genuine delivery ended %s, want done", rec)
	}
	if s := e.service(svc.ID); s.LaunchConfig.ImageUUID != "docker:ghcr.io/codertocat/hello-world:1.0.0" {
		t.Errorf("hello ends on %s", s.LaunchConfig.ImageUUID)
	}
}

// Harbor delivers a push again (its job retry, a "resend" in its UI): the same digest does not redeploy, while
// a new push of the same mutable tag (another digest) does.
func TestRedeliveredPushDoesNotRedeploy(t *testing.T) {
	t.Parallel()
	e := start(t)
	svc := e.createService("debian", "docker:hub.harbor.com/test-webhook/debian:old", 1, map[string]string{"app": "debian"})
	e.waitCachedServices()
	r := e.createReceiver(`{"name":"harbor-debian","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":` +
		`{"app":"debian"},"tag":"latest","payloadFormat":"harbor","batchSize":1,"intervalMillis":100}}`)
	body := sample(t, "harbor_v2_push.json")
	mark := e.callMark()
	if a := e.trigger(r.URL, "application/json", body); a.status != http.StatusAccepted {
		t.Fatalf("first delivery: %s, want 202", a)
	}
	if rec := e.finalUpgrade(r, svc.ID); rec.Outcome != "done" {
		t.Fatalf("first delivery ended %s, want done", rec)
	}
	a := e.trigger(r.URL, "application/json", body)
	if rep := decodeReply(t, a); a.status != http.StatusOK || rep.Result != "none" || !strings.Contains(rep.Reason, "repeat delivery") {
		t.Errorf("redelivery: %s, want 200 none, repeat delivery", a)
	}
	calls, _ := e.callsSince(mark)
	if got := upgradeImages(t, calls, svc.ID); len(got) != 1 {
		t.Errorf("upgrades %v after a redelivery, want one", got)
	}

	repushed := []byte(strings.ReplaceAll(string(body), "sha256:8a9e9863dbb6e10edb5adfe917c00da84e1700fa76e7ed02476aa6e6fb8ee0d8",
		"sha256:1111111111111111111111111111111111111111111111111111111111111111"))
	a = e.trigger(r.URL, "application/json", repushed)
	if a.status != http.StatusAccepted {
		t.Fatalf("new push of latest: %s, want 202", a)
	}
	eventually(t, "the second upgrade of latest", func() (bool, string) {
		recs := e.executions("receiverId=" + r.ID + "&limit=1")
		return len(recs) == 1 && recs[0].Target == "service:"+svc.ID && recs[0].Outcome == "done", recs[0].Outcome
	})
	calls, _ = e.callsSince(mark)
	if got := upgradeImages(t, calls, svc.ID); !slices.Equal(got, []string{"docker:hub.harbor.com/test-webhook/debian:latest",
		"docker:hub.harbor.com/test-webhook/debian:latest"}) {
		t.Errorf("upgrades %v, want latest twice (the mutable tag redeployed for its new digest)", got)
	}
}

// A receiver told to detect the format refuses a body that fits two formats with 400 and both names, rather
// than guessing, and a body that fits none with what it looked for.
func TestAutoFormatRefusesAmbiguousBody(t *testing.T) {
	t.Parallel()
	e := start(t)
	r := e.createReceiver(`{"name":"auto","driver":"serviceUpgrade","serviceUpgradeConfig":{"serviceSelector":{"app":"web"},` +
		`"tag":"1.14","payloadFormat":"auto","batchSize":1,"intervalMillis":100}}`)
	mark := e.callMark()
	both := `{"push_data":{"tag":"1.14"},"repository":{"repo_name":"nginx"},"docker_url":"quay.io/x/nginx","updated_tags":["1.14"]}`
	wantError(t, "ambiguous body", e.trigger(r.URL, "application/json", []byte(both)), http.StatusBadRequest,
		"matches more than one format (quay, dockerhub)")
	wantError(t, "unknown body", e.trigger(r.URL, "application/json", []byte(`{"image":"nginx:1.14"}`)), http.StatusBadRequest,
		"matches no known format")
	calls, _ := e.callsSince(mark)
	if got := actionCalls(calls); len(got) != 0 {
		t.Errorf("refused bodies caused actions: %v", got)
	}
}
