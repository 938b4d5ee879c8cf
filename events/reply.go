package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
)

// Values of Reply.Transitioning understood by Cattle.
const (
	// TransitioningYes marks a progress keep-alive; Cattle resets the
	// request's timeout.
	TransitioningYes = "yes"
	// TransitioningNo marks success (as does an absent value).
	TransitioningNo = "no"
	// TransitioningError marks failure; TransitioningMessage becomes the
	// resource's error message.
	TransitioningError = "error"
)

// DefaultReplyTimeout bounds one reply publish.
const DefaultReplyTimeout = 10 * time.Second

// Reply is the body Cattle expects on POST /v2-beta/publish to answer a
// request event. Name is the request's replyTo and PreviousIDs[0] the
// request's id; that pair is how Cattle matches the reply.
type Reply struct {
	Name                         string          `json:"name"`
	PreviousIDs                  []string        `json:"previousIds,omitempty"`
	Data                         json.RawMessage `json:"data,omitempty"`
	Transitioning                string          `json:"transitioning,omitempty"`
	TransitioningMessage         string          `json:"transitioningMessage,omitempty"`
	TransitioningInternalMessage string          `json:"transitioningInternalMessage,omitempty"`
	// TransitioningProgress is a percentage; nil leaves it out.
	TransitioningProgress *int   `json:"transitioningProgress,omitempty"`
	ResourceID            string `json:"resourceId,omitempty"`
	ResourceType          string `json:"resourceType,omitempty"`
	// Time is epoch milliseconds.
	Time int64 `json:"time,omitempty"`
}

// Publisher sends a reply to Cattle. main adapts the Cattle REST client to
// it; the events package does not import that client.
type Publisher interface {
	Publish(ctx context.Context, r Reply) error
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, r Reply) error

// Publish implements Publisher.
func (f PublisherFunc) Publish(ctx context.Context, r Reply) error { return f(ctx, r) }

// ReplierOptions configures a Replier.
type ReplierOptions struct {
	// Publisher is required.
	Publisher Publisher
	// Timeout bounds each publish; default DefaultReplyTimeout.
	Timeout time.Duration
	// Logger defaults to a discarding logger.
	Logger logrus.FieldLogger
	// Metrics counts failed publishes; nil records nothing.
	Metrics *Metrics
	// Now defaults to time.Now.
	Now func() time.Time
}

// Replier answers Cattle request events. Every method is a no-op returning
// nil for an event without ReplyTo: resource.change and API pings expect no
// answer, and a reply without a name is rejected by Cattle anyway.
type Replier struct {
	opts ReplierOptions
	log  logrus.FieldLogger
}

// NewReplier validates opts and returns a Replier.
func NewReplier(opts ReplierOptions) (*Replier, error) {
	if opts.Publisher == nil {
		return nil, errors.New("new replier: publisher is required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultReplyTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Replier{opts: opts, log: componentLogger(opts.Logger)}, nil
}

// Success publishes a success reply (no transitioning) carrying data, which
// may be nil; Cattle merges data into the resource as the handler's result.
func (r *Replier) Success(ctx context.Context, ev Event, data json.RawMessage) error {
	rep := r.base(ev)
	rep.Data = data
	return r.publish(ctx, ev, rep)
}

// Error publishes a failure reply with err's message.
func (r *Replier) Error(ctx context.Context, ev Event, err error) error {
	rep := r.base(ev)
	rep.Transitioning = TransitioningError
	if err != nil {
		rep.TransitioningMessage = err.Error()
	} else {
		rep.TransitioningMessage = "unknown error"
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		rep.TransitioningInternalMessage = "panic"
	}
	return r.publish(ctx, ev, rep)
}

// Progress publishes a transitioning:"yes" keep-alive with a message and a
// percentage (clamped to 0..100), which also resets Cattle's reply timeout.
func (r *Replier) Progress(ctx context.Context, ev Event, msg string, percent int) error {
	rep := r.base(ev)
	rep.Transitioning = TransitioningYes
	rep.TransitioningMessage = msg
	p := min(max(percent, 0), 100)
	rep.TransitioningProgress = &p
	return r.publish(ctx, ev, rep)
}

// Finish publishes Success (err == nil) or Error.
func (r *Replier) Finish(ctx context.Context, ev Event, err error) error {
	if err != nil {
		return r.Error(ctx, ev, err)
	}
	return r.Success(ctx, ev, nil)
}

// For binds the Replier to one event, for handlers that report progress.
func (r *Replier) For(ev Event) *Responder { return &Responder{r: r, ev: ev} }

func (r *Replier) base(ev Event) Reply {
	return Reply{
		Name:         ev.ReplyTo,
		PreviousIDs:  []string{ev.ID},
		ResourceID:   ev.ResourceID,
		ResourceType: ev.ResourceType,
		Time:         r.opts.Now().UnixMilli(),
	}
}

func (r *Replier) publish(ctx context.Context, ev Event, rep Reply) error {
	if ev.ReplyTo == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	if err := r.opts.Publisher.Publish(ctx, rep); err != nil {
		r.opts.Metrics.replyFailed()
		r.log.WithFields(eventFields(ev)).WithError(err).Error("publish reply failed")
		return fmt.Errorf("publish reply for event %s: %w", ev.ID, err)
	}
	return nil
}

// Responder answers one request event; see Replier.
type Responder struct {
	r  *Replier
	ev Event
}

// Progress publishes a transitioning:"yes" keep-alive for the bound event.
func (s *Responder) Progress(ctx context.Context, msg string, percent int) error {
	return s.r.Progress(ctx, s.ev, msg, percent)
}

// Success publishes a success reply for the bound event.
func (s *Responder) Success(ctx context.Context, data json.RawMessage) error {
	return s.r.Success(ctx, s.ev, data)
}

// Error publishes a failure reply for the bound event.
func (s *Responder) Error(ctx context.Context, err error) error {
	return s.r.Error(ctx, s.ev, err)
}
