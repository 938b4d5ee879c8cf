package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/execution"
	"github.com/rancher/scale-subscriber/notify"
	"github.com/rancher/scale-subscriber/version"
)

// buildNotifier builds the outcome notifier: webhooks always, e-mail when an SMTP host is configured. Each
// delivery's result becomes a step of its execution's record ("notified webhook").
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
		OnResult:  a.recordNotified,
		Logger:    a.log,
		Metrics:   m,
	})
	return err
}

// Notifier sends outcome notifications of executions.
func (a *App) Notifier() *notify.Notifier { return a.notifier }

// notifyOutcome is the executor's OnFinal hook: when an execution reaches a notified final state and its
// receiver (as it is now) has a notify config, it queues the notification. It runs on the worker that ended
// the execution, so it only reads the cache and queues: Notify returns at once, and a notification that cannot
// be queued is logged, never an error of the execution.
func (a *App) notifyOutcome(keys *receiverKeys, rec execution.Record) {
	state, ok := notifiedState(rec)
	if !ok {
		return
	}
	rcv, ok := a.notifyReceiver(keys, rec.ReceiverID)
	if !ok || rcv.Notify == nil || !rcv.Notify.Wants(state) {
		return
	}
	msg := messageOf(rec, state, rcv, a.store.Service, time.Now())
	if err := a.notifier.Notify(*rcv.Notify, msg); err != nil {
		a.log.WithError(err).WithFields(logrus.Fields{"execution_id": rec.ID, "receiver_id": rcv.ID,
			"state": string(state)}).Warn("outcome notification not queued")
	}
}

// recordNotified is the notifier's OnResult hook: it adds how a delivery ended to its execution's record.
// The executor exists before the notifier runs, so it is set whenever a result can come.
func (a *App) recordNotified(r notify.Result) {
	if a.executor == nil {
		return
	}
	if !a.executor.History().AddStep(r.ExecutionID, notifiedStep(r)) {
		a.log.WithFields(logrus.Fields{"execution_id": r.ExecutionID, "channel": r.Channel}).
			Debug("execution no longer in the history, notification step not recorded")
	}
}

// notifiedStep is the history step of a delivery result. Errors from notify never hold a webhook URL's path,
// query or credentials, so they may be shown.
func notifiedStep(r notify.Result) string {
	switch {
	case r.Err == nil && r.Attempts > 1:
		return fmt.Sprintf("notified %s (after %s)", r.Channel, attempts(r.Attempts))
	case r.Err == nil:
		return "notified " + r.Channel
	case errors.Is(r.Err, notify.ErrAbandoned):
		return fmt.Sprintf("%s notification abandoned at shutdown: %v", r.Channel, r.Err)
	}
	return fmt.Sprintf("%s notification failed after %s: %v", r.Channel, attempts(r.Attempts), r.Err)
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}
