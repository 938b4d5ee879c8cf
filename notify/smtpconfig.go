package notify

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
)

// TLSMode says how the connection to the SMTP server is protected.
type TLSMode string

// TLS modes.
const (
	// TLSNone: plain SMTP. Credentials are refused unless AllowInsecureAuth is set.
	TLSNone TLSMode = "none"
	// TLSStartTLS: plain connect, then STARTTLS before anything else; a server that does not offer STARTTLS is
	// an error, never a silent downgrade. The default.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit: TLS from the first byte (SMTPS, usually port 465).
	TLSImplicit TLSMode = "tls"
)

// Default ports per TLS mode and the default attempt timeout.
const (
	DefaultPortNone     = 25
	DefaultPortStartTLS = 587
	DefaultPortImplicit = 465
	DefaultSMTPTimeout  = 30 * time.Second
)

// SMTPConfig is the one SMTP server every receiver's e-mail goes through. main fills it from flags/env.
type SMTPConfig struct {
	Host string
	// Port defaults by TLSMode: 25, 587 or 465.
	Port int
	// TLSMode defaults to TLSStartTLS.
	TLSMode TLSMode
	// Username and Password enable SMTP AUTH. The password is never logged.
	Username string
	Password string
	// AuthMechanism is "PLAIN", "LOGIN" or empty: PLAIN when the server offers it, else LOGIN.
	AuthMechanism string
	// CAFile or CAPEM (one of them) is the PEM bundle the server certificate must chain to. When set it
	// replaces the system roots (like curl --cacert): an internal CA does not also trust the whole web PKI.
	CAFile string
	CAPEM  string
	// ServerName is the name the server certificate must carry; default Host.
	ServerName string
	// From is the default sender address; a receiver may override it.
	From string
	// HeloName is sent in EHLO; default "localhost". With STARTTLS the pre-TLS greeting always says
	// "localhost" (the client library sends it before we can), the post-TLS one says HeloName.
	HeloName string
	// Timeout bounds one delivery attempt, connect to QUIT; default 30s.
	Timeout time.Duration
	// AllowInsecureAuth permits credentials over TLSNone. Off by default: a password in clear text is
	// something to opt into, not to stumble into.
	AllowInsecureAuth bool
}

// withDefaults fills the defaulted fields.
func (c SMTPConfig) withDefaults() SMTPConfig {
	if c.TLSMode == "" {
		c.TLSMode = TLSStartTLS
	}
	if c.Port == 0 {
		switch c.TLSMode {
		case TLSNone:
			c.Port = DefaultPortNone
		case TLSImplicit:
			c.Port = DefaultPortImplicit
		default:
			c.Port = DefaultPortStartTLS
		}
	}
	if c.ServerName == "" {
		c.ServerName = c.Host
	}
	if c.HeloName == "" {
		c.HeloName = "localhost"
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultSMTPTimeout
	}
	c.AuthMechanism = strings.ToUpper(c.AuthMechanism)
	return c
}

// Validate reports the first problem of c (after defaults); it does not read CAFile.
func (c SMTPConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Host == "":
		return errors.New("smtp: host is required")
	case strings.ContainsAny(c.Host, " /@[]\r\n") || strings.Contains(c.Host, ":") && net.ParseIP(c.Host) == nil:
		return fmt.Errorf("smtp: host %q must be a bare host name or address (no scheme, port or brackets)", c.Host)
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("smtp: port %d out of range", c.Port)
	case c.TLSMode != TLSNone && c.TLSMode != TLSStartTLS && c.TLSMode != TLSImplicit:
		return fmt.Errorf("smtp: tls mode %q unknown (want %q, %q or %q)", c.TLSMode, TLSNone, TLSStartTLS, TLSImplicit)
	case c.AuthMechanism != "" && c.AuthMechanism != sasl.Plain && c.AuthMechanism != sasl.Login:
		return fmt.Errorf("smtp: auth mechanism %q unknown (want PLAIN or LOGIN)", c.AuthMechanism)
	case c.Password != "" && c.Username == "":
		return errors.New("smtp: password set without username")
	case c.Username != "" && c.Password == "":
		return errors.New("smtp: username set without password")
	case c.Username != "" && c.TLSMode == TLSNone && !c.AllowInsecureAuth:
		return errors.New("smtp: credentials with tls mode none would travel in clear text; " +
			"use starttls or tls, or set allow insecure auth")
	case c.CAFile != "" && c.CAPEM != "":
		return errors.New("smtp: set the CA file or the CA PEM, not both")
	case (c.CAFile != "" || c.CAPEM != "") && c.TLSMode == TLSNone:
		return errors.New("smtp: a CA is set but tls mode is none")
	case strings.ContainsAny(c.HeloName, " \r\n"):
		return fmt.Errorf("smtp: helo name %q must be one word", c.HeloName)
	}
	if c.From == "" {
		return errors.New("smtp: from is required")
	}
	if _, err := parseAddress(c.From); err != nil {
		return fmt.Errorf("smtp: from: %w", err)
	}
	return nil
}

// tlsConfig builds the client TLS config, loading the CA bundle once.
func (c SMTPConfig) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: c.ServerName, MinVersion: tls.VersionTLS12}
	pem := []byte(c.CAPEM)
	if c.CAFile != "" {
		b, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("smtp: read ca file: %w", err)
		}
		pem = b
	}
	if len(pem) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("smtp: ca holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// String describes c without the password.
func (c SMTPConfig) String() string {
	c = c.withDefaults()
	s := fmt.Sprintf("smtp://%s:%d tls=%s", c.Host, c.Port, c.TLSMode)
	if c.Username != "" {
		s += " user=" + c.Username + " password=<redacted>"
	}
	return s
}
