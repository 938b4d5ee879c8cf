package receivers

import (
	"context"
	"net"
	"time"

	"github.com/rancher/scale-subscriber/httpserve"
)

// Server timeouts. Reads are small, so a client that trickles its headers (slowloris) or its body is cut off
// early; the write timeout must outlast an Executor that answers when the work is done (a scale trigger waits
// for its PUT), so it is generous. ServeOptions can change them.
const (
	DefaultWriteTimeout      = 2 * time.Minute
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second

	idleTimeout    = 2 * time.Minute
	maxHeaderBytes = 64 << 10
)

// ServeOptions tunes Serve; the zero value takes the defaults.
type ServeOptions struct {
	// WriteTimeout bounds one request from the end of its headers to the end of its answer; zero means
	// DefaultWriteTimeout.
	WriteTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown after ctx ends; zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers (a connection that does not finish them in time is
	// closed); zero means DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (a body still arriving then fails to read, and
	// the request does nothing); zero means DefaultReadTimeout.
	ReadTimeout time.Duration
}

// Serve serves the API on ln until ctx ends, then shuts down gracefully (requests in flight may finish within
// the shutdown timeout). It closes ln. A shutdown caused by ctx returns nil.
func (a *API) Serve(ctx context.Context, ln net.Listener, opts ServeOptions) error {
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = DefaultReadTimeout
	}
	// Request contexts outlive ctx (the default): at shutdown a trigger in flight runs to its answer, which
	// the workers' drain and the Executor's Close provide, within the shutdown timeout.
	return httpserve.Serve(ctx, ln, a.handler, httpserve.Options{
		Name:              "receivers api",
		Logger:            a.log,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ShutdownTimeout:   opts.ShutdownTimeout,
	})
}
