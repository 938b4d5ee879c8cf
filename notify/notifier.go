package notify

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Notifier defaults.
const (
	DefaultQueueSize    = 100
	DefaultWorkers      = 2
	DefaultDrainTimeout = 10 * time.Second
)

// Errors a Result or Notify can carry.
var (
	// ErrStopped: Notify was called after Run returned; nothing was queued.
	ErrStopped = errors.New("notifier stopped")
	// ErrAbandoned: the notifier stopped before the notification could be delivered.
	ErrAbandoned = errors.New("notification abandoned at shutdown")
)

// Options configures a Notifier. Zero fields take the defaults.
type Options struct {
	// SMTP is the mail server; nil disables e-mail and makes receiver configs with an email member invalid.
	SMTP *SMTPConfig
	// HTTPClient posts webhooks; default a client of http.DefaultTransport. Redirects are never followed.
	HTTPClient *http.Client
	// UserAgent of webhook requests; default "scale-subscriber".
	UserAgent string
	// QueueSize bounds the notifications waiting for a worker (one per channel); default DefaultQueueSize.
	// When full, the oldest is dropped, logged and counted.
	QueueSize int
	// Workers deliver concurrently; default DefaultWorkers. A worker waits out a notification's retries, so
	// this many slow endpoints hold up the others.
	Workers int
	// MaxAttempts per notification and channel; default DefaultMaxAttempts.
	MaxAttempts int
	// RetryInitial and RetryMax shape the backoff between attempts (doubling, jittered, Retry-After honoured);
	// defaults DefaultRetryInitial and DefaultRetryMax.
	RetryInitial time.Duration
	RetryMax     time.Duration
	// DrainTimeout is how long Run keeps delivering queued notifications after its context ended; default
	// DefaultDrainTimeout.
	DrainTimeout time.Duration
	// OnResult, when set, is called on a worker goroutine once per notification and channel that a worker took
	// or that was still queued at shutdown (Err nil: delivered). It must not block for long. Notifications
	// evicted by a full queue are only logged and counted.
	OnResult func(Result)
	Logger   logrus.FieldLogger
	Metrics  *Metrics
	// Now dates e-mails; default time.Now.
	Now func() time.Time
}

// Result is how one notification ended on one channel.
type Result struct {
	DeliveryID  string
	ExecutionID string
	ReceiverID  string
	Channel     string
	// Attempts made; 0 when the notification never reached a worker.
	Attempts int
	Err      error
}

// Notifier sends outcome notifications in the background: Notify queues and returns at once; Run owns the
// workers that deliver, retry and log. See the package documentation for the guarantees.
type Notifier struct {
	opts    Options
	log     logrus.FieldLogger
	webhook *WebhookSender
	email   *EmailSender
	q       *jobQueue
	random  func() float64

	mu      sync.Mutex
	started bool
	stopped bool
}

// New validates opts (and loads the SMTP CA) and returns a notifier; nothing runs until Run.
func New(opts Options) (*Notifier, error) {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.RetryInitial <= 0 {
		opts.RetryInitial = DefaultRetryInitial
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = DefaultRetryMax
	}
	if opts.RetryMax < opts.RetryInitial {
		opts.RetryMax = opts.RetryInitial
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = DefaultDrainTimeout
	}
	n := &Notifier{
		opts:    opts,
		log:     componentLogger(opts.Logger),
		webhook: NewWebhookSender(opts.HTTPClient, opts.UserAgent),
		q:       newJobQueue(opts.QueueSize, opts.Metrics),
		random:  defaultRandom,
	}
	if opts.SMTP != nil {
		es, err := NewEmailSender(*opts.SMTP, opts.Now)
		if err != nil {
			return nil, fmt.Errorf("new notifier: %w", err)
		}
		n.email = es
	}
	return n, nil
}

// Check validates a receiver's notify config against this notifier: an email member needs an SMTP server.
// The receivers API calls it when a receiver is saved, so a config that cannot be delivered is refused then.
func (n *Notifier) Check(cfg ReceiverConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Email != nil && n.email == nil {
		return errors.New("notify.email: no SMTP server is configured for scale-subscriber")
	}
	return nil
}

// Notify queues msg for every channel of cfg that wants msg.State and returns at once; it never blocks on
// the network or on a full queue (the oldest queued notification is dropped instead, with a warning). It
// returns an error, and queues nothing, when msg or cfg is invalid or the notifier has stopped.
func (n *Notifier) Notify(cfg ReceiverConfig, msg Message) error {
	if err := msg.Validate(); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if err := n.Check(cfg); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if !cfg.Wants(msg.State) {
		if !cfg.Empty() {
			n.log.WithFields(logrus.Fields{"execution_id": msg.ExecutionID, "receiver_id": msg.ReceiverID,
				"state": string(msg.State)}).Debug("notification not wanted for this state")
		}
		return nil
	}
	msg = msg.normalized()
	id := rand.Text()
	var jobs []job
	if cfg.Webhook != nil {
		jobs = append(jobs, job{channel: ChannelWebhook, deliveryID: id, msg: msg, webhook: cloneWebhook(*cfg.Webhook)})
	}
	if cfg.Email != nil {
		email := *cfg.Email
		email.To = append([]string(nil), email.To...)
		jobs = append(jobs, job{channel: ChannelEmail, deliveryID: id, msg: msg, email: email})
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		for _, j := range jobs {
			n.opts.Metrics.drop(j.channel, dropStopped)
			n.jobLog(j).Warn("notifier stopped, notification dropped")
		}
		return fmt.Errorf("notify execution %s: %w", msg.ExecutionID, ErrStopped)
	}
	for _, j := range jobs {
		evicted, dropped := n.q.push(j)
		if dropped {
			n.opts.Metrics.drop(evicted.channel, dropQueueFull)
			n.jobLog(evicted).WithField("queue_size", n.opts.QueueSize).
				Warn("notification queue full, dropped the oldest notification")
		}
		n.jobLog(j).Debug("notification queued")
	}
	return nil
}

// Run delivers queued notifications until ctx ends, then keeps delivering what is queued for up to
// DrainTimeout, cancels what is still in flight, reports what is left as abandoned and returns nil. Notify
// calls made after Run returned are refused with ErrStopped. Run may be called once.
func (n *Notifier) Run(ctx context.Context) error {
	n.mu.Lock()
	if n.started {
		n.mu.Unlock()
		return errors.New("notify: run called twice")
	}
	n.started = true
	n.mu.Unlock()

	// Deliveries outlive ctx by the drain; procCtx is cancelled when the drain is over.
	procCtx, cancelProc := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelProc()
	draining := make(chan struct{})
	var wg sync.WaitGroup
	for range n.opts.Workers {
		wg.Go(func() { n.work(procCtx, draining) })
	}
	workersDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(workersDone)
	}()

	<-ctx.Done()
	close(draining)
	drain := time.NewTimer(n.opts.DrainTimeout)
	select {
	case <-workersDone:
	case <-drain.C:
		n.log.WithField("drain_timeout", n.opts.DrainTimeout).Warn("notification drain timed out, cancelling deliveries")
		cancelProc()
		<-workersDone
	}
	drain.Stop()

	n.mu.Lock()
	n.stopped = true
	n.mu.Unlock()
	left := n.q.takeAll()
	for _, j := range left {
		n.opts.Metrics.result(j.channel, resultAbandoned)
		n.jobLog(j).Warn("notification abandoned at shutdown, never attempted")
		n.report(j, 0, ErrAbandoned)
	}
	return nil
}

// work is one worker: it takes jobs until the queue is empty once draining has begun, or procCtx ends.
func (n *Notifier) work(ctx context.Context, draining <-chan struct{}) {
	for ctx.Err() == nil {
		if j, ok := n.q.pop(); ok {
			n.deliver(ctx, j)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-n.q.wake:
		case <-draining:
			// A job may have been queued between the pop above and this select: look once more.
			if j, ok := n.q.pop(); ok {
				n.deliver(ctx, j)
				continue
			}
			return
		}
	}
}

// deliver attempts j until it succeeds, fails permanently, runs out of attempts or ctx ends, and logs and
// reports the outcome. A panic in a sender fails the notification instead of the process.
func (n *Notifier) deliver(ctx context.Context, j job) {
	log := n.jobLog(j)
	attempt := 0
	defer func() {
		if p := recover(); p != nil {
			n.opts.Metrics.result(j.channel, resultFailed)
			log.WithFields(logrus.Fields{"attempt": attempt, "panic": fmt.Sprint(p), "stack": string(debug.Stack())}).
				Error("notification sender panicked")
			n.report(j, attempt, fmt.Errorf("notification sender panicked: %v", p))
		}
	}()
	for {
		attempt++
		start := time.Now()
		err := n.send(ctx, j)
		entry := log.WithFields(logrus.Fields{"attempt": attempt, "duration": time.Since(start)})
		switch {
		case err == nil:
			n.opts.Metrics.result(j.channel, resultSent)
			entry.Info("notification sent")
			n.report(j, attempt, nil)
			return
		case ctx.Err() != nil:
			n.opts.Metrics.result(j.channel, resultAbandoned)
			entry.WithError(err).Warn("notification abandoned at shutdown")
			n.report(j, attempt, fmt.Errorf("%w: %w", ErrAbandoned, err))
			return
		case isPermanent(err) || attempt >= n.opts.MaxAttempts:
			n.opts.Metrics.result(j.channel, resultFailed)
			entry.WithError(err).WithField("permanent", isPermanent(err)).Error("notification failed, giving up")
			n.report(j, attempt, err)
			return
		}
		wait := backoff(n.opts.RetryInitial, n.opts.RetryMax, attempt, err, n.random)
		n.opts.Metrics.retried(j.channel)
		entry.WithError(err).WithField("retry_in", wait).Warn("notification attempt failed, will retry")
		if !sleep(ctx, wait) {
			n.opts.Metrics.result(j.channel, resultAbandoned)
			entry.Warn("notification abandoned at shutdown")
			n.report(j, attempt, fmt.Errorf("%w: %w", ErrAbandoned, err))
			return
		}
	}
}

// send makes one attempt on j's channel.
func (n *Notifier) send(ctx context.Context, j job) error {
	switch j.channel {
	case ChannelWebhook:
		return n.webhook.Send(ctx, j.webhook, j.deliveryID, j.msg)
	case ChannelEmail:
		if n.email == nil {
			return permanent(errors.New("no SMTP server configured"))
		}
		return n.email.Send(ctx, j.email, j.deliveryID, j.msg)
	}
	return permanent(fmt.Errorf("unknown channel %q", j.channel))
}

// report hands a result to OnResult.
func (n *Notifier) report(j job, attempts int, err error) {
	if n.opts.OnResult == nil {
		return
	}
	n.opts.OnResult(Result{
		DeliveryID: j.deliveryID, ExecutionID: j.msg.ExecutionID, ReceiverID: j.msg.ReceiverID,
		Channel: j.channel, Attempts: attempts, Err: err,
	})
}

// jobLog is the logger of one job. It names the target without secrets: the webhook's scheme and host only,
// the SMTP server and the number of recipients.
func (n *Notifier) jobLog(j job) logrus.FieldLogger {
	f := logrus.Fields{
		"channel":      j.channel,
		"delivery_id":  j.deliveryID,
		"execution_id": j.msg.ExecutionID,
		"receiver_id":  j.msg.ReceiverID,
		"state":        string(j.msg.State),
	}
	switch j.channel {
	case ChannelWebhook:
		f["target"] = redactURL(j.webhook.URL)
	case ChannelEmail:
		if n.email != nil {
			f["target"] = n.email.Server()
		}
		f["recipients"] = len(j.email.To)
	}
	return n.log.WithFields(f)
}

// cloneWebhook copies c so later changes to the caller's map do not race with the worker.
func cloneWebhook(c WebhookConfig) WebhookConfig {
	c.Headers = maps.Clone(c.Headers)
	return c
}
