package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpClient makes one SMTP transaction per call. It holds the resolved config and the TLS config built once.
type smtpClient struct {
	cfg SMTPConfig
	tls *tls.Config
}

// addr is host:port of the server.
func (c *smtpClient) addr() string { return net.JoinHostPort(c.cfg.Host, strconv.Itoa(c.cfg.Port)) }

// send connects, protects the connection as configured, authenticates, and submits data from from to to. It
// is bounded by ctx: the deadline becomes every command's timeout and a cancellation closes the connection.
//
// Recipients: a temporary refusal (4xx) of any recipient aborts before DATA so a retry sends to all of them
// once; permanent refusals (5xx) of some recipients still deliver to the others, then report the refused
// ones as a permanent error (a retry would send duplicates to the accepted ones).
func (c *smtpClient) send(ctx context.Context, from string, to []string, data []byte) (err error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	// The client library knows nothing of contexts: closing the connection is what unblocks it.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer func() {
		if ctx.Err() != nil && err != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
	}()

	var client *smtp.Client
	if c.cfg.TLSMode == TLSStartTLS {
		client, err = smtp.NewClientStartTLS(conn, c.tls)
		if err != nil {
			_ = conn.Close()
			return classifySMTP("starttls", err)
		}
	} else {
		client = smtp.NewClient(conn)
	}
	defer client.Close()
	if deadline, ok := ctx.Deadline(); ok {
		client.CommandTimeout = time.Until(deadline)
		client.SubmissionTimeout = time.Until(deadline)
	}
	if err := client.Hello(c.cfg.HeloName); err != nil {
		return classifySMTP("ehlo", err)
	}
	if c.cfg.Username != "" {
		if err := c.auth(client); err != nil {
			return err
		}
	}

	if err := client.Mail(from, nil); err != nil {
		return classifySMTP("mail from", err)
	}
	var refused []string
	for _, rcpt := range to {
		err := client.Rcpt(rcpt, nil)
		if err == nil {
			continue
		}
		var se *smtp.SMTPError
		if errors.As(err, &se) && se.Code >= 500 {
			refused = append(refused, fmt.Sprintf("%s (%d %s)", rcpt, se.Code, se.Message))
			continue
		}
		return classifySMTP("rcpt to "+rcpt, err)
	}
	if len(refused) == len(to) {
		return permanent(fmt.Errorf("smtp: every recipient refused: %s", strings.Join(refused, "; ")))
	}
	w, err := client.Data()
	if err != nil {
		return classifySMTP("data", err)
	}
	if _, err := w.Write(data); err != nil {
		return classifySMTP("write data", err)
	}
	if err := w.Close(); err != nil {
		return classifySMTP("end data", err)
	}
	// The message is accepted at this point; a failed QUIT changes nothing for the recipients.
	_ = client.Quit()
	if len(refused) > 0 {
		return permanent(fmt.Errorf("smtp: delivered to %d of %d recipients; refused: %s",
			len(to)-len(refused), len(to), strings.Join(refused, "; ")))
	}
	return nil
}

// dial opens the TCP (or, in TLSImplicit mode, TLS) connection.
func (c *smtpClient) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if c.cfg.TLSMode == TLSImplicit {
		conn, err := (&tls.Dialer{NetDialer: d, Config: c.tls}).DialContext(ctx, "tcp", c.addr())
		if err != nil {
			return nil, classifySMTP("connect (tls) to "+c.addr(), err)
		}
		return conn, nil
	}
	conn, err := d.DialContext(ctx, "tcp", c.addr())
	if err != nil {
		return nil, classifySMTP("connect to "+c.addr(), err)
	}
	return conn, nil
}

// auth authenticates with the configured or the best offered mechanism.
func (c *smtpClient) auth(client *smtp.Client) error {
	ok, offered := client.Extension("AUTH")
	if !ok {
		return permanent(errors.New("smtp: credentials configured but the server offers no AUTH"))
	}
	mech := c.cfg.AuthMechanism
	if mech == "" {
		switch {
		case client.SupportsAuth(sasl.Plain):
			mech = sasl.Plain
		case client.SupportsAuth(sasl.Login):
			mech = sasl.Login
		default:
			return permanent(fmt.Errorf("smtp: server offers AUTH %s, none of PLAIN, LOGIN", offered))
		}
	}
	var sc sasl.Client
	if mech == sasl.Login {
		sc = sasl.NewLoginClient(c.cfg.Username, c.cfg.Password)
	} else {
		sc = sasl.NewPlainClient("", c.cfg.Username, c.cfg.Password)
	}
	if err := client.Auth(sc); err != nil {
		return classifySMTP("auth "+mech+" as "+c.cfg.Username, err)
	}
	return nil
}

// classifySMTP wraps err with the step that failed and marks it permanent when retrying cannot help: a 5xx
// reply (refused sender, bad credentials) or a TLS certificate problem. 4xx replies and network errors stay
// retryable.
func classifySMTP(step string, err error) error {
	wrapped := fmt.Errorf("smtp %s: %w", step, err)
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		if se.Code >= 500 {
			return permanent(wrapped)
		}
		return wrapped
	}
	// go-smtp reports a server without STARTTLS with a plain errors.New, so its text is all there is to match;
	// that server will not grow STARTTLS between our retries.
	if isPermanent(err) || strings.Contains(err.Error(), "doesn't support STARTTLS") {
		return permanent(wrapped)
	}
	return wrapped
}
