package upgrade

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseRealSamples parses every sample of testdata/ (see its README for the sources) in its own format and
// with detection: both must give the same pushes.
func TestParseRealSamples(t *testing.T) {
	tests := []struct {
		file   string
		format string
		want   []Push
		reason string
	}{
		{file: "harbor_v1_push.json", format: FormatHarbor, want: []Push{{
			Repository: "harbor.sunvalley.com.cn/library/centos", Tag: "7",
			Digest: "sha256:a36b9e68613d07eec4ef553da84d0012a5ca5ae4a830cf825bb68b929475c869",
			Image:  "harbor.sunvalley.com.cn/library/centos:7", Source: FormatHarbor}}},
		{file: "harbor_v1_tcr_push.json", format: FormatHarbor, want: []Push{{
			Repository: "xxx-bj.tencentcloudcr.com/public/nginx", Tag: "v1.10.0",
			Digest: "sha256:89a42c3ba15f09a3fbe39856bddacdf9e94cd03df7403cad4fc105xxxx268fc9",
			Image:  "xxx-bj.tencentcloudcr.com/public/nginx:v1.10.0", Source: FormatHarbor}}},
		{file: "harbor_v2_push.json", format: FormatHarbor, want: []Push{{
			Repository: "hub.harbor.com/test-webhook/debian", Tag: "latest",
			Digest: "sha256:8a9e9863dbb6e10edb5adfe917c00da84e1700fa76e7ed02476aa6e6fb8ee0d8",
			Image:  "hub.harbor.com/test-webhook/debian:latest", Source: FormatHarbor}}},
		{file: "harbor_v2_push_digest_only.json", format: FormatHarbor, reason: ReasonNoTag},
		{file: "harbor_v2_pull.json", format: FormatHarbor, reason: "harbor event PULL_ARTIFACT"},
		{file: "harbor_cloudevents_push.json", format: FormatHarbor, want: []Push{{
			Repository: "hub.harbor.com/test-webhook/debian", Tag: "latest",
			Digest: "sha256:8a9e9863dbb6e10edb5adfe917c00da84e1700fa76e7ed02476aa6e6fb8ee0d8",
			Image:  "hub.harbor.com/test-webhook/debian:latest", Source: FormatHarbor}}},
		{file: "harbor_cloudevents_push_digest_only.json", format: FormatHarbor, reason: ReasonNoTag},
		{file: "harbor_cloudevents_pull.json", format: FormatHarbor, reason: "harbor event harbor.artifact.pulled"},
		{file: "quay_push.json", format: FormatQuay, want: []Push{{
			Repository: "quay.io/mynamespace/repository", Tag: "latest", Image: "quay.io/mynamespace/repository:latest",
			Source: FormatQuay}}},
		{file: "quay_push_2013.json", format: FormatQuay, want: []Push{{
			Repository: "quay.io/mynamespace/repository", Tag: "latest", Image: "quay.io/mynamespace/repository:latest",
			Source: FormatQuay}}},
		{file: "quay_build_success.json", format: FormatQuay, reason: "quay build notification, not a repository push"},
		{file: "ghcr_published_tagged.json", format: FormatGHCR, want: []Push{{
			Repository: "ghcr.io/codertocat/hello-world", Tag: "1.0.0",
			Digest: "sha256:6c62fb45fe66bfb1ea9a66abc38f6a0cc974292b",
			Image:  "ghcr.io/codertocat/hello-world:1.0.0", Source: FormatGHCR}}},
		{file: "ghcr_published_untagged.json", format: FormatGHCR, reason: ReasonNoTag},
		{file: "ghcr_published_npm.json", format: FormatGHCR, reason: "github package is not a container image (npm)"},
		{file: "github_ping.json", format: FormatGHCR, reason: "github ping"},
		{file: "custom_jenkins_seed002.json", format: FormatCustom, want: []Push{{
			Repository: "registry.cn-shenzhen.aliyuncs.com/rancher/webhook", Tag: "v1.2.0",
			Image: "registry.cn-shenzhen.aliyuncs.com/rancher/webhook:v1.2.0", Source: FormatCustom}}},
		{file: "dockerhub_seed002.json", format: FormatDockerHub, want: []Push{{
			Repository: "docker.io/hongxiaolu/iperf3", Tag: "latest", Image: "hongxiaolu/iperf3:latest",
			Source: FormatDockerHub}}},
		{file: "aliyun_seed002.json", format: FormatAliCloud, want: []Push{{
			Repository: "registry.cn-shanghai.aliyuncs.com/rancher_cn/webhook", Tag: "latest",
			Digest: "sha256:f66daa126e9fcac4e2d0b7131e78ffd5d8e0012a1e6cb150a953e5be8da5d 980",
			Image:  "registry.cn-shanghai.aliyuncs.com/rancher_cn/webhook:latest", Source: FormatAliCloud}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := sample(t, tt.file)
			for _, format := range []string{tt.format, FormatAuto} {
				got, reason, err := Parse(ParseOptions{Format: format}, body)
				if err != nil {
					t.Fatalf("format %s: %v", format, err)
				}
				if !reflect.DeepEqual(got, tt.want) || reason != tt.reason {
					t.Fatalf("format %s: got %+v, %q\nwant %+v, %q", format, got, reason, tt.want, tt.reason)
				}
			}
			detected, err := Detect(body)
			if err != nil || detected != tt.format {
				t.Fatalf("Detect = %q, %v; want %q", detected, err, tt.format)
			}
		})
	}
}

func TestParseFormatDetails(t *testing.T) {
	tests := []struct {
		name   string
		format string
		body   string
		want   []Push
		reason string
	}{
		{name: "harbor: several tags of one artifact, a digest-only resource counted",
			format: FormatHarbor, body: `{"type":"PUSH_ARTIFACT","event_data":{"resources":[
			  {"digest":"sha256:aa","tag":"1.2","resource_url":"harbor.example.com:8443/proj/app:1.2"},
			  {"digest":"sha256:aa","tag":"latest","resource_url":"harbor.example.com:8443/proj/app:latest"},
			  {"digest":"sha256:aa","tag":"1.2","resource_url":"harbor.example.com:8443/proj/app:1.2"},
			  {"digest":"sha256:bb","tag":"sha256:bb","resource_url":"harbor.example.com:8443/proj/app@sha256:bb"}]}}`,
			want: []Push{
				{Repository: "harbor.example.com:8443/proj/app", Tag: "1.2", Digest: "sha256:aa",
					Image: "harbor.example.com:8443/proj/app:1.2", Source: FormatHarbor},
				{Repository: "harbor.example.com:8443/proj/app", Tag: "latest", Digest: "sha256:aa",
					Image: "harbor.example.com:8443/proj/app:latest", Source: FormatHarbor},
			},
			reason: "ignored 1 of 4 resources (push without a tag: 1)"},
		{name: "harbor: resource_url written as a URL", format: FormatHarbor,
			body: `{"type":"pushImage","event_data":{"resources":[{"tag":"v1","resource_url":"https://reg.example.com/p/a:v1"}]}}`,
			want: []Push{{Repository: "reg.example.com/p/a", Tag: "v1", Image: "reg.example.com/p/a:v1", Source: FormatHarbor}}},
		{name: "harbor: other v1 event", format: FormatHarbor, body: `{"type":"uploadChart","event_data":{}}`,
			reason: "harbor event uploadChart"},
		{name: "quay: several tags, duplicates and empty ones once", format: FormatQuay,
			body: `{"docker_url":"quay.example.com/ns/app","updated_tags":["v2","latest","v2",""]}`,
			want: []Push{
				{Repository: "quay.example.com/ns/app", Tag: "v2", Image: "quay.example.com/ns/app:v2", Source: FormatQuay},
				{Repository: "quay.example.com/ns/app", Tag: "latest", Image: "quay.example.com/ns/app:latest", Source: FormatQuay},
			}},
		{name: "quay: 2013 object tags in sorted order", format: FormatQuay,
			body: `{"docker_url":"quay.io/ns/app","updated_tags":{"v2":"x","latest":"y"}}`,
			want: []Push{
				{Repository: "quay.io/ns/app", Tag: "latest", Image: "quay.io/ns/app:latest", Source: FormatQuay},
				{Repository: "quay.io/ns/app", Tag: "v2", Image: "quay.io/ns/app:v2", Source: FormatQuay},
			}},
		{name: "quay: no tags", format: FormatQuay, body: `{"docker_url":"quay.io/ns/app","updated_tags":[]}`, reason: ReasonNoTag},
		{name: "ghcr: repository from namespace and name without package_url, digest from the version name",
			format: FormatGHCR, body: `{"action":"updated","package":{"name":"Server","namespace":"MyOrg","ecosystem":"CONTAINER",
			  "package_version":{"name":"sha256:cc","container_metadata":{"tag":{"name":"3.2.1"}}}}}`,
			want: []Push{{Repository: "ghcr.io/myorg/server", Tag: "3.2.1", Digest: "sha256:cc", Image: "ghcr.io/myorg/server:3.2.1",
				Source: FormatGHCR}}},
		{name: "ghcr: Enterprise Server host from package_url", format: FormatGHCR,
			body: `{"action":"published","package":{"name":"app","namespace":"team","package_type":"CONTAINER",
			  "package_version":{"package_url":"containers.ghe.example.com:8443/team/app:2.0",
			    "container_metadata":{"tag":{"name":"2.0","digest":"sha256:dd"}}}}}`,
			want: []Push{{Repository: "containers.ghe.example.com:8443/team/app", Tag: "2.0", Digest: "sha256:dd",
				Image: "containers.ghe.example.com:8443/team/app:2.0", Source: FormatGHCR}}},
		{name: "ghcr: other actions ignored", format: FormatGHCR,
			body:   `{"action":"deleted","package":{"name":"app","package_version":{"container_metadata":{}}}}`,
			reason: "github package action deleted"},
		{name: "ghcr: legacy registry_package ignored", format: FormatGHCR,
			body:   `{"action":"published","registry_package":{"name":"server","package_type":"docker"}}`,
			reason: "legacy github registry_package event; the package event announces the push"},
		{name: "custom: repo_url written as a URL, no namespace", format: FormatCustom,
			body: `{"push_data":{"tag":"1.0"},"repository":{"repo_url":"https://harbor.example.com/","name":"app","namespace":""}}`,
			want: []Push{{Repository: "harbor.example.com/app", Tag: "1.0", Image: "harbor.example.com/app:1.0", Source: FormatCustom}}},
		{name: "custom: repo_url with a project path", format: FormatCustom,
			body: `{"push_data":{"tag":"1.0"},"repository":{"repo_url":"harbor.example.com/proj","name":"app","namespace":"team"}}`,
			want: []Push{{Repository: "harbor.example.com/proj/team/app", Tag: "1.0", Image: "harbor.example.com/proj/team/app:1.0",
				Source: FormatCustom}}},
		{name: "custom: empty tag ignored", format: FormatCustom,
			body:   `{"push_data":{"tag":""},"repository":{"repo_url":"r.example.com","name":"app"}}`,
			reason: ReasonNoTag},
		{name: "a distribution envelope is read as one under every format", format: FormatHarbor,
			body: `{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json",
			  "repository":"p/app","tag":"1","digest":"sha256:ee"},"request":{"host":"harbor.example.com"}}]}`,
			want: []Push{{Repository: "harbor.example.com/p/app", Tag: "1", Digest: "sha256:ee", Image: "harbor.example.com/p/app:1",
				Source: FormatDistribution}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason, err := Parse(ParseOptions{Format: tt.format}, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) || reason != tt.reason {
				t.Fatalf("got %+v, %q\nwant %+v, %q", got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestParseFormatErrors(t *testing.T) {
	tests := []struct {
		name   string
		format string
		body   string
		want   string
	}{
		{name: "harbor without type", format: FormatHarbor, body: `{"event_data":{}}`, want: "Harbor event provided without type"},
		{name: "harbor push without event_data", format: FormatHarbor, body: `{"type":"PUSH_ARTIFACT"}`,
			want: "Harbor event provided without event_data"},
		{name: "harbor push without resources", format: FormatHarbor, body: `{"type":"pushImage","event_data":{"resources":[]}}`,
			want: "Harbor push provided without resources"},
		{name: "harbor resource not an object", format: FormatHarbor, body: `{"type":"pushImage","event_data":{"resources":["x"]}}`,
			want: "Harbor resource 0 is not an object"},
		{name: "harbor tagged resource without resource_url", format: FormatHarbor,
			body: `{"type":"PUSH_ARTIFACT","event_data":{"resources":[{"tag":"1"}]}}`,
			want: "Harbor resource with tag 1 provided without resource_url"},
		{name: "harbor resource_url naming another tag", format: FormatHarbor,
			body: `{"type":"PUSH_ARTIFACT","event_data":{"resources":[{"tag":"1","resource_url":"h.example.com/p/a:2"}]}}`,
			want: "Harbor resource_url h.example.com/p/a:2 does not name the tag 1"},
		{name: "harbor invalid resource_url", format: FormatHarbor,
			body: `{"type":"PUSH_ARTIFACT","event_data":{"resources":[{"tag":"1","resource_url":"h.example.com/P/A:1"}]}}`,
			want: "Invalid image h.example.com/P/A:1 in webhook response"},
		{name: "cloudevents that are not harbor's", format: FormatHarbor,
			body: `{"specversion":"1.0","type":"com.example.build","data":{}}`,
			want: `CloudEvents event of type "com.example.build" is not a Harbor event`},
		{name: "harbor cloudevents push without data", format: FormatHarbor,
			body: `{"specversion":"1.0","type":"harbor.artifact.pushed"}`, want: "Harbor event provided without data"},
		{name: "quay without docker_url", format: FormatQuay, body: `{"updated_tags":["1"]}`,
			want: "Quay notification provided without docker_url"},
		{name: "quay without updated_tags", format: FormatQuay, body: `{"docker_url":"quay.io/a/b"}`,
			want: "Quay notification provided without updated_tags"},
		{name: "quay tags of another type", format: FormatQuay, body: `{"docker_url":"quay.io/a/b","updated_tags":"1"}`,
			want: "Quay updated_tags must be a list of tags"},
		{name: "quay tag not a string", format: FormatQuay, body: `{"docker_url":"quay.io/a/b","updated_tags":[1]}`,
			want: "Quay updated_tags must hold tag names"},
		{name: "quay bad tag", format: FormatQuay, body: `{"docker_url":"quay.io/a/b","updated_tags":["a b"]}`,
			want: "Invalid image quay.io/a/b:a b in webhook response"},
		{name: "github event that is not a package event", format: FormatGHCR, body: `{"ref":"refs/heads/main","commits":[]}`,
			want: "GitHub event provided without package: send package events to this receiver"},
		{name: "github package without action", format: FormatGHCR, body: `{"package":{}}`,
			want: "GitHub package event provided without action"},
		{name: "github container package without metadata", format: FormatGHCR,
			body: `{"action":"published","package":{"ecosystem":"CONTAINER","package_version":{}}}`,
			want: "GitHub container package event provided without container_metadata"},
		{name: "github container package without a name", format: FormatGHCR,
			body: `{"action":"published","package":{"package_version":{"container_metadata":{"tag":{"name":"1"}}}}}`,
			want: "GitHub package event provided without package name"},
		{name: "custom without push_data", format: FormatCustom, body: `{"repository":{}}`, want: "Incomplete webhook response provided"},
		{name: "custom without tag", format: FormatCustom, body: `{"push_data":{}}`, want: "Webhook response contains no tag"},
		{name: "custom without repository", format: FormatCustom, body: `{"push_data":{"tag":"1"}}`,
			want: "Response provided without repository information"},
		{name: "custom without repo_url", format: FormatCustom, body: `{"push_data":{"tag":"1"},"repository":{"name":"a"}}`,
			want: "Response provided without registry address (repository.repo_url)"},
		{name: "custom without name", format: FormatCustom, body: `{"push_data":{"tag":"1"},"repository":{"repo_url":"r.io"}}`,
			want: "Response provided without image name"},
		{name: "distribution configured, other body", format: FormatDistribution, body: `{"push_data":{}}`,
			want: "Not a distribution notification: the body has no events list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason, err := Parse(ParseOptions{Format: tt.format}, []byte(tt.body))
			checkErr(t, err, tt.want)
			if got != nil || reason != "" {
				t.Fatalf("an error must come without pushes or reason, got %+v %q", got, reason)
			}
		})
	}
}

// TestDetectMatrix: every format is detected from its own fields, and bodies that fit none or several are refused
// with a *DetectError naming the candidates, never guessed.
func TestDetectMatrix(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		want       string
		candidates []string // set: ambiguous
		detail     string   // set: unknown
	}{
		{name: "dockerhub", body: dockerHubPush, want: FormatDockerHub},
		{name: "dockerhub minimal", body: `{"push_data":{"tag":"1"},"repository":{"repo_name":"nginx"}}`, want: FormatDockerHub},
		{name: "alicloud", body: aliyunPush, want: FormatAliCloud},
		{name: "azure", body: azurePush, want: FormatAzure},
		{name: "azure ping", body: `{"id":"1","action":"ping","target":{},"request":{}}`, want: FormatAzure},
		{name: "distribution", body: distributionEnvelope, want: FormatDistribution},
		{name: "custom", body: `{"push_data":{"tag":"1"},"repository":{"repo_url":"r.io","name":"a","namespace":"n"}}`, want: FormatCustom},
		{name: "dockerhub's repo_url with repo_name is dockerhub, not custom", body: dockerHubPush, want: FormatDockerHub},
		{name: "ambiguous: dockerhub and alicloud repository fields",
			body:       `{"push_data":{"tag":"1"},"repository":{"repo_name":"a/b","region":"cn-hangzhou","repo_full_name":"a/b"}}`,
			candidates: []string{FormatDockerHub, FormatAliCloud}},
		{name: "ambiguous: alicloud and custom repository fields",
			body:       `{"push_data":{"tag":"1"},"repository":{"region":"cn-hangzhou","repo_full_name":"a/b","repo_url":"r.io","name":"b"}}`,
			candidates: []string{FormatAliCloud, FormatCustom}},
		{name: "ambiguous: harbor and quay fields", body: `{"type":"PUSH_ARTIFACT","event_data":{},"docker_url":"quay.io/a/b"}`,
			candidates: []string{FormatHarbor, FormatQuay}},
		{name: "ambiguous: docker hub push_data inside a github package event",
			body:       `{"package":{},"push_data":{"tag":"1"},"repository":{"repo_name":"a/b"}}`,
			candidates: []string{FormatGHCR, FormatDockerHub}},
		{name: "ambiguous: a distribution envelope with a harbor type", body: `{"events":[],"type":"pushImage","event_data":{}}`,
			candidates: []string{FormatDistribution, FormatHarbor}},
		{name: "unknown: push_data with an unknown repository",
			body: `{"push_data":{"tag":"1"},"repository":{"full_name":"a/b"}}`,
			detail: "push_data without repository.repo_name (dockerhub), repository.region and repo_full_name (alicloud) " +
				"or repository.repo_url and name (custom)"},
		{name: "unknown: push_data with an empty repo_url", body: `{"push_data":{"tag":"1"},"repository":{"repo_url":"","name":"a"}}`,
			detail: "push_data without repository.repo_name (dockerhub), repository.region and repo_full_name (alicloud) " +
				"or repository.repo_url and name (custom)"},
		{name: "unknown: a CloudEvent from elsewhere", body: `{"specversion":"1.0","type":"dev.knative.source","data":{}}`,
			detail: `CloudEvents 1.0 event of type "dev.knative.source", not a Harbor event`},
		{name: "unknown: JFrog (not supported)", body: `{"domain":"docker","event_type":"pushed","data":{"tag":"1"}}`,
			detail: `top-level keys "data", "domain", "event_type"`},
		{name: "unknown: empty object", body: `{}`, detail: "an empty object"},
		{name: "unknown: harbor type without event_data", body: `{"type":"PUSH_ARTIFACT"}`, detail: `top-level keys "type"`},
		{name: "unknown: many keys are cut short",
			body:   `{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"a_very_long_key_that_goes_on_and_on_and_on":1}`,
			detail: `top-level keys "a", "a_very_long_key_that_goes_on_and…", "b", "c", "d", "e", "f", "g", …`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect([]byte(tt.body))
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("Detect = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			var de *DetectError
			if !errors.As(err, &de) {
				t.Fatalf("Detect = %q, %v; want a *DetectError", got, err)
			}
			if de.Ambiguous() != (tt.candidates != nil) || !reflect.DeepEqual(de.Candidates, tt.candidates) || de.Detail != tt.detail {
				t.Fatalf("DetectError = %+v\nwant candidates %q detail %q", de, tt.candidates, tt.detail)
			}
			// Through Parse: an *Error (400 upstream) that wraps the *DetectError, no pushes, no reason.
			pushes, reason, perr := Parse(ParseOptions{Format: FormatAuto}, []byte(tt.body))
			var e *Error
			if !errors.As(perr, &e) || !errors.As(perr, &de) || pushes != nil || reason != "" {
				t.Fatalf("Parse auto = %v, %q, %v", pushes, reason, perr)
			}
			if e.Message != "Cannot detect the payload format" || perr.Error() != e.Message+": "+de.Error() {
				t.Fatalf("error text %q", perr)
			}
		})
	}
}

func TestDetectErrorMessages(t *testing.T) {
	amb := &DetectError{Candidates: []string{FormatHarbor, FormatQuay}}
	if got := amb.Error(); got != "the body matches more than one format (harbor, quay); set payloadFormat to the one the registry sends" {
		t.Fatalf("ambiguous message %q", got)
	}
	unknown := &DetectError{Detail: "an empty object"}
	if got := unknown.Error(); got != "the body matches no known format (an empty object); set payloadFormat, "+
		"or check that the registry sends image push events" {
		t.Fatalf("unknown message %q", got)
	}
	for _, body := range []string{"", " ", "null", "[1]", `{"a":`} {
		if _, err := Detect([]byte(body)); err == nil {
			t.Fatalf("Detect(%q) must fail", body)
		} else if e := (*Error)(nil); !errors.As(err, &e) {
			t.Fatalf("Detect(%q) error %v is not an *Error", body, err)
		}
	}
}
