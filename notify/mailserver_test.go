package notify

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

// receivedMail is one message the test server accepted.
type receivedMail struct {
	From     string
	To       []string
	Data     []byte
	AuthUser string
	AuthMech string
	TLS      bool
}

// mailServer is a real SMTP server (go-smtp) on 127.0.0.1:0 for one test.
type mailServer struct {
	host string
	port int
	// user and pass, when set, are required before MAIL FROM.
	user, pass string
	// refuse lists recipients answered with 550.
	refuse map[string]bool

	got          chan receivedMail
	authAttempts atomic.Int32
	sessions     atomic.Int32
}

// mailServerOptions configures startMailServer.
type mailServerOptions struct {
	mode       TLSMode
	tls        *tls.Config // required for starttls and tls; with none and set, STARTTLS is offered anyway
	user, pass string
	refuse     []string
}

func startMailServer(t *testing.T, o mailServerOptions) *mailServer {
	t.Helper()
	ms := &mailServer{user: o.user, pass: o.pass, refuse: map[string]bool{}, got: make(chan receivedMail, 16)}
	for _, r := range o.refuse {
		ms.refuse[r] = true
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ms.sessions.Add(1)
		return &mailSession{ms: ms, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = waitTimeout
	srv.WriteTimeout = waitTimeout
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.AllowInsecureAuth = o.mode == TLSNone

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	switch o.mode {
	case TLSStartTLS:
		srv.TLSConfig = o.tls
	case TLSImplicit:
		l = tls.NewListener(l, o.tls)
	}
	tcp, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("listener address %v is not TCP", l.Addr())
	}
	ms.host, ms.port = "127.0.0.1", tcp.Port

	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close smtp server: %v", err)
		}
		if err := simtest.Recv(t, served, waitTimeout, "smtp server to stop"); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			t.Errorf("smtp server: %v", err)
		}
	})
	return ms
}

// config returns a client config for this server.
func (ms *mailServer) config(mode TLSMode, caPEM []byte) SMTPConfig {
	return SMTPConfig{
		Host: ms.host, Port: ms.port, TLSMode: mode, Username: ms.user, Password: ms.pass,
		CAPEM: string(caPEM), From: "Scale Subscriber <scale@example.com>", Timeout: 5 * time.Second,
		AllowInsecureAuth: mode == TLSNone && ms.user != "",
	}
}

// mailSession is one SMTP session of mailServer.
type mailSession struct {
	ms   *mailServer
	conn *smtp.Conn

	mu       sync.Mutex
	authUser string
	authMech string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*mailSession)(nil)

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (s *mailSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		s.ms.authAttempts.Add(1)
		if user != s.ms.user || pass != s.ms.pass {
			return smtp.ErrAuthFailed
		}
		s.mu.Lock()
		s.authUser, s.authMech = user, mech
		s.mu.Unlock()
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ms.user != "" && s.authUser == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.ms.refuse[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.to = append(s.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.mu.Lock()
	m := receivedMail{From: s.from, To: append([]string(nil), s.to...), Data: data, AuthUser: s.authUser,
		AuthMech: s.authMech, TLS: isTLS}
	s.mu.Unlock()
	select {
	case s.ms.got <- m:
		return nil
	default:
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "test mailbox full"}
	}
}

func (s *mailSession) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.from, s.to = "", nil
}

func (s *mailSession) Logout() error { return nil }

// loginServer is the server side of SASL LOGIN (go-sasl ships only the client): username, then password.
type loginServer struct {
	check    func(user, pass string) error
	user     string
	gotUser  bool
	finished bool
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch {
	case l.finished:
		return nil, false, sasl.ErrUnexpectedClientResponse
	case !l.gotUser && response == nil:
		return []byte("Username:"), false, nil
	case !l.gotUser:
		l.user, l.gotUser = string(response), true
		return []byte("Password:"), false, nil
	}
	l.finished = true
	if err := l.check(l.user, string(response)); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}
