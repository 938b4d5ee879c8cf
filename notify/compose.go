package notify

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// composition is what composeEmail needs beyond the rendered bodies.
type composition struct {
	from      *mail.Address
	to        []*mail.Address
	subject   string
	messageID string
	date      time.Time
	// headers are extra X- headers (single-line values).
	headers []headerField
	text    string
	html    string // empty: text only
}

// composeEmail builds an RFC 5322 message: UTF-8 text (and optional HTML as multipart/alternative), quoted-
// printable so long lines and non-ASCII survive any relay, RFC 2047-encoded subject and display names. Lines
// end in CRLF.
func composeEmail(c composition) ([]byte, error) {
	to := make([]string, len(c.to))
	for i, a := range c.to {
		to[i] = a.String()
	}
	h := []headerField{
		{"From", c.from.String()},
		{"To", strings.Join(to, ", ")},
		{"Subject", mime.QEncoding.Encode("utf-8", c.subject)},
		{"Date", c.date.Format(time.RFC1123Z)},
		{"Message-ID", c.messageID},
		{"MIME-Version", "1.0"},
		// Tells auto-responders (vacation replies) not to answer.
		{"Auto-Submitted", "auto-generated"},
	}
	h = append(h, c.headers...)

	var buf bytes.Buffer
	if c.html == "" {
		h = append(h, headerField{"Content-Type", "text/plain; charset=utf-8"},
			headerField{"Content-Transfer-Encoding", "quoted-printable"})
		writeHeader(&buf, h)
		if err := writeQP(&buf, c.text); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct{ ctype, content string }{
		{"text/plain; charset=utf-8", c.text},
		{"text/html; charset=utf-8", c.html},
	} {
		ph := make(textproto.MIMEHeader)
		ph.Set("Content-Type", part.ctype)
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		w, err := mw.CreatePart(ph)
		if err != nil {
			return nil, fmt.Errorf("compose e-mail part: %w", err)
		}
		if err := writeQP(w, part.content); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("compose e-mail: %w", err)
	}
	h = append(h, headerField{"Content-Type", "multipart/alternative; boundary=" + mw.Boundary()})
	writeHeader(&buf, h)
	buf.Write(body.Bytes())
	return buf.Bytes(), nil
}

// headerField is one header line; a slice of them keeps the header block in a fixed, readable order.
type headerField struct{ name, value string }

func writeHeader(buf *bytes.Buffer, h []headerField) {
	for _, f := range h {
		fmt.Fprintf(buf, "%s: %s\r\n", f.name, f.value)
	}
	buf.WriteString("\r\n")
}

// writeQP writes s quoted-printable with CRLF line ends.
func writeQP(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(s)); err != nil {
		return fmt.Errorf("encode e-mail body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return fmt.Errorf("encode e-mail body: %w", err)
	}
	return nil
}
