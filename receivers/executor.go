package receivers

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Executor runs one trigger of a receiver and says what to answer the sender. It is called on the request's
// goroutine with the request's context; it should answer within its own deadline (the HTTP server's write
// timeout is the hard limit) and queue long work rather than run it here.
type Executor interface {
	Execute(ctx context.Context, t Trigger) Outcome
}

// ExecutorFunc adapts a function to Executor.
type ExecutorFunc func(ctx context.Context, t Trigger) Outcome

// Execute calls f.
func (f ExecutorFunc) Execute(ctx context.Context, t Trigger) Outcome { return f(ctx, t) }

// Trigger is one authenticated POST to a receiver's trigger URL.
type Trigger struct {
	Receiver Receiver
	// Body is the request body as received (at most Options.MaxBodyBytes); empty for a bare POST.
	Body []byte
	// Header is the request's header. Query is the request's query; it contains the key: never log either
	// wholesale.
	Header http.Header
	Query  url.Values
	// Received is when the request arrived.
	Received time.Time
}

// Outcome is the answer to a trigger. Status zero means 200. Body, when non-nil, is written as JSON; nil means
// an empty body.
type Outcome struct {
	Status int
	Body   any
}
