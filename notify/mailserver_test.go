package notify

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

// mailServer is the shared test SMTP server (simtest.MailServer) with the client configuration that reaches it.
type mailServer struct {
	*simtest.MailServer
	user, pass string
}

// mailServerOptions configures startMailServer.
type mailServerOptions struct {
	mode       TLSMode
	tls        *tls.Config // required for starttls and tls
	user, pass string
	refuse     []string
}

// startMailServer runs simtest's SMTP server speaking o.mode: STARTTLS or implicit TLS with o.tls, or plain.
func startMailServer(t *testing.T, o mailServerOptions) *mailServer {
	t.Helper()
	so := simtest.MailOptions{User: o.user, Pass: o.pass, Refuse: o.refuse, Timeout: waitTimeout}
	switch o.mode {
	case TLSStartTLS:
		so.StartTLS = o.tls
	case TLSImplicit:
		so.ImplicitTLS = o.tls
	}
	return &mailServer{MailServer: simtest.StartMailServer(t, so), user: o.user, pass: o.pass}
}

// config returns a client config for this server.
func (ms *mailServer) config(mode TLSMode, caPEM []byte) SMTPConfig {
	return SMTPConfig{
		Host: ms.Host, Port: ms.Port, TLSMode: mode, Username: ms.user, Password: ms.pass,
		CAPEM: string(caPEM), From: "Scale Subscriber <scale@example.com>", Timeout: 5 * time.Second,
		AllowInsecureAuth: mode == TLSNone && ms.user != "",
	}
}
