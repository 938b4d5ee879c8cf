package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/rancher/scale-subscriber/notify"
)

// Config is everything `scale-subscriber run` needs. main fills it from flags (each with an env var).
type Config struct {
	// CattleURL is the Cattle API URL as Rancher injects it (CATTLE_URL), ending in /v1, /v2-beta or nothing.
	CattleURL string
	// AccessKey and SecretKey are the agent/environment API key pair (CATTLE_ACCESS_KEY, CATTLE_SECRET_KEY).
	AccessKey string
	SecretKey string
	// ProjectID is the environment to act in; empty means discover it from the key.
	ProjectID string
	// ListenAddress serves the receivers API (/v1-webhooks).
	ListenAddress string
	// HealthListenAddress serves /healthcheck, /healthz and /metrics.
	HealthListenAddress string
	// PublicURL is the base of trigger URLs; empty means derived from each request's Host.
	PublicURL string
	// Workers is the number of queue workers.
	Workers int
	// ResyncInterval is the period of the full relist that repairs anything the event stream missed.
	ResyncInterval time.Duration
	// PingInterval is the websocket control-ping period; PongWait how long to wait for its pong.
	PingInterval time.Duration
	PongWait     time.Duration
	// MaxPingAge: /healthcheck fails when neither a Cattle ping nor a pong arrived for this long.
	MaxPingAge time.Duration
	// LogLevel and LogFormat configure logrus.
	LogLevel  string
	LogFormat string
	// SMTP is the mail server of e-mail notifications; an empty Host disables e-mail.
	SMTP notify.SMTPConfig
	// TriggerRatePerMinute and TriggerBurst are the trigger rate limit of receivers without a rateLimit of
	// their own (a token bucket per receiver); a rate of 0 means no limit for them.
	TriggerRatePerMinute int
	TriggerBurst         int
	// HostCreateSettleWindow (at most maxHostCreateSettleWindow) is how long after a scaleHost host create got no answer a host listing that does
	// not show it is taken to mean it was not applied (and the create is sent again). It is a guess at how long
	// a proxy or a busy Cattle may still work on a request its client gave up on; the Cattle request timeout is
	// used when it is longer. Zero means the default.
	HostCreateSettleWindow time.Duration
}

// Bounds of the trigger rate limit, those of a receiver's own rateLimit (receivers.MaxRatePerMinute and
// MaxRateBurst).
const (
	maxTriggerRate  = 1_000_000
	maxTriggerBurst = 100_000
)

// maxHostCreateSettleWindow bounds HostCreateSettleWindow.
const maxHostCreateSettleWindow = 15 * time.Minute

// Defaults returns a Config with every default filled in.
func Defaults() Config {
	return Config{
		ListenAddress:       ":8085",
		HealthListenAddress: ":10240",
		Workers:             4,
		ResyncInterval:      5 * time.Minute,
		PingInterval:        5 * time.Second,
		PongWait:            15 * time.Second,
		MaxPingAge:          30 * time.Second,
		LogLevel:            "info",
		LogFormat:           "text",
		// receivers.DefaultRatePerMinute and DefaultRateBurst (config does not import receivers).
		TriggerRatePerMinute: 600,
		TriggerBurst:         60,
		// execution.DefaultHostCreateSettleWindow (config does not import execution).
		HostCreateSettleWindow: time.Minute,
	}
}

// Validate reports every problem at once, phrased for the person starting the service.
func (c Config) Validate() error {
	var errs []error
	if c.SMTP.Host != "" {
		if err := c.SMTP.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("smtp settings (--smtp-*): %w", err))
		}
	}
	if c.CattleURL == "" {
		errs = append(errs, errors.New("cattle url is required (--cattle-url or CATTLE_URL)"))
	} else if u, err := url.Parse(c.CattleURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("cattle url %q must be an http(s) URL such as http://rancher:8080/v1", c.CattleURL))
	}
	if c.AccessKey == "" {
		errs = append(errs, errors.New("cattle access key is required (--cattle-access-key or CATTLE_ACCESS_KEY)"))
	}
	if c.SecretKey == "" {
		errs = append(errs, errors.New("cattle secret key is required (--cattle-secret-key or CATTLE_SECRET_KEY)"))
	}
	for name, addr := range map[string]string{"listen": c.ListenAddress, "health-listen": c.HealthListenAddress} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("--%s %q is not host:port: %w", name, addr, err))
		}
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("public url %q must be an absolute http(s) URL", c.PublicURL))
		}
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers must be at least 1, got %d", c.Workers))
	}
	if c.ResyncInterval < 0 {
		errs = append(errs, fmt.Errorf("resync interval must not be negative, got %s", c.ResyncInterval))
	}
	if c.PingInterval <= 0 || c.PongWait <= 0 || c.MaxPingAge <= 0 {
		errs = append(errs, errors.New("ping interval, pong wait and max ping age must be positive"))
	}
	if c.PongWait <= c.PingInterval {
		errs = append(errs, fmt.Errorf("pong wait (%s) must be longer than the ping interval (%s)", c.PongWait, c.PingInterval))
	}
	if c.TriggerRatePerMinute < 0 || c.TriggerRatePerMinute > maxTriggerRate {
		errs = append(errs, fmt.Errorf("trigger rate per minute must be between 0 (no limit) and %d, got %d",
			maxTriggerRate, c.TriggerRatePerMinute))
	}
	if c.TriggerBurst < 0 || c.TriggerBurst > maxTriggerBurst {
		errs = append(errs, fmt.Errorf("trigger burst must be between 0 (a tenth of the rate) and %d, got %d",
			maxTriggerBurst, c.TriggerBurst))
	}
	// A window of hours (a "60m" meant as seconds) would hold every later scaleHost trigger of a group that long
	// behind one unanswered create.
	if c.HostCreateSettleWindow < 0 || c.HostCreateSettleWindow > maxHostCreateSettleWindow {
		errs = append(errs, fmt.Errorf("host create settle window (--host-create-settle-window) must be between "+
			"0 and %s, got %s", maxHostCreateSettleWindow, c.HostCreateSettleWindow))
	}
	switch strings.ToLower(c.LogFormat) {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log format %q must be text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}
