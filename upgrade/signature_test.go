package upgrade

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestVerifyGitHubSignatureDocumentedExample(t *testing.T) {
	// GitHub's "Validating webhook deliveries" example.
	const secret = "It's a Secret to Everybody"
	const good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if err := VerifyGitHubSignature(secret, []byte("Hello, World!"), good); err != nil {
		t.Fatalf("documented signature refused: %v", err)
	}
	if err := VerifyGitHubSignature(secret, []byte("Hello, World?"), good); err == nil {
		t.Fatal("a changed body must be refused")
	}
}

func TestVerifyGitHubSignature(t *testing.T) {
	body := sample(t, "ghcr_published_tagged.json")
	good := sign("s3cret", body)
	flipped := []byte(good)
	// Change the last hex digit: same length and format, wrong value.
	if flipped[len(flipped)-1] == '0' {
		flipped[len(flipped)-1] = '1'
	} else {
		flipped[len(flipped)-1] = '0'
	}
	tests := []struct {
		name, secret, header string
		body                 []byte
		reason               string // "" = accepted
	}{
		{name: "good", secret: "s3cret", header: good, body: body},
		{name: "good, upper-case algorithm and spaces", secret: "s3cret", header: "  SHA256=" + strings.TrimPrefix(good, "sha256=") + " ",
			body: body},
		{name: "forged: signed with another secret", secret: "s3cret", header: sign("guess", body), body: body,
			reason: "signature does not match the body (forged, or signed with another secret)"},
		{name: "forged: body changed after signing", secret: "s3cret", header: good, body: append([]byte(" "), body...),
			reason: "signature does not match the body (forged, or signed with another secret)"},
		{name: "forged: one digit changed", secret: "s3cret", header: string(flipped), body: body,
			reason: "signature does not match the body (forged, or signed with another secret)"},
		{name: "missing", secret: "s3cret", header: "", body: body, reason: "missing X-Hub-Signature-256 header"},
		{name: "sha1 header in the sha256 place", secret: "s3cret", header: "sha1=0123456789abcdef0123456789abcdef01234567",
			body: body, reason: "malformed X-Hub-Signature-256 header: want sha256=<hex>"},
		{name: "not hex", secret: "s3cret", header: "sha256=zz", body: body,
			reason: "malformed X-Hub-Signature-256 header: want sha256=<hex>"},
		{name: "truncated", secret: "s3cret", header: good[:len(good)-2], body: body,
			reason: "malformed X-Hub-Signature-256 header: want sha256=<hex>"},
		{name: "no algorithm", secret: "s3cret", header: strings.TrimPrefix(good, "sha256="), body: body,
			reason: "malformed X-Hub-Signature-256 header: want sha256=<hex>"},
		{name: "no secret fails closed", secret: "", header: sign("", body), body: body, reason: "no secret to verify with"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyGitHubSignature(tt.secret, tt.body, tt.header)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var se *SignatureError
			if !errors.As(err, &se) || se.Reason != tt.reason {
				t.Fatalf("error = %v, want *SignatureError %q", err, tt.reason)
			}
			if !strings.HasPrefix(err.Error(), "github signature refused: ") {
				t.Fatalf("error text %q", err)
			}
		})
	}
}
