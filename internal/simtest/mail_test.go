package simtest

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The mail server refuses MAIL FROM before AUTH, a wrong password and a refused recipient, and hands the test
// what it accepted, with who logged in and how.
func TestMailServerAuthRefusalAndDelivery(t *testing.T) {
	ms := StartMailServer(t, MailOptions{User: "mailer", Pass: "right", Refuse: []string{"gone@example.com"}})
	send := func(auth sasl.Client, to string) error {
		c, err := smtp.Dial(net.JoinHostPort(ms.Host, strconv.Itoa(ms.Port)))
		if err != nil {
			return err
		}
		defer func() { _ = c.Close() }()
		if auth != nil {
			if err := c.Auth(auth); err != nil {
				return err
			}
		}
		return c.SendMail("scale@example.com", []string{to}, strings.NewReader("Subject: hi\r\n\r\nthe body\r\n"))
	}
	if err := send(nil, "ops@example.com"); err == nil || !strings.Contains(err.Error(), "authenticate first") {
		t.Errorf("send without AUTH: %v, want a refusal asking to authenticate first", err)
	}
	if err := send(sasl.NewPlainClient("", "mailer", "wrong"), "ops@example.com"); err == nil ||
		!strings.Contains(err.Error(), "535") {
		t.Errorf("send with a wrong password: %v, want a 535 refusal", err)
	}
	if err := send(sasl.NewPlainClient("", "mailer", "right"), "gone@example.com"); err == nil ||
		!strings.Contains(err.Error(), "550") {
		t.Errorf("send to a refused recipient: %v, want a 550 refusal", err)
	}
	if err := send(sasl.NewLoginClient("mailer", "right"), "ops@example.com"); err != nil {
		t.Fatalf("send with LOGIN: %v", err)
	}
	m := ms.Next(t)
	if m.From != "scale@example.com" || strings.Join(m.To, ",") != "ops@example.com" || m.AuthUser != "mailer" ||
		m.AuthMech != sasl.Login || m.TLS || !strings.Contains(string(m.Data), "the body") {
		t.Errorf("accepted %+v, want the LOGIN message to ops@ in clear text", m)
	}
	select {
	case m := <-ms.Got:
		t.Errorf("a refused message was delivered: %+v", m)
	default:
	}
	if n := ms.AuthAttempts(); n != 3 {
		t.Errorf("AuthAttempts = %d, want 3 (wrong, then right twice)", n)
	}
}

// RefuseAuth refuses the first right logins, so a sender's retry can be seen succeeding; Delivered counts what
// was accepted even when the test does not take it from Got.
func TestMailServerRefusesFirstLogins(t *testing.T) {
	ms := StartMailServer(t, MailOptions{User: "mailer", Pass: "right", RefuseAuth: 1})
	send := func() error {
		c, err := smtp.Dial(net.JoinHostPort(ms.Host, strconv.Itoa(ms.Port)))
		if err != nil {
			return err
		}
		defer func() { _ = c.Close() }()
		if err := c.Auth(sasl.NewPlainClient("", "mailer", "right")); err != nil {
			return err
		}
		return c.SendMail("scale@example.com", []string{"ops@example.com"}, strings.NewReader("Subject: hi\r\n\r\nx\r\n"))
	}
	if err := send(); err == nil || !strings.Contains(err.Error(), "535") {
		t.Errorf("first send with the right password: %v, want a 535 refusal", err)
	}
	if ms.Delivered() != 0 {
		t.Errorf("Delivered = %d after a refused login, want 0", ms.Delivered())
	}
	if err := send(); err != nil {
		t.Fatalf("second send: %v", err)
	}
	if ms.Delivered() != 1 || ms.AuthAttempts() != 2 {
		t.Errorf("Delivered = %d, AuthAttempts = %d, want 1 and 2", ms.Delivered(), ms.AuthAttempts())
	}
}
