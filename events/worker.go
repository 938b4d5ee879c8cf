package events

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Worker defaults.
const (
	DefaultWorkerCount  = 4
	DefaultMaxRetries   = 5
	DefaultDrainTimeout = 10 * time.Second
)

// Processor does the work for one key. It should re-read the current state
// of the resource the key names (level-triggered), so it does not matter how
// many events led to the key being queued.
type Processor func(ctx context.Context, key string) error

// WorkersOptions configures Workers.
type WorkersOptions struct {
	// Queue and Process are required.
	Queue   *Queue
	Process Processor
	// Count is the number of concurrent workers; default DefaultWorkerCount.
	Count int
	// Retryable classifies a Process error. Default: everything is
	// retryable except errors marked with Permanent. Panics are always
	// retryable, so a key is never lost to one.
	Retryable func(error) bool
	// MaxRetries is how many times a key is re-queued after retryable
	// failures before it is given up (so it is processed at most
	// MaxRetries+1 times in a row); default DefaultMaxRetries, negative
	// means no retry.
	MaxRetries int
	// OnFailure is called, on the worker goroutine, for every key given up.
	OnFailure func(key string, err error)
	// Pending, if set, holds request events answered once their key's
	// processing succeeds or is given up.
	Pending *Pending
	// DrainTimeout is how long Run lets queued and in-flight keys finish
	// after its context ended before cancelling the processors' context;
	// default DefaultDrainTimeout.
	DrainTimeout time.Duration
	// Logger defaults to a discarding logger.
	Logger logrus.FieldLogger
	// Metrics records durations, retries, failures and panics.
	Metrics *Metrics
}

// Workers runs a fixed pool of goroutines that take keys from a Queue and
// process them; see Run.
type Workers struct {
	opts WorkersOptions
	log  logrus.FieldLogger
}

// NewWorkers validates opts and returns a pool; nothing runs until Run.
func NewWorkers(opts WorkersOptions) (*Workers, error) {
	if opts.Queue == nil {
		return nil, errors.New("new workers: queue is required")
	}
	if opts.Process == nil {
		return nil, errors.New("new workers: processor is required")
	}
	if opts.Count <= 0 {
		opts.Count = DefaultWorkerCount
	}
	if opts.Retryable == nil {
		opts.Retryable = func(err error) bool { return !IsPermanent(err) }
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	} else if opts.MaxRetries < 0 {
		opts.MaxRetries = 0
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = DefaultDrainTimeout
	}
	return &Workers{opts: opts, log: componentLogger(opts.Logger)}, nil
}

// Run starts the workers and blocks until ctx ends or the queue is shut
// down by someone else. When ctx ends, Run drains the queue: workers finish
// the keys in flight and those waiting, with a processing context that stays
// valid for DrainTimeout; then the queue is shut down hard, the processing
// context is cancelled and Run waits for every worker before returning nil.
func (w *Workers) Run(ctx context.Context) error {
	procCtx, cancelProc := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelProc()

	var wg sync.WaitGroup
	for range w.opts.Count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w.processNext(procCtx) {
			}
		}()
	}
	workersDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(workersDone)
	}()

	select {
	case <-workersDone:
		return nil
	case <-ctx.Done():
	}
	drainCtx, cancelDrain := context.WithTimeout(procCtx, w.opts.DrainTimeout)
	err := w.opts.Queue.ShutDownWithDrain(drainCtx)
	cancelDrain()
	if err != nil {
		w.log.WithError(err).Warn("queue drain timed out")
	}
	cancelProc()
	<-workersDone
	return nil
}

// processNext handles one key; it returns false when the queue shut down.
func (w *Workers) processNext(ctx context.Context) bool {
	q := w.opts.Queue
	key, shutdown := q.Get()
	if shutdown {
		return false
	}
	defer q.Done(key)

	var held []Event
	if w.opts.Pending != nil {
		held = w.opts.Pending.take(key)
	}
	start := time.Now()
	err := callProcessor(ctx, w.opts.Process, key)
	elapsed := time.Since(start)
	w.opts.Metrics.observeHandler(keyKind(key), elapsed.Seconds())
	w.handleResult(ctx, key, held, err, elapsed)
	return true
}

func (w *Workers) handleResult(ctx context.Context, key string, held []Event, err error, elapsed time.Duration) {
	q := w.opts.Queue
	if err == nil {
		q.Forget(key)
		if w.opts.Pending != nil {
			w.opts.Pending.finish(ctx, held, nil)
		}
		return
	}

	attempt := q.NumRequeues(key) + 1
	entry := w.log.WithFields(logrus.Fields{"key": key, "attempt": attempt, "duration": elapsed}).WithError(err)
	var pe *PanicError
	panicked := errors.As(err, &pe)
	if panicked {
		w.opts.Metrics.panicked()
		entry = entry.WithField("stack", string(pe.Stack))
		entry.Error("processor panicked")
	}

	if q.ShuttingDown() && ctx.Err() != nil {
		// Cut off by shutdown, not by the resource; the next start
		// resyncs. Held events stay unanswered and Cattle re-sends them
		// after its timeout.
		entry.Debug("processing abandoned at shutdown")
		return
	}

	retryable := panicked || w.opts.Retryable(err)
	if retryable && q.NumRequeues(key) < w.opts.MaxRetries {
		if q.ShuttingDown() {
			// The queue no longer accepts keys; the next start resyncs.
			entry.Warn("processing failed during shutdown, not retried")
			return
		}
		if !panicked {
			entry.Warn("processing failed, will retry")
		}
		if w.opts.Pending != nil && len(held) > 0 {
			w.opts.Pending.restore(key, held)
			w.opts.Pending.progress(ctx, held, "retrying: "+err.Error())
		}
		q.AddRateLimited(key)
		return
	}

	q.Forget(key)
	w.opts.Metrics.failure()
	entry.Error("processing failed, giving up")
	if w.opts.OnFailure != nil {
		w.opts.OnFailure(key, err)
	}
	if w.opts.Pending != nil {
		w.opts.Pending.finish(ctx, held, err)
	}
}

// callProcessor runs p and turns a panic into a *PanicError.
func callProcessor(ctx context.Context, p Processor, key string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return p(ctx, key)
}
