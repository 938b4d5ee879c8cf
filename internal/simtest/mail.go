package simtest

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message a MailServer accepted.
type Mail struct {
	// From and To are the envelope (MAIL FROM, the accepted RCPT TOs); Data is the message as sent.
	From string
	To   []string
	Data []byte
	// AuthUser and AuthMech say who logged in and how ("" without AUTH); TLS whether the session was encrypted.
	AuthUser string
	AuthMech string
	TLS      bool
}

// MailOptions configures StartMailServer. The zero value is plain SMTP with no AUTH that accepts everything.
type MailOptions struct {
	// StartTLS, when set, is offered through STARTTLS; ImplicitTLS, when set, is spoken from the first byte
	// (SMTPS). Set at most one. Without either, AUTH is allowed in clear text.
	StartTLS, ImplicitTLS *tls.Config
	// User and Pass, when User is set, must log in (PLAIN or LOGIN) before MAIL FROM.
	User, Pass string
	// RefuseAuth is how many first AUTH attempts are refused even with the right credentials: a sender's
	// retry after a failed login can then be seen succeeding.
	RefuseAuth int
	// Refuse lists recipients answered with 550.
	Refuse []string
	// Timeout bounds each read and write of a session and the server's stop (DefaultTimeout when zero).
	Timeout time.Duration
	// Mailbox is how many accepted messages may wait for the test (16 when zero); a message past it is
	// answered 452, so a sender that loops shows as an error rather than a hang.
	Mailbox int
}

// MailServer is a real SMTP server (go-smtp) on 127.0.0.1, a port the kernel picks, for one test.
type MailServer struct {
	Host string
	Port int
	// Got receives each accepted message.
	Got <-chan Mail

	got          chan Mail
	opts         MailOptions
	authAttempts atomic.Int32
	delivered    atomic.Int32
}

// StartMailServer serves SMTP until the test ends; the cleanup closes the server and waits (bounded) for it.
func StartMailServer(tb testing.TB, o MailOptions) *MailServer {
	tb.Helper()
	if o.StartTLS != nil && o.ImplicitTLS != nil {
		tb.Fatal("simtest.MailOptions: set StartTLS or ImplicitTLS, not both")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Mailbox <= 0 {
		o.Mailbox = 16
	}
	ms := &MailServer{Host: "127.0.0.1", got: make(chan Mail, o.Mailbox), opts: o}
	ms.Got = ms.got
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mailSession{ms: ms, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = o.Timeout
	srv.WriteTimeout = o.Timeout
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.AllowInsecureAuth = o.StartTLS == nil && o.ImplicitTLS == nil
	srv.TLSConfig = o.StartTLS

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen for smtp: %v", err)
	}
	tcp, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		_ = l.Close()
		tb.Fatalf("smtp listener address %v is not TCP", l.Addr())
	}
	ms.Port = tcp.Port
	if o.ImplicitTLS != nil {
		l = tls.NewListener(l, o.ImplicitTLS)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	tb.Cleanup(func() {
		if err := srv.Close(); err != nil {
			tb.Errorf("close smtp server: %v", err)
		}
		timer := time.NewTimer(o.Timeout)
		defer timer.Stop()
		select {
		case err := <-served:
			if err != nil && !errors.Is(err, smtp.ErrServerClosed) {
				tb.Errorf("smtp server: %v", err)
			}
		case <-timer.C:
			tb.Errorf("smtp server did not stop within %s", o.Timeout)
		}
	})
	return ms
}

// Next waits for the next accepted message, failing the test without one within the server's timeout.
func (ms *MailServer) Next(tb testing.TB) Mail {
	tb.Helper()
	return Recv(tb, ms.Got, ms.opts.Timeout, "e-mail")
}

// AuthAttempts counts the credentials checked so far (right or wrong).
func (ms *MailServer) AuthAttempts() int { return int(ms.authAttempts.Load()) }

// Delivered counts the messages accepted so far, whether or not the test took them from Got.
func (ms *MailServer) Delivered() int { return int(ms.delivered.Load()) }

// mailSession is one SMTP session of a MailServer.
type mailSession struct {
	ms   *MailServer
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
		n := int(s.ms.authAttempts.Add(1))
		if n <= s.ms.opts.RefuseAuth || s.ms.opts.User == "" || user != s.ms.opts.User || pass != s.ms.opts.Pass {
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
	if s.ms.opts.User != "" && s.authUser == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if slices.Contains(s.ms.opts.Refuse, to) {
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
	m := Mail{From: s.from, To: slices.Clone(s.to), Data: data, AuthUser: s.authUser, AuthMech: s.authMech,
		TLS: isTLS}
	s.mu.Unlock()
	select {
	case s.ms.got <- m:
		s.ms.delivered.Add(1)
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
