package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Limits of a receiver's notify config.
const (
	DefaultWebhookTimeout = 10 * time.Second
	MaxWebhookTimeout     = 2 * time.Minute
	MaxRecipients         = 50
	MaxWebhookHeaders     = 20
)

// ReceiverConfig is the `notify` member of a receiver:
//
//	{"webhook": {"url": "https://hooks.example.com/x", "secret": "...", "headers": {"Authorization": "Bearer ..."},
//	             "timeoutSeconds": 10},
//	 "email":   {"to": ["ops@example.com"], "from": "...", "subject": "...", "html": true},
//	 "states":  ["rolled-back", "timed-out", "failed"]}
//
// Both channels are optional; a zero ReceiverConfig notifies nobody.
type ReceiverConfig struct {
	Webhook *WebhookConfig `json:"webhook,omitempty"`
	Email   *EmailConfig   `json:"email,omitempty"`
	// States restricts the notifications to these final states; empty means every final state.
	States []State `json:"states,omitempty"`
}

// WebhookConfig is an outgoing JSON webhook.
type WebhookConfig struct {
	// URL receives the POST. User info in it is sent as Basic auth. It is never logged beyond scheme and host,
	// because tokens often live in the path or query.
	URL string `json:"url"`
	// Secret, when set, signs the body: X-Scale-Subscriber-Signature: sha256=<hex HMAC-SHA256 of the body>.
	Secret string `json:"secret,omitempty"`
	// Headers are added to the request (e.g. Authorization); their values are never logged.
	Headers map[string]string `json:"headers,omitempty"`
	// TimeoutSeconds bounds one attempt; default 10, at most 120.
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
}

// EmailConfig is an e-mail notification, sent through the server of SMTPConfig.
type EmailConfig struct {
	To []string `json:"to"`
	// From overrides SMTPConfig.From for this receiver.
	From string `json:"from,omitempty"`
	// Subject is a text/template over Message; default DefaultSubject.
	Subject string `json:"subject,omitempty"`
	// HTML adds an HTML alternative to the text body.
	HTML bool `json:"html,omitempty"`
}

// ParseReceiverConfig decodes and validates a receiver's notify member. Unknown members are refused so that a
// typo ("secert") is an error rather than an unsigned webhook.
func ParseReceiverConfig(data []byte) (ReceiverConfig, error) {
	var c ReceiverConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return ReceiverConfig{}, fmt.Errorf("decode notify config: %w", err)
	}
	if dec.More() {
		return ReceiverConfig{}, errors.New("decode notify config: trailing data after the object")
	}
	if err := c.Validate(); err != nil {
		return ReceiverConfig{}, err
	}
	return c, nil
}

// Empty reports whether c notifies nobody.
func (c ReceiverConfig) Empty() bool { return c.Webhook == nil && c.Email == nil }

// Wants reports whether a notification for state s is to be sent.
func (c ReceiverConfig) Wants(s State) bool {
	return !c.Empty() && (len(c.States) == 0 || slices.Contains(c.States, s))
}

// Validate reports the first problem of c; the message names the member.
func (c ReceiverConfig) Validate() error {
	for _, s := range c.States {
		if !s.Valid() {
			return fmt.Errorf("notify.states: %q is not a final state (want one of %v)", s, States())
		}
	}
	if c.Webhook != nil {
		if err := c.Webhook.Validate(); err != nil {
			return fmt.Errorf("notify.webhook: %w", err)
		}
	}
	if c.Email != nil {
		if err := c.Email.Validate(); err != nil {
			return fmt.Errorf("notify.email: %w", err)
		}
	}
	return nil
}

// String describes c without its secrets, so that an accidental %v in a log line leaks nothing.
func (c ReceiverConfig) String() string {
	var parts []string
	if c.Webhook != nil {
		parts = append(parts, "webhook="+c.Webhook.String())
	}
	if c.Email != nil {
		parts = append(parts, fmt.Sprintf("email=%v", c.Email.To))
	}
	if len(c.States) > 0 {
		parts = append(parts, fmt.Sprintf("states=%v", c.States))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// reservedHeaders are set by the sender; a configured header must not replace them.
func reservedHeaders() []string {
	return []string{"Content-Type", "Content-Length", "Host", "User-Agent", "Transfer-Encoding",
		SignatureHeader, DeliveryHeader, EventHeader}
}

// Validate reports the first problem of c.
func (c WebhookConfig) Validate() error {
	if c.URL == "" {
		return errors.New("url is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		// url.Parse's error repeats the URL, which may hold a token.
		return errors.New("url is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url must be http or https, not %q", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("url has no host")
	}
	if c.TimeoutSeconds < 0 || time.Duration(c.TimeoutSeconds)*time.Second > MaxWebhookTimeout {
		return fmt.Errorf("timeoutSeconds must be between 0 (default %v) and %d",
			DefaultWebhookTimeout, int(MaxWebhookTimeout/time.Second))
	}
	if len(c.Headers) > MaxWebhookHeaders {
		return fmt.Errorf("at most %d headers", MaxWebhookHeaders)
	}
	for name, value := range c.Headers {
		if !validHeaderName(name) {
			return fmt.Errorf("header name %q is not valid", name)
		}
		for _, r := range reservedHeaders() {
			if http.CanonicalHeaderKey(name) == http.CanonicalHeaderKey(r) {
				return fmt.Errorf("header %q is set by scale-subscriber and cannot be configured", name)
			}
		}
		if !validHeaderValue(value) {
			// The value is a secret more often than not: name the header only.
			return fmt.Errorf("value of header %q is not valid (control characters?)", name)
		}
	}
	return nil
}

// timeout is the bound of one attempt.
func (c WebhookConfig) timeout() time.Duration {
	if c.TimeoutSeconds == 0 {
		return DefaultWebhookTimeout
	}
	return time.Duration(c.TimeoutSeconds) * time.Second
}

// String describes c without its secret, header values or the URL's path and query.
func (c WebhookConfig) String() string {
	s := redactURL(c.URL)
	if c.Secret != "" {
		s += " signed"
	}
	if len(c.Headers) > 0 {
		names := make([]string, 0, len(c.Headers))
		for n := range c.Headers {
			names = append(names, n)
		}
		slices.Sort(names)
		s += " headers=" + strings.Join(names, ",")
	}
	return s
}

// Validate reports the first problem of c.
func (c EmailConfig) Validate() error {
	if len(c.To) == 0 {
		return errors.New("to needs at least one address")
	}
	if len(c.To) > MaxRecipients {
		return fmt.Errorf("to has %d addresses, at most %d", len(c.To), MaxRecipients)
	}
	for i, a := range c.To {
		if _, err := parseAddress(a); err != nil {
			return fmt.Errorf("to[%d]: %w", i, err)
		}
	}
	if c.From != "" {
		if _, err := parseAddress(c.From); err != nil {
			return fmt.Errorf("from: %w", err)
		}
	}
	if _, err := subjectTemplate(c.Subject); err != nil {
		return fmt.Errorf("subject: %w", err)
	}
	return nil
}

// parseAddress accepts one RFC 5322 address ("Ops <ops@example.com>" or "ops@example.com").
func parseAddress(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an e-mail address: %w", s, err)
	}
	if strings.ContainsAny(a.Address, "\r\n<>") {
		return nil, fmt.Errorf("%q is not an e-mail address", s)
	}
	return a, nil
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r > 0x7e || !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' ||
			strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether value holds no control character but tab (no CR/LF header injection).
func validHeaderValue(value string) bool {
	for _, r := range value {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}
