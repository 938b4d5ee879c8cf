package notify

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

// parsedMail is a received message decoded for assertions.
type parsedMail struct {
	header mail.Header
	// subject is the decoded Subject.
	subject string
	text    string
	html    string
}

func parseMail(t *testing.T, data []byte) parsedMail {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	p := parsedMail{header: m.Header, subject: subject}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type: %v", err)
	}
	readQP := func(r io.Reader) string {
		b, err := io.ReadAll(quotedprintable.NewReader(r))
		if err != nil {
			t.Fatalf("decode quoted-printable: %v", err)
		}
		return string(b)
	}
	switch mediaType {
	case "text/plain":
		p.text = readQP(m.Body)
	case "multipart/alternative":
		mr := multipart.NewReader(m.Body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("next part: %v", err)
			}
			switch ct := part.Header.Get("Content-Type"); {
			case strings.HasPrefix(ct, "text/plain"):
				p.text = readQP(part)
			case strings.HasPrefix(ct, "text/html"):
				p.html = readQP(part)
			default:
				t.Fatalf("unexpected part %q", ct)
			}
		}
	default:
		t.Fatalf("unexpected content type %q", mediaType)
	}
	return p
}

func TestEmailDeliveredInEveryTLSMode(t *testing.T) {
	pki := newTestPKI(t)
	for _, tc := range []struct {
		name string
		mode TLSMode
		mech string // "" lets the client choose (PLAIN when offered)
		html bool
	}{
		{"plain with PLAIN", TLSNone, "", false},
		{"starttls with LOGIN", TLSStartTLS, "LOGIN", true},
		{"implicit tls with PLAIN", TLSImplicit, "PLAIN", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := startMailServer(t, mailServerOptions{mode: tc.mode, tls: pki.server, user: "mailer", pass: "mail-pass-123"})
			cfg := ms.config(tc.mode, nil)
			if tc.mode != TLSNone {
				// The CA goes through a file, as main will pass it.
				caFile := filepath.Join(t.TempDir(), "ca.pem")
				if err := os.WriteFile(caFile, pki.caPEM, 0o600); err != nil {
					t.Fatal(err)
				}
				cfg.CAFile = caFile
			}
			cfg.AuthMechanism = tc.mech
			n, res, _, _, _ := newTestNotifier(t, Options{SMTP: &cfg})
			runNotifier(t, n)

			rc := ReceiverConfig{Email: &EmailConfig{To: []string{"Ops Team <ops@example.com>", "dev@example.com"}, HTML: tc.html}}
			if err := n.Notify(rc, testMessage("x21")); err != nil {
				t.Fatalf("notify: %v", err)
			}
			got := simtest.Recv(t, ms.Got, waitTimeout, "the e-mail")
			r := res.next(t)
			if r.Err != nil || r.Attempts != 1 || r.Channel != ChannelEmail {
				t.Fatalf("result = %+v", r)
			}

			if got.TLS != (tc.mode != TLSNone) {
				t.Errorf("TLS = %v for mode %s", got.TLS, tc.mode)
			}
			wantMech := tc.mech
			if wantMech == "" {
				wantMech = "PLAIN"
			}
			if got.AuthUser != "mailer" || got.AuthMech != wantMech {
				t.Errorf("authenticated as %q with %q, want mailer with %s", got.AuthUser, got.AuthMech, wantMech)
			}
			if got.From != "scale@example.com" || strings.Join(got.To, ",") != "ops@example.com,dev@example.com" {
				t.Errorf("envelope from %q to %v", got.From, got.To)
			}

			p := parseMail(t, got.Data)
			if p.subject != "[scale-subscriber] web-push: rolled back docker.io/library/nginx:1.14.1" {
				t.Errorf("subject = %q", p.subject)
			}
			if from := p.header.Get("From"); from != `"Scale Subscriber" <scale@example.com>` {
				t.Errorf("From = %q", from)
			}
			if to := p.header.Get("To"); to != `"Ops Team" <ops@example.com>, <dev@example.com>` {
				t.Errorf("To = %q", to)
			}
			if id := p.header.Get("Message-ID"); id != "<"+r.DeliveryID+"@example.com>" {
				t.Errorf("Message-ID = %q, want one derived from delivery %s", id, r.DeliveryID)
			}
			if p.header.Get("X-Scale-Subscriber-Execution") != "x21" || p.header.Get("Auto-Submitted") != "auto-generated" {
				t.Errorf("headers = %v", p.header)
			}
			for _, want := range []string{
				"Receiver web-push (1go4, serviceUpgrade): rolled back.",
				"Reason: 2 of 3 new containers unhealthy after 60s",
				"Image: docker.io/library/nginx:1.14.0 -> docker.io/library/nginx:1.14.1",
				"prod/web (1s5): rolled back, docker.io/library/nginx:1.14.0 -> docker.io/library/nginx:1.14.1",
				"Queued 12ms, ran 1m1.25s.",
				"Execution: x21",
				"2024-05-01 12:00:00 UTC  upgrade started: batch 1 of 1",
			} {
				if !strings.Contains(p.text, want) {
					t.Errorf("text body lacks %q:\n%s", want, p.text)
				}
			}
			if tc.html != (p.html != "") {
				t.Errorf("html part present = %v, want %v", p.html != "", tc.html)
			}
			if tc.html && !strings.Contains(p.html, "<b>rolled back</b>") {
				t.Errorf("html body lacks the state:\n%s", p.html)
			}
		})
	}
}

func TestEmailWrongPasswordIsPermanent(t *testing.T) {
	pki := newTestPKI(t)
	ms := startMailServer(t, mailServerOptions{mode: TLSImplicit, tls: pki.server, user: "mailer", pass: "right"})
	cfg := ms.config(TLSImplicit, pki.caPEM)
	cfg.Password = "wrong-password-xyz"
	n, res, logs, _, _ := newTestNotifier(t, Options{SMTP: &cfg, MaxAttempts: 4})
	runNotifier(t, n)

	if err := n.Notify(ReceiverConfig{Email: &EmailConfig{To: []string{"ops@example.com"}}}, testMessage("x22")); err != nil {
		t.Fatalf("notify: %v", err)
	}
	r := res.next(t)
	if r.Err == nil || r.Attempts != 1 || !isPermanent(r.Err) || !strings.Contains(r.Err.Error(), "535") {
		t.Fatalf("result = %+v, want one permanent 535 failure", r)
	}
	if a := ms.AuthAttempts(); a != 1 {
		t.Errorf("auth attempts = %d, want 1", a)
	}
	if leaked := containsAny(logs.String(), "wrong-password-xyz"); leaked != "" {
		t.Errorf("log leaks the password:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "notification failed, giving up") {
		t.Errorf("log lacks the failure:\n%s", logs.String())
	}
}

func TestEmailUntrustedCertificateIsPermanent(t *testing.T) {
	serverPKI, otherPKI := newTestPKI(t), newTestPKI(t)
	for _, mode := range []TLSMode{TLSStartTLS, TLSImplicit} {
		t.Run(string(mode), func(t *testing.T) {
			ms := startMailServer(t, mailServerOptions{mode: mode, tls: serverPKI.server})
			cfg := ms.config(mode, otherPKI.caPEM)
			n, res, _, _, _ := newTestNotifier(t, Options{SMTP: &cfg, MaxAttempts: 4})
			runNotifier(t, n)

			if err := n.Notify(ReceiverConfig{Email: &EmailConfig{To: []string{"ops@example.com"}}}, testMessage("x23")); err != nil {
				t.Fatalf("notify: %v", err)
			}
			r := res.next(t)
			if r.Err == nil || r.Attempts != 1 || !isPermanent(r.Err) || !strings.Contains(r.Err.Error(), "certificate") {
				t.Fatalf("result = %+v, want one permanent certificate failure", r)
			}
			select {
			case m := <-ms.Got:
				t.Errorf("a mail went through an untrusted connection: %+v", m)
			default:
			}
		})
	}
}

func TestEmailStartTLSNeverDowngrades(t *testing.T) {
	ms := startMailServer(t, mailServerOptions{mode: TLSNone}) // offers no STARTTLS
	cfg := ms.config(TLSStartTLS, nil)
	n, res, _, _, _ := newTestNotifier(t, Options{SMTP: &cfg, MaxAttempts: 4})
	runNotifier(t, n)

	if err := n.Notify(ReceiverConfig{Email: &EmailConfig{To: []string{"ops@example.com"}}}, testMessage("x24")); err != nil {
		t.Fatalf("notify: %v", err)
	}
	r := res.next(t)
	if r.Err == nil || r.Attempts != 1 || !isPermanent(r.Err) || !strings.Contains(r.Err.Error(), "STARTTLS") {
		t.Fatalf("result = %+v, want a permanent STARTTLS failure", r)
	}
	select {
	case m := <-ms.Got:
		t.Errorf("a mail went out in clear text: %+v", m)
	default:
	}
}

func TestEmailServerDownRetriedThenLogged(t *testing.T) {
	addr := freeClosedAddr(t)
	host, port := splitHostPort(t, addr)
	cfg := SMTPConfig{Host: host, Port: port, TLSMode: TLSNone, From: "scale@example.com"}
	n, res, logs, _, metric := newTestNotifier(t, Options{SMTP: &cfg, MaxAttempts: 3})
	runNotifier(t, n)

	if err := n.Notify(ReceiverConfig{Email: &EmailConfig{To: []string{"ops@example.com"}}}, testMessage("x25")); err != nil {
		t.Fatalf("notify: %v", err)
	}
	r := res.next(t)
	if r.Err == nil || r.Attempts != 3 || isPermanent(r.Err) {
		t.Fatalf("result = %+v, want 3 retryable failures", r)
	}
	if v := metric("scale_subscriber_notifications_total", map[string]string{"channel": "email", "result": "failed"}); v != 1 {
		t.Errorf("failed metric = %v, want 1", v)
	}
	if !containsAll(logs.String(), "notification attempt failed, will retry", "notification failed, giving up", "channel=email") {
		t.Errorf("log lacks the retries and the failure:\n%s", logs.String())
	}
}

func TestEmailRefusedRecipientDoesNotStopTheOthers(t *testing.T) {
	ms := startMailServer(t, mailServerOptions{mode: TLSNone, refuse: []string{"gone@example.com"}})
	cfg := ms.config(TLSNone, nil)
	n, res, _, _, _ := newTestNotifier(t, Options{SMTP: &cfg, MaxAttempts: 4})
	runNotifier(t, n)

	rc := ReceiverConfig{Email: &EmailConfig{To: []string{"gone@example.com", "ops@example.com"}}}
	if err := n.Notify(rc, testMessage("x26")); err != nil {
		t.Fatalf("notify: %v", err)
	}
	got := simtest.Recv(t, ms.Got, waitTimeout, "the e-mail")
	if strings.Join(got.To, ",") != "ops@example.com" {
		t.Errorf("delivered to %v, want the accepted recipient only", got.To)
	}
	r := res.next(t)
	if r.Err == nil || r.Attempts != 1 || !isPermanent(r.Err) ||
		!containsAll(r.Err.Error(), "delivered to 1 of 2", "gone@example.com", "550") {
		t.Fatalf("result = %+v, want a permanent partial failure naming the refused recipient", r)
	}
}

func TestEmailSubjectTemplateAndHeaderSafety(t *testing.T) {
	ms := startMailServer(t, mailServerOptions{mode: TLSNone})
	cfg := ms.config(TLSNone, nil)
	n, res, _, _, _ := newTestNotifier(t, Options{SMTP: &cfg})
	runNotifier(t, n)

	msg := testMessage("x27")
	msg.ReceiverName = "web\r\nBcc: victim@example.com"
	msg.State = StateFinished
	rc := ReceiverConfig{Email: &EmailConfig{
		To:      []string{"ops@example.com"},
		From:    "Déploiement <deploy@example.org>",
		Subject: "{{.StateText}} · {{.ReceiverName}} · {{len .Services}} service(s)",
	}}
	if err := n.Notify(rc, msg); err != nil {
		t.Fatalf("notify: %v", err)
	}
	got := simtest.Recv(t, ms.Got, waitTimeout, "the e-mail")
	if r := res.next(t); r.Err != nil {
		t.Fatalf("result = %+v", r)
	}
	head, _, _ := bytes.Cut(got.Data, []byte("\r\n\r\n"))
	for _, c := range head {
		if c >= 0x80 {
			t.Fatalf("raw 8-bit byte in the header block (want RFC 2047 encoded words):\n%s", head)
		}
	}
	p := parseMail(t, got.Data)
	if p.subject != "finished · web Bcc: victim@example.com · 1 service(s)" {
		t.Errorf("subject = %q", p.subject)
	}
	if p.header.Get("Bcc") != "" {
		t.Errorf("a header was injected: Bcc = %q", p.header.Get("Bcc"))
	}
	if got.From != "deploy@example.org" {
		t.Errorf("envelope from = %q, want the receiver's override", got.From)
	}
	from, err := new(mime.WordDecoder).DecodeHeader(p.header.Get("From"))
	if err != nil || !strings.Contains(from, "Déploiement") {
		t.Errorf("From = %q (%v), want the encoded display name", p.header.Get("From"), err)
	}
}
