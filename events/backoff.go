package events

import (
	"math/rand/v2"
	"time"
)

// Default reconnect backoff, after client-go's reflector: a failing server
// sees at most one dial per ~30 s per subscriber, and jitter keeps a fleet of
// subscribers from reconnecting in lock-step after a Cattle restart.
const (
	DefaultBackoffInitial    = 500 * time.Millisecond
	DefaultBackoffMax        = 30 * time.Second
	DefaultBackoffFactor     = 2.0
	DefaultBackoffJitter     = 1.0
	DefaultBackoffResetAfter = 2 * time.Minute
)

// BackoffOptions configures the reconnect backoff. Zero fields take the
// Default* values.
type BackoffOptions struct {
	// Initial is the base wait before the first reconnect.
	Initial time.Duration
	// Max caps every wait, jitter included.
	Max time.Duration
	// Factor multiplies the base wait after every failed attempt.
	Factor float64
	// Jitter stretches each wait by a random fraction in [0, Jitter) of the
	// base wait, so with Jitter 1 a wait lies in [base, 2*base). Zero
	// takes the default; a negative value disables jitter.
	Jitter float64
	// ResetAfter is how long a connection must have stayed up for the next
	// reconnect to start again from Initial.
	ResetAfter time.Duration
}

func (o BackoffOptions) withDefaults() BackoffOptions {
	if o.Initial <= 0 {
		o.Initial = DefaultBackoffInitial
	}
	if o.Max <= 0 {
		o.Max = DefaultBackoffMax
	}
	if o.Max < o.Initial {
		o.Max = o.Initial
	}
	if o.Factor < 1 {
		o.Factor = DefaultBackoffFactor
	}
	if o.Jitter < 0 {
		o.Jitter = 0
	} else if o.Jitter == 0 {
		o.Jitter = DefaultBackoffJitter
	}
	if o.ResetAfter <= 0 {
		o.ResetAfter = DefaultBackoffResetAfter
	}
	return o
}

// backoff produces jittered, exponentially growing waits. It is used by one
// goroutine (the subscriber's Run loop) and is not safe for concurrent use.
type backoff struct {
	opts   BackoffOptions
	base   time.Duration
	random func() float64
}

func newBackoff(opts BackoffOptions, random func() float64) *backoff {
	if random == nil {
		random = rand.Float64
	}
	opts = opts.withDefaults()
	return &backoff{opts: opts, base: opts.Initial, random: random}
}

// Next returns the wait before the next attempt and grows the base.
func (b *backoff) Next() time.Duration {
	d := b.base + time.Duration(b.opts.Jitter*b.random()*float64(b.base))
	if d > b.opts.Max {
		d = b.opts.Max
	}
	next := time.Duration(float64(b.base) * b.opts.Factor)
	if next > b.opts.Max || next <= 0 {
		next = b.opts.Max
	}
	b.base = next
	return d
}

// Reset starts the sequence again from Initial.
func (b *backoff) Reset() { b.base = b.opts.Initial }
