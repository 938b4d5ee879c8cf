package upgrade

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/imageref"
)

// Fuzz targets of the payload parsers and the signature check. Plain `go test` runs only their seed corpora
// (every sample of testdata/ plus the inline shapes below); scripts/fuzz runs each for a while.

// fuzzFormats are the payloadFormat values a fuzzed body is parsed with: every format, the default and one the
// parser does not know. Fuzz arguments index it, so the engine does not waste its time on format names.
var fuzzFormats = []string{"", FormatDockerHub, FormatAliCloud, FormatAzure, FormatDistribution, FormatHarbor,
	FormatQuay, FormatGHCR, FormatCustom, FormatAuto, "gitlab"}

// fuzzAddressTypes are the addressType values, one of them invalid.
var fuzzAddressTypes = []string{"", AddressRegistry, AddressRegistryVPC, AddressRegistryInternal, "registry-x"}

// fuzzAliases rewrite hosts the seed payloads report (Docker Hub, a distribution registry, Harbor, Aliyun).
var fuzzAliases = map[string]string{
	"docker.io":                         "mirror.local:5000",
	"registry.local:5000":               "registry.internal",
	"hub.harbor.com":                    "harbor.internal",
	"registry.cn-hangzhou.aliyuncs.com": "registry-vpc.cn-hangzhou.aliyuncs.com",
}

// fuzzInlineSeeds are shapes peers.md §2 documents that testdata/ has no file for.
var fuzzInlineSeeds = []string{
	`{"push_data":{"tag":"1.14"},"repository":{"repo_name":"nginx"}}`,
	`{"push_data":{"pushed_at":1417566161,"pusher":"trustedbuilder","tag":"1.14","images":[]},
	  "repository":{"name":"web","namespace":"myorg","repo_name":"myorg/web","repo_url":"https://registry.hub.docker.com/u/myorg/web/"}}`,
	`{"push_data":{"digest":"sha256:457f4aa83fc9a6663ab9d1b0a6e2dce25a12a943ed5bf2c1747c58d48bbb4917","tag":"v1"},
	  "repository":{"name":"app","namespace":"ns","region":"cn-hangzhou","repo_full_name":"ns/app","repo_type":"PUBLIC"}}`,
	`{"id":"cb8c3971","action":"push","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
	  "digest":"sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d","repository":"team/web","tag":"v2"},
	  "request":{"id":"3cbb","host":"myregistry.azurecr.io","method":"PUT"}}`,
	`{"id":"1","action":"ping","target":{},"request":{}}`,
	`{"events":[
	  {"id":"e1","action":"push","target":{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip",
	    "digest":"sha256:aa","repository":"team/app","url":"https://registry.local:5000/v2/team/app/blobs/sha256:aa"},
	    "request":{"host":"registry.local:5000","method":"PUT"}},
	  {"id":"e3","action":"push","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
	    "digest":"sha256:cc","repository":"team/app","tag":"2.0","url":"https://registry.local:5000/v2/team/app/manifests/sha256:cc"},
	    "request":{"host":"registry.local:5000","method":"PUT"}},
	  {"id":"e4","action":"pull","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
	    "digest":"sha256:cc","repository":"team/app","tag":"2.0"},"request":{"host":"registry.local:5000"}},
	  {"id":"e5","action":"delete","target":{"digest":"sha256:dd","repository":"team/app"}}]}`,
	`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json",
	  "repository":"g/app","tag":"3","url":"https://gitlab.example.com:5050/v2/g/app/manifests/3"}}]}`,
	`{"events":[]}`,
	`{"events":[],"type":"pushImage","event_data":{}}`,
	`{"specversion":"1.0","type":"com.example.other","data":{}}`,
	// Pushes whose image imageref would read differently from what is deployed ("docker:"+Image): a tag with a
	// space, a repository with the "docker:" prefix, a tag carrying a digest. All are refused or ignored.
	`{"push_data":{"tag":"1 "},"repository":{"repo_name":"a/b"}}`,
	`{"push_data":{"tag":"1"},"repository":{"repo_name":"docker:a/b"}}`,
	`{"push_data":{"tag":"1"},"repository":{"repo_name":" a/b"}}`,
	`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"g/app",
	  "tag":"1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},"request":{"host":"r.local"}}]}`,
	`{}`, `[]`, `null`, `"x"`, ``, `{"push_data":`,
}

// fuzzPayloadSeeds returns the bodies of testdata/*.json and fuzzInlineSeeds.
func fuzzPayloadSeeds(f *testing.F) [][]byte {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatal("no payload samples in testdata/")
	}
	var seeds [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	for _, s := range fuzzInlineSeeds {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// parseResult is one call of Parse, for comparisons.
type parseResult struct {
	Pushes []Push
	Reason string
	Err    string
}

func parseOnce(opts ParseOptions, body []byte) (parseResult, error) {
	pushes, reason, err := Parse(opts, body)
	r := parseResult{Pushes: pushes, Reason: reason}
	if err != nil {
		r.Err = err.Error()
	}
	return r, err
}

// FuzzParse checks what the trigger endpoint relies on, for any body, format, address type and with or without
// registry aliases: an error is always an *Error and comes alone; a success names, for every push, a non-empty
// repository and tag, a concrete source, and an Image that parses back to exactly that repository and tag (the
// launch configs are switched to "docker:"+Image, so the image deployed is the push announced); no push is
// announced twice; nothing announced means a reason is given (the answer is 2xx, not a silent no-op); parsing
// is deterministic; ParsePayload is Parse without aliases; and "auto" gives what the detected format gives.
func FuzzParse(f *testing.F) {
	for _, body := range fuzzPayloadSeeds(f) {
		for i := range fuzzFormats {
			f.Add(body, uint8(i), uint8(0), false)
		}
		f.Add(body, uint8(2), uint8(2), true)
		f.Add(body, uint8(9), uint8(0), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, formatIdx, addressIdx uint8, aliased bool) {
		opts := ParseOptions{
			Format:      fuzzFormats[int(formatIdx)%len(fuzzFormats)],
			AddressType: fuzzAddressTypes[int(addressIdx)%len(fuzzAddressTypes)],
		}
		if aliased {
			opts.RegistryAliases = fuzzAliases
		}
		got, err := parseOnce(opts, body)
		checkParseResult(t, opts, got, err)

		again, _ := parseOnce(opts, body)
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("Parse is not deterministic:\n first %+v\nsecond %+v", got, again)
		}
		if !aliased {
			pushes, reason, err := ParsePayload(opts.Format, opts.AddressType, body)
			viaPayload := parseResult{Pushes: pushes, Reason: reason}
			if err != nil {
				viaPayload.Err = err.Error()
			}
			if !reflect.DeepEqual(got, viaPayload) {
				t.Fatalf("ParsePayload differs from Parse without aliases:\n Parse %+v\nParsePayload %+v", got, viaPayload)
			}
		} else {
			checkAliased(t, opts, body, got)
		}
		if opts.Format == FormatAuto {
			format, derr := Detect(body)
			if derr != nil {
				if err == nil {
					t.Fatalf("Detect refused the body (%v) but Parse with auto accepted it: %+v", derr, got)
				}
				return
			}
			explicit := opts
			explicit.Format = format
			want, _ := parseOnce(explicit, body)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("auto (detected %s) differs from %s:\n auto %+v\n %s %+v", format, format, got, format, want)
			}
		}
	})
}

// checkParseResult checks one Parse outcome on its own.
func checkParseResult(t *testing.T, opts ParseOptions, got parseResult, err error) {
	t.Helper()
	if err != nil {
		var perr *Error
		if !errors.As(err, &perr) {
			t.Fatalf("Parse error %T (%v) is not an *Error", err, err)
		}
		if got.Pushes != nil || got.Reason != "" {
			t.Fatalf("Parse error %v came with pushes %+v or reason %q", err, got.Pushes, got.Reason)
		}
		return
	}
	if len(got.Pushes) == 0 && got.Reason == "" {
		t.Fatalf("Parse announced nothing and gave no reason")
	}
	seen := make(map[string]bool)
	for _, p := range got.Pushes {
		if p.Repository == "" || p.Tag == "" {
			t.Fatalf("push with an empty repository or tag: %+v", p)
		}
		if !slices.Contains(payloadFormats, p.Source) || p.Source == FormatAuto {
			t.Fatalf("push with source %q: %+v", p.Source, p)
		}
		if strings.TrimSpace(p.Image) != p.Image || strings.HasPrefix(p.Image, imageref.RancherPrefix) {
			t.Fatalf("push image %q is not a reference as written (it becomes \"docker:\"+Image): %+v", p.Image, p)
		}
		ref, err := imageref.Parse(p.Image)
		if err != nil {
			t.Fatalf("push image %q does not parse: %v (%+v)", p.Image, err, p)
		}
		if ref.Repository != p.Repository || ref.Tag != p.Tag {
			t.Fatalf("push image %q names %s:%s, the push says %s:%s (%+v)", p.Image, ref.Repository, ref.Tag,
				p.Repository, p.Tag, p)
		}
		if len(opts.RegistryAliases) == 0 && p.ReportedRepository != "" {
			t.Fatalf("ReportedRepository set without aliases: %+v", p)
		}
		key := p.Repository + ":" + p.Tag
		if seen[key] {
			t.Fatalf("push %s announced twice in %+v", key, got.Pushes)
		}
		seen[key] = true
	}
}

// checkAliased compares an aliased parse with the same parse without aliases: the same pushes in the same
// order, only the host of aliased ones changed, the reported repository kept.
func checkAliased(t *testing.T, opts ParseOptions, body []byte, aliased parseResult) {
	t.Helper()
	plainOpts := opts
	plainOpts.RegistryAliases = nil
	plain, err := parseOnce(plainOpts, body)
	if err != nil {
		if aliased.Err == "" {
			t.Fatalf("aliases turned an error (%v) into a success: %+v", err, aliased)
		}
		return
	}
	if aliased.Err != "" {
		// An alias can only fail by producing an invalid image; the ones used here always give valid hosts.
		t.Fatalf("aliases turned a success %+v into the error %s", plain, aliased.Err)
	}
	if aliased.Reason != plain.Reason || len(aliased.Pushes) != len(plain.Pushes) {
		t.Fatalf("aliases changed what was announced:\n plain %+v\n aliased %+v", plain, aliased)
	}
	for i, a := range aliased.Pushes {
		p := plain.Pushes[i]
		if a.Tag != p.Tag || a.Digest != p.Digest || a.Source != p.Source {
			t.Fatalf("alias changed more than the host: %+v → %+v", p, a)
		}
		switch {
		case a.ReportedRepository == "" && (a.Repository != p.Repository || a.Image != p.Image):
			t.Fatalf("push changed without a reported repository: %+v → %+v", p, a)
		case a.ReportedRepository != "" && a.ReportedRepository != p.Repository:
			t.Fatalf("reported repository %q, the payload reported %q", a.ReportedRepository, p.Repository)
		case a.ReportedRepository != "" && a.Repository == p.Repository:
			t.Fatalf("aliased push kept its repository: %+v", a)
		}
	}
}

// FuzzDetect checks format detection on its own: it names a concrete format or fails with an *Error (the body
// is not a JSON object) or a *DetectError that is either ambiguous (several candidates, all concrete) or says
// what was looked for; and a body detected as F is parsed by "auto" exactly as by F.
func FuzzDetect(f *testing.F) {
	for _, body := range fuzzPayloadSeeds(f) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		format, err := Detect(body)
		if err != nil {
			if format != "" {
				t.Fatalf("Detect failed (%v) and still named %q", err, format)
			}
			var perr *Error
			var derr *DetectError
			switch {
			case errors.As(err, &derr):
				if derr.Ambiguous() {
					if len(derr.Candidates) < 2 || slices.Contains(derr.Candidates, FormatAuto) {
						t.Fatalf("ambiguous with candidates %q", derr.Candidates)
					}
				} else if len(derr.Candidates) != 0 || derr.Detail == "" {
					t.Fatalf("unmatched body with candidates %q and detail %q", derr.Candidates, derr.Detail)
				}
			case errors.As(err, &perr):
			default:
				t.Fatalf("Detect error %T (%v) is neither *Error nor *DetectError", err, err)
			}
			return
		}
		if format == FormatAuto || !slices.Contains(payloadFormats, format) {
			t.Fatalf("Detect named %q", format)
		}
		auto, _ := parseOnce(ParseOptions{Format: FormatAuto}, body)
		explicit, _ := parseOnce(ParseOptions{Format: format}, body)
		if !reflect.DeepEqual(auto, explicit) {
			t.Fatalf("auto differs from the detected %s:\n auto %+v\n %s %+v", format, auto, format, explicit)
		}
	})
}

// fuzzSign is the header GitHub sends for body signed with secret.
func fuzzSign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// FuzzVerifyGitHubSignature checks that the signature check accepts GitHub's signature of the body (in any
// case of the algorithm and hex digits, with surrounding spaces) and never accepts it for a modified body,
// another secret or no secret; that an arbitrary header is accepted only when it carries the body's MAC; and
// that every refusal is a *SignatureError.
func FuzzVerifyGitHubSignature(f *testing.F) {
	f.Add("It's a Secret to Everybody", []byte("Hello, World!"),
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", uint16(0))
	for i, body := range fuzzPayloadSeeds(f) {
		f.Add("s3cret", body, "", uint16(i*7))
	}
	f.Add("", []byte("{}"), "sha256=", uint16(0))
	f.Add("k", []byte(nil), "sha1=0000", uint16(1))
	f.Add("k", []byte("x"), " SHA256=ABCDEF ", uint16(2))
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string, at uint16) {
		refused := func(what string, err error) {
			t.Helper()
			var serr *SignatureError
			if err == nil {
				t.Fatalf("%s was accepted", what)
			}
			if !errors.As(err, &serr) {
				t.Fatalf("%s: error %T (%v) is not a *SignatureError", what, err, err)
			}
		}

		// An arbitrary header: accepted only when it is "sha256=" and the body's MAC.
		err := VerifyGitHubSignature(secret, body, header)
		if err == nil {
			_, sig, _ := strings.Cut(strings.TrimSpace(header), "=")
			want := strings.TrimPrefix(fuzzSign(secret, body), "sha256=")
			if secret == "" || !strings.EqualFold(sig, want) {
				t.Fatalf("header %q accepted for a body whose signature is %s (secret %q)", header, want, secret)
			}
		} else {
			refused("header "+header, err)
		}

		good := fuzzSign(secret, body)
		if secret == "" {
			refused("an empty secret", VerifyGitHubSignature(secret, body, good))
			return
		}
		for _, h := range []string{good, strings.ToUpper(good), " " + good + "\t"} {
			if err := VerifyGitHubSignature(secret, body, h); err != nil {
				t.Fatalf("GitHub's signature %q refused: %v", h, err)
			}
		}
		// One bit of the body changed, a byte added, a byte removed: refused.
		modified := bytes.Clone(body)
		if len(modified) == 0 {
			modified = []byte{byte(at)}
		} else {
			modified[int(at)%len(modified)] ^= 1 << (at % 8)
		}
		refused("a modified body", VerifyGitHubSignature(secret, modified, good))
		refused("a body with a byte added", VerifyGitHubSignature(secret, append(bytes.Clone(body), byte(at)), good))
		if len(body) > 0 {
			refused("a truncated body", VerifyGitHubSignature(secret, body[:len(body)-1], good))
		}
		refused("another secret", VerifyGitHubSignature(secret+"x", body, good))
		refused("a truncated signature", VerifyGitHubSignature(secret, body, good[:len(good)-2]))
		refused("no signature", VerifyGitHubSignature(secret, body, ""))
	})
}
