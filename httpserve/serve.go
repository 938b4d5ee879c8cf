package httpserve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// ErrInvalidOptions is wrapped by the error Serve returns for bad arguments.
var ErrInvalidOptions = errors.New("invalid http server options")

// Options configures Serve. There are no hidden defaults: each caller states its own limits.
type Options struct {
	// Name names the server in logs and errors ("healthcheck", "receivers api"): Serve logs "<name>
	// listening" and "<name> stopped", and wraps errors as "serve <name>: ..." or "shut down <name>: ...".
	// Required.
	Name string
	// Logger receives the lifecycle logs and net/http's own server errors ("http server error"); nil
	// discards them.
	Logger logrus.FieldLogger
	// ReadHeaderTimeout bounds reading a request's headers; a connection that does not finish them in time
	// is closed. Required (positive): without it a client trickling its headers holds a connection forever.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included; zero means none (as in net/http: needed
	// for long-lived websockets).
	ReadTimeout time.Duration
	// WriteTimeout bounds one request from the end of its headers to the end of its answer; zero means none.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its next request; zero means
	// ReadTimeout (net/http's rule).
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the request line and headers; zero means http.DefaultMaxHeaderBytes (1 MiB).
	MaxHeaderBytes int
	// ShutdownTimeout bounds the graceful shutdown after ctx ends; connections still busy then are closed.
	// Required (positive).
	ShutdownTimeout time.Duration
	// CancelRequests makes request contexts end when ctx ends. By default they carry ctx's values but
	// outlive it, so requests in flight at shutdown run to completion within ShutdownTimeout (the receivers
	// API relies on this: a trigger in flight must be answered, not cut off).
	CancelRequests bool
}

// validate reports the first bad argument.
func (o Options) validate(h http.Handler) error {
	switch {
	case strings.TrimSpace(o.Name) == "":
		return fmt.Errorf("%w: a name is required", ErrInvalidOptions)
	case h == nil:
		return fmt.Errorf("%w: %s has no handler", ErrInvalidOptions, o.Name)
	case o.ReadHeaderTimeout <= 0:
		return fmt.Errorf("%w: %s needs a positive read header timeout", ErrInvalidOptions, o.Name)
	case o.ShutdownTimeout <= 0:
		return fmt.Errorf("%w: %s needs a positive shutdown timeout", ErrInvalidOptions, o.Name)
	case o.ReadTimeout < 0 || o.WriteTimeout < 0 || o.IdleTimeout < 0:
		return fmt.Errorf("%w: %s timeouts must not be negative", ErrInvalidOptions, o.Name)
	case o.MaxHeaderBytes < 0:
		return fmt.Errorf("%w: %s max header bytes must not be negative", ErrInvalidOptions, o.Name)
	}
	return nil
}

// Serve serves h on ln until ctx ends, then shuts down gracefully: the listener closes at once, requests in
// flight may finish within o.ShutdownTimeout, and whatever is still open then is closed. Serve always closes
// ln. A shutdown caused by ctx returns nil; a listener failure (with ctx still live) or a shutdown that ran
// out of time returns an error.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, o Options) error {
	if ln == nil {
		return fmt.Errorf("%w: no listener", ErrInvalidOptions)
	}
	if err := o.validate(h); err != nil {
		_ = ln.Close()
		return err
	}
	logger := o.Logger
	if logger == nil {
		logger = discardLogger()
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ErrorLog:          log.New(logWriter{log: logger}, "", 0),
		BaseContext: func(net.Listener) context.Context {
			if o.CancelRequests {
				return ctx
			}
			return context.WithoutCancel(ctx)
		},
	}
	addr := ln.Addr().String()
	logger.WithFields(logrus.Fields{"address": addr, "url": "http://" + addr}).Info(o.Name + " listening")

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		// Serve only returns on its own when the listener fails. The connections it accepted would have no
		// owner left: close them.
		_ = srv.Close()
		return fmt.Errorf("serve %s: %w", o.Name, err)
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(shutdownCtx)
	serveErr := <-served
	if shutdownErr != nil {
		_ = srv.Close()
		return fmt.Errorf("shut down %s: %w", o.Name, shutdownErr)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", o.Name, serveErr)
	}
	logger.Info(o.Name + " stopped")
	return nil
}

// logWriter routes net/http's internal server errors (accept failures, bad TLS, superfluous WriteHeader
// calls) into the logger under a static message. They never contain a request's query.
type logWriter struct {
	log logrus.FieldLogger
}

func (w logWriter) Write(p []byte) (int, error) {
	w.log.WithField("err", strings.TrimSpace(string(p))).Warn("http server error")
	return len(p), nil
}

// discardLogger stands in for a nil Logger.
func discardLogger() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}
