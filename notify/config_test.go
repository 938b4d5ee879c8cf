package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseReceiverConfig(t *testing.T) {
	c, err := ParseReceiverConfig([]byte(`{
		"webhook": {"url": "https://hooks.example.com/x?token=1", "secret": "k", "headers": {"Authorization": "Bearer t"}, "timeoutSeconds": 5},
		"email": {"to": ["Ops <ops@example.com>", "dev@example.com"], "from": "deploy@example.com",
		          "subject": "{{.ReceiverName}} {{.StateText}}", "html": true},
		"states": ["rolled-back", "failed"]}`))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if c.Webhook == nil || c.Webhook.Secret != "k" || c.Webhook.timeout() != 5*time.Second ||
		c.Email == nil || len(c.Email.To) != 2 || !c.Email.HTML {
		t.Errorf("config = %+v", c)
	}
	if !c.Wants(StateFailed) || c.Wants(StateFinished) {
		t.Error("states filter not applied")
	}
	if (ReceiverConfig{}).Wants(StateFailed) {
		t.Error("an empty config wants notifications")
	}
	if d := (&WebhookConfig{URL: "https://x"}).timeout(); d != DefaultWebhookTimeout {
		t.Errorf("default timeout = %v", d)
	}

	for _, tc := range []struct {
		name, json, want string
	}{
		{"typo", `{"webhook": {"url": "https://x", "secert": "k"}}`, `unknown field "secert"`},
		{"trailing", `{} {}`, "trailing data"},
		{"no url", `{"webhook": {}}`, "notify.webhook: url is required"},
		{"scheme", `{"webhook": {"url": "file:///etc/passwd"}}`, "must be http or https"},
		{"no host", `{"webhook": {"url": "http:///x"}}`, "url has no host"},
		{"timeout", `{"webhook": {"url": "https://x", "timeoutSeconds": 600}}`, "timeoutSeconds must be between"},
		{"reserved header", `{"webhook": {"url": "https://x", "headers": {"x-scale-subscriber-signature": "forged"}}}`, "cannot be configured"},
		{"header name", `{"webhook": {"url": "https://x", "headers": {"Bad Name": "v"}}}`, "header name"},
		{"header injection", `{"webhook": {"url": "https://x", "headers": {"X-A": "v\r\nX-B: w"}}}`, `value of header "X-A" is not valid`},
		{"no recipients", `{"email": {"to": []}}`, "notify.email: to needs at least one address"},
		{"bad recipient", `{"email": {"to": ["not an address"]}}`, "to[0]"},
		{"bad from", `{"email": {"to": ["a@example.com"], "from": "nope"}}`, "from:"},
		{"subject syntax", `{"email": {"to": ["a@example.com"], "subject": "{{.ReceiverName"}}`, "subject: parse template"},
		{"subject field", `{"email": {"to": ["a@example.com"], "subject": "{{.Nope}}"}}`, "subject: execute template"},
		{"state", `{"webhook": {"url": "https://x"}, "states": ["done"]}`, `notify.states: "done" is not a final state`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseReceiverConfig([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestWebhookURLNotInValidationErrors(t *testing.T) {
	_, err := ParseReceiverConfig([]byte(`{"webhook": {"url": "https://h/%zz-secret-token"}}`))
	if err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("err = %v, want a refusal that does not repeat the URL", err)
	}
}

func TestSMTPConfigValidate(t *testing.T) {
	base := SMTPConfig{Host: "smtp.example.com", From: "scale@example.com"}
	if err := base.Validate(); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	for mode, port := range map[TLSMode]int{"": 587, TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25} {
		c := base
		c.TLSMode = mode
		if got := c.withDefaults().Port; got != port {
			t.Errorf("default port for %q = %d, want %d", mode, got, port)
		}
	}
	for _, tc := range []struct {
		name string
		edit func(c *SMTPConfig)
		want string
	}{
		{"no host", func(c *SMTPConfig) { c.Host = "" }, "host is required"},
		{"url as host", func(c *SMTPConfig) { c.Host = "smtp://smtp.example.com" }, "bare host name"},
		{"port in host", func(c *SMTPConfig) { c.Host = "smtp.example.com:25" }, "bare host name"},
		{"port", func(c *SMTPConfig) { c.Port = 70000 }, "out of range"},
		{"mode", func(c *SMTPConfig) { c.TLSMode = "ssl" }, `tls mode "ssl" unknown`},
		{"mechanism", func(c *SMTPConfig) { c.Username, c.Password, c.AuthMechanism = "u", "p", "CRAM-MD5" }, "auth mechanism"},
		{"password alone", func(c *SMTPConfig) { c.Password = "p" }, "password set without username"},
		{"username alone", func(c *SMTPConfig) { c.Username = "u" }, "username set without password"},
		{"clear-text credentials", func(c *SMTPConfig) { c.TLSMode, c.Username, c.Password = TLSNone, "u", "p" }, "clear text"},
		{"two CAs", func(c *SMTPConfig) { c.CAFile, c.CAPEM = "/x", "y" }, "not both"},
		{"CA without TLS", func(c *SMTPConfig) { c.TLSMode, c.CAPEM = TLSNone, "y" }, "tls mode is none"},
		{"no from", func(c *SMTPConfig) { c.From = "" }, "from is required"},
		{"bad from", func(c *SMTPConfig) { c.From = "nobody" }, "from:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
	ok := base
	ok.TLSMode, ok.Username, ok.Password, ok.AllowInsecureAuth = TLSNone, "u", "p", true
	if err := ok.Validate(); err != nil {
		t.Errorf("clear-text credentials with AllowInsecureAuth: %v", err)
	}
	v6 := base
	v6.Host = "::1"
	if err := v6.Validate(); err != nil {
		t.Errorf("IPv6 host: %v", err)
	}
}

func TestNewEmailSenderLoadsTheCA(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := SMTPConfig{Host: "smtp.example.com", From: "scale@example.com"}
	for _, tc := range []struct {
		name string
		edit func(c *SMTPConfig)
		want string
	}{
		{"missing file", func(c *SMTPConfig) { c.CAFile = filepath.Join(dir, "missing.pem") }, "read ca file"},
		{"no certificate", func(c *SMTPConfig) { c.CAFile = notPEM }, "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			_, err := New(Options{SMTP: &c})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
	c := base
	c.CAPEM = string(newTestPKI(t).caPEM)
	if _, err := New(Options{SMTP: &c}); err != nil {
		t.Errorf("valid CA: %v", err)
	}
}

func TestCheckNeedsSMTPForEmail(t *testing.T) {
	without, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ReceiverConfig{Email: &EmailConfig{To: []string{"ops@example.com"}}}
	if err := without.Check(cfg); err == nil || !strings.Contains(err.Error(), "no SMTP server") {
		t.Errorf("check without SMTP = %v", err)
	}
	with, err := New(Options{SMTP: &SMTPConfig{Host: "smtp.example.com", From: "scale@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := with.Check(cfg); err != nil {
		t.Errorf("check with SMTP = %v", err)
	}
}

func TestSignatureVerification(t *testing.T) {
	body := []byte(`{"a":1}`)
	sig := Sign("k", body)
	for _, tc := range []struct {
		name, secret, header string
		body                 []byte
		want                 bool
	}{
		{"valid", "k", sig, body, true},
		{"other secret", "k2", sig, body, false},
		{"tampered body", "k", sig, []byte(`{"a":2}`), false},
		{"no prefix", "k", strings.TrimPrefix(sig, "sha256="), body, false},
		{"not hex", "k", "sha256=zz", body, false},
		{"empty", "k", "", body, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := VerifySignature(tc.secret, tc.body, tc.header); got != tc.want {
				t.Errorf("VerifySignature = %v, want %v", got, tc.want)
			}
		})
	}
}
