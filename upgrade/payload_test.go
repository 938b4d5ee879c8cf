package upgrade

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const dockerHubPush = `{
  "callback_url": "https://registry.hub.docker.com/u/myorg/web/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/",
  "push_data": {"pushed_at": 1417566161, "pusher": "trustedbuilder", "tag": "1.14", "images": []},
  "repository": {"comment_count": 0, "date_created": 1417494799, "description": "", "is_official": false,
    "is_private": true, "is_trusted": true, "name": "web", "namespace": "myorg", "owner": "myorg",
    "repo_name": "myorg/web", "repo_url": "https://registry.hub.docker.com/u/myorg/web/", "star_count": 0,
    "status": "Active"}
}`

const aliyunPush = `{
  "push_data": {"digest": "sha256:457f4aa83fc9a6663ab9d1b0a6e2dce25a12a943ed5bf2c1747c58d48bbb4917",
    "pushed_at": "2016-11-29 12:25:46", "tag": "v1"},
  "repository": {"date_created": "2016-10-28 21:31:42", "name": "app", "namespace": "ns", "region": "cn-hangzhou",
    "repo_authentication_type": "NO_CERTIFIED", "repo_full_name": "ns/app", "repo_origin_type": "NO_CERTIFIED",
    "repo_type": "PUBLIC"}
}`

const azurePush = `{
  "id": "cb8c3971-9adc-488b-bdd8-43cbb4974ff5", "timestamp": "2017-11-17T16:52:01.343145347Z", "action": "push",
  "target": {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 524,
    "digest": "sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d", "length": 524,
    "repository": "team/web", "tag": "v2"},
  "request": {"id": "3cbb6949-7549-4fa1-b261-a6d5451dffc7", "host": "myregistry.azurecr.io", "method": "PUT",
    "useragent": "docker/17.09.0-ce"}
}`

// distributionEnvelope is what a registry sends for one image push and a few other operations: each layer blob,
// the config, the manifest by tag, then a pull and a delete.
const distributionEnvelope = `{"events": [
  {"id": "e1", "action": "push", "target": {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "digest": "sha256:aa", "repository": "team/app", "url": "https://registry.local:5000/v2/team/app/blobs/sha256:aa"},
    "request": {"host": "registry.local:5000", "method": "PUT"}},
  {"id": "e2", "action": "push", "target": {"mediaType": "application/octet-stream", "digest": "sha256:bb",
    "repository": "team/app"}, "request": {"host": "registry.local:5000"}},
  {"id": "e3", "action": "push", "target": {"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "digest": "sha256:cc", "repository": "team/app", "tag": "2.0",
    "url": "https://registry.local:5000/v2/team/app/manifests/sha256:cc"},
    "request": {"host": "registry.local:5000", "method": "PUT"}},
  {"id": "e4", "action": "pull", "target": {"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "digest": "sha256:cc", "repository": "team/app", "tag": "2.0"}, "request": {"host": "registry.local:5000"}},
  {"id": "e5", "action": "delete", "target": {"digest": "sha256:dd", "repository": "team/app"}}
]}`

func TestParsePayloadFormats(t *testing.T) {
	tests := []struct {
		name        string
		format      string
		addressType string
		body        string
		want        []Push
		reason      string
	}{
		{name: "dockerhub", format: FormatDockerHub, body: dockerHubPush, want: []Push{{
			Repository: "docker.io/myorg/web", Tag: "1.14", Image: "myorg/web:1.14", Source: FormatDockerHub}}},
		{name: "dockerhub is the default format", body: dockerHubPush, want: []Push{{
			Repository: "docker.io/myorg/web", Tag: "1.14", Image: "myorg/web:1.14", Source: FormatDockerHub}}},
		{name: "dockerhub minimal payload from the Rancher docs", body: `{"push_data":{"tag":"1.14"},"repository":{"repo_name":"nginx"}}`,
			want: []Push{{Repository: "docker.io/library/nginx", Tag: "1.14", Image: "nginx:1.14", Source: FormatDockerHub}}},
		{name: "dockerhub official image", body: `{"push_data":{"tag":"1.14"},"repository":{"repo_name":"library/nginx"}}`,
			want: []Push{{Repository: "docker.io/library/nginx", Tag: "1.14", Image: "library/nginx:1.14", Source: FormatDockerHub}}},
		{name: "alicloud default address", format: FormatAliCloud, body: aliyunPush, want: []Push{{
			Repository: "registry.cn-hangzhou.aliyuncs.com/ns/app", Tag: "v1",
			Digest: "sha256:457f4aa83fc9a6663ab9d1b0a6e2dce25a12a943ed5bf2c1747c58d48bbb4917",
			Image:  "registry.cn-hangzhou.aliyuncs.com/ns/app:v1", Source: FormatAliCloud}}},
		{name: "alicloud vpc", format: FormatAliCloud, addressType: AddressRegistryVPC, body: aliyunPush, want: []Push{{
			Repository: "registry-vpc.cn-hangzhou.aliyuncs.com/ns/app", Tag: "v1",
			Digest: "sha256:457f4aa83fc9a6663ab9d1b0a6e2dce25a12a943ed5bf2c1747c58d48bbb4917",
			Image:  "registry-vpc.cn-hangzhou.aliyuncs.com/ns/app:v1", Source: FormatAliCloud}}},
		{name: "alicloud internal", format: FormatAliCloud, addressType: AddressRegistryInternal, body: aliyunPush,
			want: []Push{{Repository: "registry-internal.cn-hangzhou.aliyuncs.com/ns/app", Tag: "v1",
				Digest: "sha256:457f4aa83fc9a6663ab9d1b0a6e2dce25a12a943ed5bf2c1747c58d48bbb4917",
				Image:  "registry-internal.cn-hangzhou.aliyuncs.com/ns/app:v1", Source: FormatAliCloud}}},
		{name: "azure", format: FormatAzure, body: azurePush, want: []Push{{
			Repository: "myregistry.azurecr.io/team/web", Tag: "v2",
			Digest: "sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d",
			Image:  "myregistry.azurecr.io/team/web:v2", Source: FormatAzure}}},
		{name: "azure ping ignored", format: FormatAzure, body: `{"id":"1","action":"ping"}`, reason: "azure action ping"},
		{name: "azure push by digest ignored", format: FormatAzure,
			body: `{"action":"push","target":{"repository":"web","tag":""},"request":{"host":"r.azurecr.io"}}`, reason: ReasonNoTag},
		{name: "dockerhub push without a tag ignored", body: `{"push_data":{"tag":""},"repository":{"repo_name":"a/b"}}`,
			reason: ReasonNoTag},
		{name: "distribution: only the manifest push with a tag, the rest ignored with counts",
			body: distributionEnvelope, want: []Push{{Repository: "registry.local:5000/team/app", Tag: "2.0",
				Digest: "sha256:cc", Image: "registry.local:5000/team/app:2.0", Source: FormatDistribution}},
			reason: "ignored 4 of 5 events (blob push: 2, delete: 1, pull: 1)"},
		{name: "distribution autodetected whatever the format", format: FormatAliCloud, body: distributionEnvelope,
			want: []Push{{Repository: "registry.local:5000/team/app", Tag: "2.0", Digest: "sha256:cc",
				Image: "registry.local:5000/team/app:2.0", Source: FormatDistribution}},
			reason: "ignored 4 of 5 events (blob push: 2, delete: 1, pull: 1)"},
		{name: "distribution pulls only: ignored, not an error",
			body:   `{"events":[{"action":"pull","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"a","tag":"1"}}]}`,
			reason: "ignored 1 of 1 events (pull: 1)"},
		{name: "distribution empty envelope", body: `{"events":[]}`, reason: "no events"},
		{name: "distribution host from target.url, OCI index, duplicates once",
			body: `{"events":[
			  {"action":"push","target":{"mediaType":"application/vnd.oci.image.index.v1+json","repository":"app","tag":"3",
			    "digest":"sha256:ee","url":"http://reg:5000/v2/app/manifests/sha256:ee"}},
			  {"action":"push","target":{"mediaType":"application/vnd.oci.image.index.v1+json","repository":"app","tag":"3",
			    "digest":"sha256:ee","url":"http://reg:5000/v2/app/manifests/sha256:ee"}}]}`,
			want: []Push{{Repository: "reg:5000/app", Tag: "3", Digest: "sha256:ee", Image: "reg:5000/app:3",
				Source: FormatDistribution}}},
		{name: "distribution odd events counted, never an error",
			body: `{"events":[7, {"action":"push"}, {"target":{}},
			  {"action":"push","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","repository":"a"}},
			  {"action":"push","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","tag":"1"}},
			  {"action":"push","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","repository":"a","tag":"1"}},
			  {"action":"push","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","repository":"UP","tag":"1"},
			    "request":{"host":"r"}}]}`,
			reason: "ignored 7 of 7 events (malformed event: 1, manifest push without tag: 1, no action: 1, " +
				"push without registry host: 1, push without repository: 1, push without target: 1, unparseable image: 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason, err := ParsePayload(tt.format, tt.addressType, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) || reason != tt.reason {
				t.Fatalf("got %+v, %q\nwant %+v, %q", got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestParsePayloadErrors(t *testing.T) {
	tests := []struct {
		name   string
		format string
		body   string
		want   string
	}{
		{name: "empty body", body: "", want: "No Payload recevied from webhook"},
		{name: "blank body", body: " \n", want: "No Payload recevied from webhook"},
		{name: "null", body: "null", want: "No Payload recevied from webhook"},
		{name: "array", body: `[1]`, want: "Body should be of type map[string]interface{}"},
		{name: "string", body: `"push"`, want: "Body should be of type map[string]interface{}"},
		{name: "no push_data", body: `{"repository":{"repo_name":"a/b"}}`, want: "Incomplete webhook response provided"},
		{name: "FixesOriginal push_data not an object is an error, not a panic", body: `{"push_data":"x"}`,
			want: "Incomplete webhook response provided"},
		{name: "no tag", body: `{"push_data":{},"repository":{"repo_name":"a/b"}}`, want: "Webhook response contains no tag"},
		{name: "tag not a string", body: `{"push_data":{"tag":1}}`, want: "Webhook response contains no tag"},
		{name: "no repository", body: `{"push_data":{"tag":"1"}}`, want: "Response provided without repository information"},
		{name: "FixesOriginal repository not an object is an error, not a panic", body: `{"push_data":{"tag":"1"},"repository":[]}`,
			want: "Response provided without repository information"},
		{name: "no repo_name", body: `{"push_data":{"tag":"1"},"repository":{}}`, want: "Response provided without image name"},
		{name: "alicloud without region", format: FormatAliCloud,
			body: `{"push_data":{"tag":"1"},"repository":{"repo_full_name":"ns/app"}}`,
			want: "Alicloud Docker Hub response provided without image name"},
		{name: "alicloud payload with the dockerhub format", body: aliyunPush, want: "Response provided without image name"},
		{name: "invalid image", body: `{"push_data":{"tag":"1"},"repository":{"repo_name":"My/App"}}`,
			want: "Invalid image My/App:1 in webhook response"},
		{name: "azure without target", format: FormatAzure, body: `{"action":"push"}`, want: "Incomplete webhook response provided"},
		{name: "azure without tag", format: FormatAzure, body: `{"target":{"repository":"a"}}`, want: "Webhook response contains no tag"},
		{name: "azure without repository", format: FormatAzure, body: `{"target":{"tag":"1"}}`,
			want: "Response provided without image name"},
		{name: "azure without host", format: FormatAzure, body: `{"target":{"tag":"1","repository":"a"}}`,
			want: "Response provided without registry host"},
		{name: "unknown format", format: "gitlab", body: `{"a":1}`, want: "Invalid payload format gitlab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason, err := ParsePayload(tt.format, "", []byte(tt.body))
			checkErr(t, err, tt.want)
			if got != nil || reason != "" {
				t.Fatalf("an error must come without pushes or reason, got %+v %q", got, reason)
			}
		})
	}
}

func TestParsePayloadMalformedJSON(t *testing.T) {
	for _, body := range []string{`{"push_data":`, `{"events":[}`, `nope`} {
		_, _, err := ParsePayload("", "", []byte(body))
		var e *Error
		var syntax *json.SyntaxError
		if !errors.As(err, &e) || !errors.As(err, &syntax) {
			t.Fatalf("ParsePayload(%q) error = %v, want *Error wrapping *json.SyntaxError", body, err)
		}
		if !strings.HasPrefix(err.Error(), "Malformed JSON payload: ") {
			t.Fatalf("error text = %q", err)
		}
	}
	_, _, err := ParsePayload(FormatAliCloud, "registry-x", []byte(aliyunPush))
	checkErr(t, err, "Invalid address type registry-x")
}

func TestIsManifest(t *testing.T) {
	for mt, want := range map[string]bool{
		"application/vnd.docker.distribution.manifest.v2+json":      true,
		"application/vnd.docker.distribution.manifest.list.v2+json": true,
		"application/vnd.docker.distribution.manifest.v1+prettyjws": true,
		"application/vnd.oci.image.manifest.v1+json":                true,
		"application/vnd.oci.image.index.v1+json":                   true,
		"Application/VND.OCI.image.manifest.v1+json; charset=utf-8": true,
		"application/vnd.example.manifest.v9+json":                  true,
		"application/vnd.docker.image.rootfs.diff.tar.gzip":         false,
		"application/vnd.docker.container.image.v1+json":            false,
		"application/vnd.oci.image.layer.v1.tar+gzip":               false,
		"application/octet-stream":                                  false,
		"":                                                          false,
	} {
		if got := isManifest(mt); got != want {
			t.Errorf("isManifest(%q) = %v, want %v", mt, got, want)
		}
	}
}
