package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/httpserve"
)

// Defaults applied by New when the matching Options field is zero.
const (
	// DefaultCheckTimeout bounds one evaluation of all checks. It stays below
	// the 3000 ms response_timeout of the Rancher health_check so a slow check
	// is reported as a 503 with a reason rather than as an HAProxy timeout.
	DefaultCheckTimeout = 2 * time.Second
	// DefaultShutdownTimeout bounds graceful shutdown after ctx is cancelled.
	DefaultShutdownTimeout = 5 * time.Second
)

// Server timeouts. Health probes are tiny GET requests; a scrape of /metrics
// is the slowest thing served, hence the larger write timeout.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
	maxBodyBytes      = 4 << 10
)

// ErrInvalidOptions is wrapped by the error New returns for bad Options.
var ErrInvalidOptions = errors.New("invalid healthcheck options")

// ErrAlreadyRunning is returned by a second call to Run.
var ErrAlreadyRunning = errors.New("healthcheck server already running")

// Options configures a Server. Addr or Listener is required.
type Options struct {
	// Addr is the TCP address to listen on, e.g. ":10240". Ignored when
	// Listener is set.
	Addr string
	// Listener, when set, is served instead of listening on Addr (tests pass
	// a 127.0.0.1:0 listener). Run closes it on return.
	Listener net.Listener
	// Checks are the readiness checks behind /healthcheck and /readyz.
	Checks []Check
	// Liveness are optional checks behind /healthz. With none, /healthz
	// answers 200 whenever the server can answer at all.
	Liveness []Check
	// Gatherer backs /metrics. When nil, /metrics answers 404.
	Gatherer prometheus.Gatherer
	// Logger receives the server's logs; nil discards them.
	Logger logrus.FieldLogger
	// CheckTimeout bounds one evaluation of a set of checks; zero means
	// DefaultCheckTimeout.
	CheckTimeout time.Duration
	// ShutdownTimeout bounds graceful shutdown; zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

// health states remembered between requests so that only changes are logged.
const (
	stateUnknown int32 = iota
	stateHealthy
	stateUnhealthy
)

// Server is the health listener. Build it with New and start it with Run.
type Server struct {
	addr            string
	checks          []Check
	liveness        []Check
	gatherer        prometheus.Gatherer
	log             logrus.FieldLogger
	checkTimeout    time.Duration
	shutdownTimeout time.Duration
	handler         http.Handler

	// state is the last readiness outcome, for logging transitions only.
	state atomic.Int32

	mu       sync.Mutex
	running  bool
	listener net.Listener
	ready    chan struct{}
}

// New validates opts and builds a Server. It starts nothing.
func New(opts Options) (*Server, error) {
	if opts.Listener == nil && strings.TrimSpace(opts.Addr) == "" {
		return nil, fmt.Errorf("%w: one of Addr or Listener is required", ErrInvalidOptions)
	}
	if opts.CheckTimeout < 0 || opts.ShutdownTimeout < 0 {
		return nil, fmt.Errorf("%w: timeouts must not be negative", ErrInvalidOptions)
	}
	if err := validateChecks("readiness", opts.Checks); err != nil {
		return nil, err
	}
	if err := validateChecks("liveness", opts.Liveness); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		discard := logrus.New()
		discard.SetOutput(io.Discard)
		logger = discard
	}
	s := &Server{
		addr:            opts.Addr,
		checks:          append([]Check(nil), opts.Checks...),
		liveness:        append([]Check(nil), opts.Liveness...),
		gatherer:        opts.Gatherer,
		log:             logger.WithField("component", "healthcheck"),
		checkTimeout:    opts.CheckTimeout,
		shutdownTimeout: opts.ShutdownTimeout,
		listener:        opts.Listener,
		ready:           make(chan struct{}),
	}
	if s.checkTimeout == 0 {
		s.checkTimeout = DefaultCheckTimeout
	}
	if s.shutdownTimeout == 0 {
		s.shutdownTimeout = DefaultShutdownTimeout
	}
	s.handler = s.routes()
	return s, nil
}

// validateChecks rejects checks that would make the JSON body ambiguous or
// the handler panic.
func validateChecks(kind string, checks []Check) error {
	seen := make(map[string]bool, len(checks))
	for i, c := range checks {
		switch {
		case strings.TrimSpace(c.Name) == "":
			return fmt.Errorf("%w: %s check %d has no name", ErrInvalidOptions, kind, i)
		case c.Func == nil:
			return fmt.Errorf("%w: %s check %q has no func", ErrInvalidOptions, kind, c.Name)
		case seen[c.Name]:
			return fmt.Errorf("%w: duplicate %s check %q", ErrInvalidOptions, kind, c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// Handler returns the routes with panic recovery, for embedding in another
// server or for tests; Run serves the same handler.
func (s *Server) Handler() http.Handler {
	return s.handler
}

// Ready is closed once Run is listening; Addr is valid from then on.
func (s *Server) Ready() <-chan struct{} {
	return s.ready
}

// Addr returns the address being served, or nil before Run listens.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.ready:
		return s.listener.Addr()
	default:
		return nil
	}
}

// Run listens (unless Options.Listener was given) and serves until ctx is
// cancelled, then shuts down gracefully (httpserve.Serve: requests in flight
// may finish within the shutdown timeout). A shutdown caused by ctx returns
// nil; a listen or serve failure returns an error. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return ErrAlreadyRunning
	}
	s.running = true
	ln := s.listener
	s.mu.Unlock()

	if ln == nil {
		var lc net.ListenConfig
		l, err := lc.Listen(ctx, "tcp", s.addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", s.addr, err)
		}
		ln = l
		s.mu.Lock()
		s.listener = ln
		s.mu.Unlock()
	}
	close(s.ready)

	return httpserve.Serve(ctx, ln, s.handler, httpserve.Options{
		Name:              "healthcheck",
		Logger:            s.log,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ShutdownTimeout:   s.shutdownTimeout,
	})
}
