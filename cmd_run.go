package main

import (
	"github.com/urfave/cli/v2"

	"github.com/rancher/scale-subscriber/app"
	"github.com/rancher/scale-subscriber/config"
	"github.com/rancher/scale-subscriber/notify"
)

func runFlags() []cli.Flag {
	d := config.Defaults()
	return []cli.Flag{
		&cli.StringFlag{Name: "cattle-url", EnvVars: []string{"CATTLE_URL"}, Usage: "Cattle API URL, e.g. http://rancher:8080/v1"},
		&cli.StringFlag{Name: "cattle-access-key", EnvVars: []string{"CATTLE_ACCESS_KEY"}, Usage: "Cattle API access key"},
		&cli.StringFlag{Name: "cattle-secret-key", EnvVars: []string{"CATTLE_SECRET_KEY"}, Usage: "Cattle API secret key"},
		&cli.StringFlag{Name: "project-id", EnvVars: []string{"CATTLE_PROJECT_ID"}, Usage: "environment (project) id; default: the key's own project"},
		&cli.StringFlag{Name: "listen", EnvVars: []string{"LISTEN_ADDRESS"}, Value: d.ListenAddress, Usage: "address of the receivers API (/v1-webhooks)"},
		&cli.StringFlag{Name: "health-listen", EnvVars: []string{"HEALTH_LISTEN_ADDRESS"}, Value: d.HealthListenAddress, Usage: "address of /healthcheck, /healthz and /metrics"},
		&cli.StringFlag{Name: "public-url", EnvVars: []string{"PUBLIC_URL"}, Usage: "base URL of trigger URLs; default: derived from each request"},
		&cli.IntFlag{Name: "workers", EnvVars: []string{"WORKERS"}, Value: d.Workers, Usage: "number of queue workers"},
		&cli.DurationFlag{Name: "resync-interval", EnvVars: []string{"RESYNC_INTERVAL"}, Value: d.ResyncInterval, Usage: "period of the full relist (0 disables)"},
		&cli.DurationFlag{Name: "ping-interval", EnvVars: []string{"PING_INTERVAL"}, Value: d.PingInterval, Usage: "websocket control ping period"},
		&cli.DurationFlag{Name: "pong-wait", EnvVars: []string{"PONG_WAIT"}, Value: d.PongWait, Usage: "reconnect when no pong arrives for this long"},
		&cli.DurationFlag{Name: "max-ping-age", EnvVars: []string{"MAX_PING_AGE"}, Value: d.MaxPingAge, Usage: "/healthcheck fails when Cattle was silent for this long"},
		&cli.StringFlag{Name: "log-level", EnvVars: []string{"LOG_LEVEL"}, Value: d.LogLevel, Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", EnvVars: []string{"LOG_FORMAT"}, Value: d.LogFormat, Usage: "text or json"},
		&cli.StringFlag{Name: "smtp-host", EnvVars: []string{"SMTP_HOST"}, Usage: "mail server of e-mail notifications; empty disables e-mail"},
		&cli.IntFlag{Name: "smtp-port", EnvVars: []string{"SMTP_PORT"}, Usage: "mail server port; default 587 (starttls), 465 (tls) or 25 (none)"},
		&cli.StringFlag{Name: "smtp-tls", EnvVars: []string{"SMTP_TLS"}, Value: string(notify.TLSStartTLS), Usage: "starttls, tls or none"},
		&cli.StringFlag{Name: "smtp-username", EnvVars: []string{"SMTP_USERNAME"}, Usage: "SMTP AUTH user; empty: no auth"},
		&cli.StringFlag{Name: "smtp-password", EnvVars: []string{"SMTP_PASSWORD"}, Usage: "SMTP AUTH password (never logged)"},
		&cli.StringFlag{Name: "smtp-ca-file", EnvVars: []string{"SMTP_CA_FILE"}, Usage: "PEM file of the CA the mail server's certificate must chain to (replaces the system roots)"},
		&cli.StringFlag{Name: "smtp-from", EnvVars: []string{"SMTP_FROM"}, Usage: "sender address of notifications"},
		&cli.BoolFlag{Name: "smtp-insecure-auth", EnvVars: []string{"SMTP_INSECURE_AUTH"}, Usage: "allow SMTP AUTH over an unencrypted connection (--smtp-tls none)"},
		&cli.IntFlag{Name: "trigger-rate-per-minute", EnvVars: []string{"TRIGGER_RATE_PER_MINUTE"}, Value: d.TriggerRatePerMinute, Usage: "trigger rate limit of each receiver without its own rateLimit (0: none)"},
		&cli.IntFlag{Name: "trigger-burst", EnvVars: []string{"TRIGGER_BURST"}, Value: d.TriggerBurst, Usage: "triggers a receiver may send at once under --trigger-rate-per-minute (0: a tenth of the rate)"},
		&cli.DurationFlag{Name: "host-create-settle-window", EnvVars: []string{"HOST_CREATE_SETTLE_WINDOW"}, Value: d.HostCreateSettleWindow, Usage: "how long after an unanswered scaleHost host create a listing without the host counts as not applied (at least the Cattle request timeout)"},
	}
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:   "run",
		Usage:  "run the service against Cattle (the default command)",
		Flags:  runFlags(),
		Action: runAction,
	}
}

// configFromFlags is the one place flags become a config.Config.
func configFromFlags(c *cli.Context) config.Config {
	return config.Config{
		CattleURL:           c.String("cattle-url"),
		AccessKey:           c.String("cattle-access-key"),
		SecretKey:           c.String("cattle-secret-key"),
		ProjectID:           c.String("project-id"),
		ListenAddress:       c.String("listen"),
		HealthListenAddress: c.String("health-listen"),
		PublicURL:           c.String("public-url"),
		Workers:             c.Int("workers"),
		ResyncInterval:      c.Duration("resync-interval"),
		PingInterval:        c.Duration("ping-interval"),
		PongWait:            c.Duration("pong-wait"),
		MaxPingAge:          c.Duration("max-ping-age"),
		LogLevel:            c.String("log-level"),
		LogFormat:           c.String("log-format"),
		SMTP: notify.SMTPConfig{
			Host:              c.String("smtp-host"),
			Port:              c.Int("smtp-port"),
			TLSMode:           notify.TLSMode(c.String("smtp-tls")),
			Username:          c.String("smtp-username"),
			Password:          c.String("smtp-password"),
			CAFile:            c.String("smtp-ca-file"),
			From:              c.String("smtp-from"),
			AllowInsecureAuth: c.Bool("smtp-insecure-auth"),
		},
		TriggerRatePerMinute:   c.Int("trigger-rate-per-minute"),
		TriggerBurst:           c.Int("trigger-burst"),
		HostCreateSettleWindow: c.Duration("host-create-settle-window"),
	}
}

func runAction(c *cli.Context) error {
	cfg := configFromFlags(c)
	if err := cfg.Validate(); err != nil {
		return err
	}
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	a, err := app.New(c.Context, app.Options{Config: cfg, Logger: log})
	if err != nil {
		return err
	}
	return a.Run(c.Context)
}
