package notify

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"text/template"
	"time"
)

// EmailSender sends notifications as e-mail through one SMTP server. It is safe for concurrent use.
type EmailSender struct {
	smtp smtpClient
	from *mail.Address
	text *template.Template
	html *htmltemplate.Template
	now  func() time.Time
}

// NewEmailSender validates cfg and loads its CA bundle. now (time.Now when nil) dates the messages.
func NewEmailSender(cfg SMTPConfig, now func() time.Time) (*EmailSender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	from, err := parseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from: %w", err)
	}
	text, html, err := bodyTemplates()
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &EmailSender{smtp: smtpClient{cfg: cfg, tls: tlsCfg}, from: from, text: text, html: html, now: now}, nil
}

// Server describes the SMTP server for log lines (no credentials).
func (s *EmailSender) Server() string { return s.smtp.addr() }

// Send makes one attempt to mail msg to cfg's recipients, bounded by the SMTP timeout and ctx. The
// Message-ID derives from deliveryID, so a retry after a lost reply is recognisable as the same message.
func (s *EmailSender) Send(ctx context.Context, cfg EmailConfig, deliveryID string, msg Message) error {
	data, from, to, err := s.compose(cfg, deliveryID, msg)
	if err != nil {
		return permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.smtp.cfg.Timeout)
	defer cancel()
	return s.smtp.send(ctx, from, to, data)
}

// compose renders the message for cfg and returns it with its envelope.
func (s *EmailSender) compose(cfg EmailConfig, deliveryID string, msg Message) (data []byte, from string, to []string, err error) {
	sender := s.from
	if cfg.From != "" {
		if sender, err = parseAddress(cfg.From); err != nil {
			return nil, "", nil, fmt.Errorf("compose e-mail: from: %w", err)
		}
	}
	var rcpts []*mail.Address
	for i, a := range cfg.To {
		addr, err := parseAddress(a)
		if err != nil {
			return nil, "", nil, fmt.Errorf("compose e-mail: to[%d]: %w", i, err)
		}
		rcpts = append(rcpts, addr)
		to = append(to, addr.Address)
	}
	// Parsed per notification rather than cached: notifications are rare (one per execution) and parsing a
	// one-line template costs microseconds; it was already checked when the receiver was saved.
	subjectT, err := subjectTemplate(cfg.Subject)
	if err != nil {
		return nil, "", nil, fmt.Errorf("compose e-mail: subject: %w", err)
	}
	msg = msg.normalized()
	subject, err := renderSubject(subjectT, msg)
	if err != nil {
		return nil, "", nil, fmt.Errorf("compose e-mail: subject: %w", err)
	}
	var text, html bytes.Buffer
	if err := s.text.Execute(&text, msg); err != nil {
		return nil, "", nil, fmt.Errorf("compose e-mail: text body: %w", err)
	}
	if cfg.HTML {
		if err := s.html.Execute(&html, msg); err != nil {
			return nil, "", nil, fmt.Errorf("compose e-mail: html body: %w", err)
		}
	}
	data, err = composeEmail(composition{
		from:      sender,
		to:        rcpts,
		subject:   subject,
		messageID: "<" + deliveryID + "@" + domainOf(sender.Address) + ">",
		date:      s.now(),
		headers: []headerField{
			{"X-Scale-Subscriber-Execution", headerSafe(msg.ExecutionID)},
			{"X-Scale-Subscriber-State", string(msg.State)},
		},
		text: text.String(),
		html: html.String(),
	})
	if err != nil {
		return nil, "", nil, err
	}
	return data, sender.Address, to, nil
}

// domainOf is the domain of an addr-spec, for the Message-ID's right-hand side.
func domainOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			return addr[i+1:]
		}
	}
	return "scale-subscriber.invalid"
}

// headerSafe drops anything that could break a header line out of a value we did not write.
func headerSafe(s string) string {
	b := []rune{}
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			b = append(b, r)
		}
	}
	return string(b)
}
