package app

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/config"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/execution"
	"github.com/rancher/scale-subscriber/receivers"
	"github.com/rancher/scale-subscriber/webui"
)

// buildReceivers builds the trigger executor (registered on the router and the dispatcher) and the
// /v1-webhooks API, and opens the API's listener so that a busy port fails at startup.
func (a *App) buildReceivers(ln net.Listener) error {
	m, err := execution.NewMetrics(a.registry)
	if err != nil {
		return err
	}
	keys := &receiverKeys{}
	a.executor, err = execution.New(execution.Options{
		Cattle: a.client,
		Cache:  a.store,
		Queue:  a.queue,
		Router: a.router,
		Forwarder: &execution.Forwarder{
			Base:          cattleRoot(a.client.ProjectURL()),
			Authorization: a.client.BasicAuthHeader(),
		},
		// Outcome notifications: each execution's final record, once.
		OnFinal: func(rec execution.Record) { a.notifyOutcome(keys, rec) },
		Logger:  a.log,
		Metrics: m,
		// The executor waits at least the client's request timeout (it asks the client) before it takes an
		// unanswered host create for not applied.
		HostCreateSettleWindow: a.cfg.HostCreateSettleWindow,
	})
	if err != nil {
		return err
	}
	if err := a.executor.Register(a.dispatcher); err != nil {
		return err
	}
	ui, err := webui.Handler()
	if err != nil {
		return err
	}
	a.api, err = receivers.New(receivers.Options{
		Cattle:     a.client,
		Store:      a.store,
		Executor:   a.rememberingExecutor(keys, a.executor),
		Notify:     a.notifier,
		Synced:     a.informer.Synced,
		PublicURL:  a.cfg.PublicURL,
		Executions: a.executor.History().Handler(),
		UI:         ui,
		RateLimit:  triggerRateLimit(a.cfg),
		Rejections: a.executor,
		Logger:     a.log,
	})
	if err != nil {
		return err
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", a.cfg.ListenAddress); err != nil {
			return fmt.Errorf("listen for the receivers api on %s: %w", a.cfg.ListenAddress, err)
		}
	}
	a.apiListener = ln
	return nil
}

// cattleRoot is the Cattle server's root URL (scheme and host, plus any path prefix before /v2-beta), the base
// of its service proxy /r/projects/...
func cattleRoot(projectURL string) string {
	if i := strings.Index(projectURL, "/v2-beta"); i >= 0 {
		return projectURL[:i]
	}
	return strings.TrimSuffix(projectURL, "/")
}

// retryable classifies a reconciler's error for the workers, with client-go workqueue semantics: everything is
// retried with backoff unless marked events.Permanent or a Cattle answer retrying cannot change (a 4xx).
func retryable(err error) bool {
	if events.IsPermanent(err) {
		return false
	}
	var (
		apiErr       *cattle.APIError
		notAvailable *cattle.ActionNotAvailableError
		notAllowed   *cattle.MethodNotAllowedError
	)
	if errors.As(err, &apiErr) || errors.As(err, &notAvailable) || errors.As(err, &notAllowed) ||
		errors.Is(err, cattle.ErrUnknownSchema) {
		return cattle.IsRetryable(err)
	}
	return true
}

// localEventNames are routed in-process only; they are not subscribed from Cattle.
func cattleEventNames(names []string) []string {
	out := names[:0:0]
	for _, n := range names {
		if n != execution.EventName {
			out = append(out, n)
		}
	}
	return out
}

// triggerRateLimit is the service-wide trigger rate limit of the configuration: none when the rate is 0.
func triggerRateLimit(cfg config.Config) receivers.RateLimit {
	if cfg.TriggerRatePerMinute <= 0 {
		return receivers.RateLimit{PerMinute: -1}
	}
	return receivers.RateLimit{PerMinute: int64(cfg.TriggerRatePerMinute), Burst: int64(cfg.TriggerBurst)}
}
