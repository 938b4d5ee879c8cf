package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Headers of the outgoing webhook.
const (
	// SignatureHeader carries "sha256=" + hex(HMAC-SHA256(secret, body)) when the webhook has a secret, in the
	// format of GitHub's X-Hub-Signature-256, so existing verifiers work unchanged.
	SignatureHeader = "X-Scale-Subscriber-Signature"
	// DeliveryHeader identifies one notification; it is the same on every retry, so a receiver can drop
	// duplicates (a retry after a lost 2xx).
	DeliveryHeader = "X-Scale-Subscriber-Delivery"
	// EventHeader is "execution." + the final state, for routing without parsing the body.
	EventHeader = "X-Scale-Subscriber-Event"
)

const signaturePrefix = "sha256="

// Sign returns the SignatureHeader value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports whether header is the signature of body under secret, in constant time. It is what
// a receiver of our webhooks runs.
func VerifySignature(secret string, body []byte, header string) bool {
	got, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return false
	}
	sum, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(sum, mac.Sum(nil))
}
