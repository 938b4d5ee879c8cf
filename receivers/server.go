package receivers

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
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
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(logWriter{log: a.log}, "", 0),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	a.log.WithField("address", ln.Addr().String()).Info("receivers api listening")

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve receivers api: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.ShutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(shutdownCtx)
	serveErr := <-served
	if shutdownErr != nil {
		_ = srv.Close()
		return fmt.Errorf("shut down receivers api: %w", shutdownErr)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve receivers api: %w", serveErr)
	}
	a.log.Info("receivers api stopped")
	return nil
}

// logWriter routes net/http's own server errors into the logger. They never contain a request URL.
type logWriter struct {
	log logrus.FieldLogger
}

func (w logWriter) Write(p []byte) (int, error) {
	w.log.WithField("err", strings.TrimSpace(string(p))).Warn("http server error")
	return len(p), nil
}
