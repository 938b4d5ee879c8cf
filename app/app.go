package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/config"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/execution"
	"github.com/rancher/scale-subscriber/handlers"
	"github.com/rancher/scale-subscriber/healthcheck"
	"github.com/rancher/scale-subscriber/notify"
	"github.com/rancher/scale-subscriber/receivers"
)

// Options configures New.
type Options struct {
	Config config.Config
	// Logger defaults to a discarding logger.
	Logger logrus.FieldLogger
	// HealthListener, if set, is used instead of listening on Config.HealthListenAddress (tests pass
	// 127.0.0.1:0 listeners).
	HealthListener net.Listener
	// SubscriberBackoff shapes the waits between event-stream reconnects; zero fields take the events.Default*
	// values (0.5 s doubling to 30 s, reset after two healthy minutes). Tests that force many drops shorten it.
	SubscriberBackoff events.BackoffOptions
	// Listener, if set, is used instead of listening on Config.ListenAddress for the receivers API.
	Listener net.Listener
	// CattleTimeout bounds each Cattle request; zero means cattle.DefaultTimeout. Fault-injection tests
	// shorten it to make a slow answer a timeout.
	CattleTimeout time.Duration
}

// App is one running scale-subscriber. Build it with New, register extra event handlers on Router() if needed,
// then Run it once.
type App struct {
	cfg     config.Config
	log     logrus.FieldLogger
	backoff events.BackoffOptions

	registry   *prometheus.Registry
	client     *cattle.Client
	store      *cache.Store
	informer   *cache.Informer
	queue      *events.Queue
	workers    *events.Workers
	router     *events.Router
	replier    *events.Replier
	pending    *events.Pending
	dispatcher *handlers.Dispatcher
	subscriber atomic.Pointer[events.Subscriber]
	health     *healthcheck.Server
	metrics    *events.Metrics

	notifier    *notify.Notifier
	executor    *execution.Executor
	api         *receivers.API
	apiListener net.Listener
}

// New connects to Cattle (discovery fails fast on a bad URL or rejected keys) and builds every part; nothing
// runs until Run.
func New(ctx context.Context, opts Options) (*App, error) {
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	log := opts.Logger
	if log == nil {
		l := logrus.New()
		l.SetOutput(discard{})
		log = l
	}
	a := &App{cfg: cfg, log: log, backoff: opts.SubscriberBackoff, registry: prometheus.NewRegistry()}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	client, err := cattle.New(ctx, cattle.Options{
		URL:       cfg.CattleURL,
		AccessKey: cfg.AccessKey,
		SecretKey: cfg.SecretKey,
		ProjectID: cfg.ProjectID,
		Timeout:   opts.CattleTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to cattle: %w", err)
	}
	a.client = client
	a.log = log.WithField("project_id", client.ProjectID())

	if a.metrics, err = events.NewMetrics(a.registry); err != nil {
		return nil, err
	}
	if a.store, err = cache.NewStore(a.registry); err != nil {
		return nil, err
	}
	// Cattle's transient failures (5xx, timeouts) last longer than client-go's 5 ms default base delay; with
	// 50 ms doubling, a key's five retries span about 1.5 s before it is given up and reported.
	a.queue = events.NewQueue(events.QueueOptions{Metrics: a.metrics, RetryBaseDelay: 50 * time.Millisecond,
		RetryMaxDelay: 10 * time.Second})
	a.dispatcher = handlers.NewDispatcher()
	a.informer, err = cache.NewInformer(cache.InformerOptions{
		Store:          a.store,
		Source:         client,
		ResyncInterval: cfg.ResyncInterval,
		WaitForConnect: true, // the subscriber's OnConnect starts the first relist, after subscribing
		Logger:         a.log,
		Registerer:     a.registry,
		OnChange: func(c cache.Change) {
			for _, key := range handlers.KeysFor(c, a.store) {
				a.queue.Add(key)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if a.replier, err = events.NewReplier(events.ReplierOptions{
		Publisher: events.PublisherFunc(a.publish),
		Logger:    a.log,
		Metrics:   a.metrics,
	}); err != nil {
		return nil, err
	}
	if a.pending, err = events.NewPending(events.PendingOptions{Replier: a.replier}); err != nil {
		return nil, err
	}
	a.router = events.NewRouter(events.RouterOptions{Replier: a.replier, Logger: a.log, Metrics: a.metrics})
	if err := a.router.Register(handlers.ResourceChangeEventName, handlers.ResourceChange(a.informer)); err != nil {
		return nil, err
	}
	if a.workers, err = events.NewWorkers(events.WorkersOptions{
		Queue:     a.queue,
		Process:   a.dispatcher.Process,
		Count:     cfg.Workers,
		Retryable: retryable,
		Pending:   a.pending,
		Logger:    a.log,
		Metrics:   a.metrics,
		OnFailure: func(key string, err error) {
			a.log.WithError(err).WithField("key", key).Error("work given up")
			a.executor.GiveUp(key, err)
		},
	}); err != nil {
		return nil, err
	}
	if err := a.buildNotifier(); err != nil {
		return nil, err
	}
	if err := a.buildReceivers(opts.Listener); err != nil {
		return nil, err
	}
	if a.health, err = healthcheck.New(healthcheck.Options{
		Addr:     cfg.HealthListenAddress,
		Listener: opts.HealthListener,
		Checks:   a.readinessChecks(),
		Gatherer: a.registry,
		Logger:   a.log,
	}); err != nil {
		return nil, err
	}
	return a, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// publish adapts the Cattle client to events.Publisher.
func (a *App) publish(ctx context.Context, r events.Reply) error {
	return a.client.Publish(ctx, cattle.Publish{
		Name:                         r.Name,
		PreviousIDs:                  r.PreviousIDs,
		Data:                         r.Data,
		Transitioning:                r.Transitioning,
		TransitioningMessage:         r.TransitioningMessage,
		TransitioningInternalMessage: r.TransitioningInternalMessage,
		TransitioningProgress:        r.TransitioningProgress,
		ResourceID:                   r.ResourceID,
		ResourceType:                 r.ResourceType,
		Time:                         r.Time,
	})
}

// Router is the event router; register extra handlers on it before Run.
func (a *App) Router() *events.Router { return a.router }

// Dispatcher routes queued keys to reconcilers; register reconcilers on it before Run.
func (a *App) Dispatcher() *handlers.Dispatcher { return a.dispatcher }

// Pending holds request events answered when their key is processed.
func (a *App) Pending() *events.Pending { return a.pending }

// Queue is the keyed work queue shared by events and triggers.
func (a *App) Queue() *events.Queue { return a.queue }

// Store is the cache.
func (a *App) Store() *cache.Store { return a.store }

// Informer keeps the cache in sync.
func (a *App) Informer() *cache.Informer { return a.informer }

// Client is the Cattle client.
func (a *App) Client() *cattle.Client { return a.client }

// Registry is the Prometheus registry served on /metrics.
func (a *App) Registry() *prometheus.Registry { return a.registry }

// Subscriber returns the event subscriber (nil before Run).
func (a *App) Subscriber() *events.Subscriber { return a.subscriber.Load() }

// Executor runs receiver triggers.
func (a *App) Executor() *execution.Executor { return a.executor }

// ReceiversAddr is the address the receivers API listens on.
func (a *App) ReceiversAddr() net.Addr { return a.apiListener.Addr() }

// Health is the healthcheck server.
func (a *App) Health() *healthcheck.Server { return a.health }

// Run runs every part until ctx is cancelled (nil) or one fails (its error). A subscription refused for bad
// credentials at the first attempt is fatal; later disconnects are retried forever.
func (a *App) Run(ctx context.Context) error {
	url, err := a.client.SubscribeURL(cattleEventNames(a.router.EventNames())...)
	if err != nil {
		return err
	}
	sub, err := events.NewSubscriber(events.SubscriberOptions{
		URL:           url,
		Authorization: a.client.BasicAuthHeader(),
		Sink:          a.router,
		OnConnect:     a.informer.OnConnect,
		PingInterval:  a.cfg.PingInterval,
		PongWait:      a.cfg.PongWait,
		Backoff:       a.backoff,
		Logger:        a.log,
		Metrics:       a.metrics,
	})
	if err != nil {
		return err
	}
	a.subscriber.Store(sub)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return wrap("event subscriber", sub.Run(gctx)) })
	// Stopping: the API stops accepting connections at once, but its shutdown waits for the triggers in flight,
	// which the workers finish (drain) and the executor's Close answers (503, or settled) right after. So the
	// API's graceful shutdown must outlast the drain and Close.
	g.Go(func() error {
		return wrap("receivers api", a.api.Serve(gctx, a.apiListener, receivers.ServeOptions{
			ShutdownTimeout: events.DefaultDrainTimeout + executorCloseTimeout + 5*time.Second,
		}))
	})
	g.Go(func() error { return wrap("cache informer", a.informer.Run(gctx)) })
	g.Go(func() error {
		err := a.workers.Run(gctx)
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(gctx), executorCloseTimeout)
		a.executor.Close(closeCtx)
		cancel()
		return wrap("workers", err)
	})
	g.Go(func() error { return wrap("healthcheck server", a.health.Run(gctx)) })
	g.Go(func() error { return wrap("notifier", a.notifier.Run(gctx)) })
	a.log.WithField("workers", a.cfg.Workers).Info("scale-subscriber running")
	err = g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// executorCloseTimeout bounds the Cattle reads the executor's Close makes to settle unanswered scale PUTs.
const executorCloseTimeout = 3 * time.Second

func wrap(part string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", part, err)
}
