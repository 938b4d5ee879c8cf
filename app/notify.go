package app

import (
	"github.com/rancher/scale-subscriber/notify"
	"github.com/rancher/scale-subscriber/version"
)

// buildNotifier builds the outcome notifier: webhooks always, e-mail when an SMTP host is configured.
func (a *App) buildNotifier() error {
	var smtp *notify.SMTPConfig
	if a.cfg.SMTP.Host != "" {
		c := a.cfg.SMTP
		smtp = &c
	}
	m, err := notify.NewMetrics(a.registry)
	if err != nil {
		return err
	}
	a.notifier, err = notify.New(notify.Options{
		SMTP:      smtp,
		UserAgent: "scale-subscriber/" + version.Version,
		Logger:    a.log,
		Metrics:   m,
	})
	return err
}

// Notifier sends outcome notifications of executions.
func (a *App) Notifier() *notify.Notifier { return a.notifier }
