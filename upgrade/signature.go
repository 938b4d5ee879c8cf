package upgrade

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// GitHubSignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the raw body keyed with the webhook's
// secret.
const GitHubSignatureHeader = "X-Hub-Signature-256"

// SignatureError is a delivery whose signature does not prove it comes from the holder of the secret: missing,
// malformed or not matching (forged, or signed with another secret). The receiver API answers it with 401 and
// does nothing with the body.
type SignatureError struct {
	Reason string
}

// Error implements error.
func (e *SignatureError) Error() string { return "github signature refused: " + e.Reason }

// VerifyGitHubSignature checks header (the X-Hub-Signature-256 value) against the HMAC-SHA256 of body keyed
// with secret, comparing in constant time. Call it only when the receiver has a secret, with the body exactly
// as received. An empty secret is refused too, so a misconfigured caller fails closed. The error is a
// *SignatureError.
func VerifyGitHubSignature(secret string, body []byte, header string) error {
	if secret == "" {
		return &SignatureError{Reason: "no secret to verify with"}
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return &SignatureError{Reason: "missing " + GitHubSignatureHeader + " header"}
	}
	algo, sig, ok := strings.Cut(header, "=")
	if !ok || !strings.EqualFold(algo, "sha256") {
		return &SignatureError{Reason: "malformed " + GitHubSignatureHeader + " header: want sha256=<hex>"}
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return &SignatureError{Reason: "malformed " + GitHubSignatureHeader + " header: want sha256=<hex>"}
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return &SignatureError{Reason: "signature does not match the body (forged, or signed with another secret)"}
	}
	return nil
}
