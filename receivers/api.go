package receivers

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
)

// apiPrefix is where Rancher's proxy mounts the service (cattle-protocol.md §6).
const apiPrefix = "/v1-webhooks"

// DefaultMaxBodyBytes caps request bodies when Options.MaxBodyBytes is zero. Registry and Alertmanager
// notifications are a few KiB; 1 MiB leaves room for large alert groups.
const DefaultMaxBodyBytes int64 = 1 << 20

// Cattle is what the API needs from the Cattle client (*cattle.Client implements it). Every call is scoped to
// the client's project.
type Cattle interface {
	ProjectID() string
	List(ctx context.Context, schemaID string, opts cattle.ListOptions, out any) error
	ByID(ctx context.Context, schemaID, id string, out any) error
	Create(ctx context.Context, schemaID string, in, out any) error
	Delete(ctx context.Context, r *cattle.Resource, out any) error
}

// Options configures New. Cattle, Store and Executor are required.
type Options struct {
	// Cattle is the project-scoped client receivers are stored through; its project is the only one served.
	Cattle Cattle
	// Store is the cache: receivers are listed and triggers authenticated from it, services looked up in it,
	// and writes are applied to it at once (read-your-writes).
	Store *cache.Store
	// Executor runs triggers.
	Executor Executor
	// Synced reports whether the cache has completed its first sync. Until it has, lists and trigger lookups go
	// to Cattle instead. Nil means always synced.
	Synced func() bool
	// PublicURL is the base of the trigger URLs handed out (--public-url), e.g. https://hooks.example.com;
	// empty means derived from each request, as the original did.
	PublicURL string
	// Executions, when set, is mounted at /v1-webhooks/executions (after the project check).
	Executions http.Handler
	// UI, when set, is mounted at /v1-webhooks/ui/ with that prefix stripped (webui.Handler): a static page,
	// served without a project check like the schemas; the API calls it makes are checked as any other.
	UI http.Handler
	// Notify validates receivers' notify configs when they are saved (an e-mail needs an SMTP server); nil
	// means they are only checked on their own (notify.ReceiverConfig.Validate).
	Notify NotifyChecker
	// MaxBodyBytes caps request bodies; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// RateLimit is the service-wide trigger rate limit of receivers without their own rateLimit; zero means
	// DefaultRateLimit, a negative PerMinute none.
	RateLimit RateLimit
	// Rejections records triggers refused over their rate limit in the execution history; nil records none.
	Rejections RejectionRecorder
	// Logger defaults to a discarding logger.
	Logger logrus.FieldLogger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// KeySource supplies the randomness of new keys; nil means crypto/rand.
	KeySource io.Reader
}

// API serves /v1-webhooks. Build it with New; it is safe for concurrent use.
type API struct {
	cattle     Cattle
	store      *cache.Store
	exec       Executor
	synced     func() bool
	publicURL  string
	executions http.Handler
	notify     NotifyChecker
	ui         http.Handler
	maxBody    int64
	log        logrus.FieldLogger
	now        func() time.Time
	keys       io.Reader
	projectID  string
	schemas    []schema
	handler    http.Handler
	recent     *recentWrites
	limits     *limiter
	rejections RejectionRecorder

	// writeMu serialises creates, updates and deletes, so that the name-uniqueness check and the write that
	// relies on it cannot interleave with another write of this service.
	writeMu sync.Mutex
}

// ErrInvalidOptions is wrapped by the error New returns for bad Options.
var ErrInvalidOptions = errors.New("invalid receivers options")

// New validates opts and builds the API. It starts nothing.
func New(opts Options) (*API, error) {
	switch {
	case opts.Cattle == nil:
		return nil, fmt.Errorf("%w: a cattle client is required", ErrInvalidOptions)
	case opts.Store == nil:
		return nil, fmt.Errorf("%w: a cache store is required", ErrInvalidOptions)
	case opts.Executor == nil:
		return nil, fmt.Errorf("%w: an executor is required", ErrInvalidOptions)
	case opts.Cattle.ProjectID() == "":
		return nil, fmt.Errorf("%w: the cattle client has no project", ErrInvalidOptions)
	case opts.MaxBodyBytes < 0:
		return nil, fmt.Errorf("%w: negative max body size %d", ErrInvalidOptions, opts.MaxBodyBytes)
	}
	var def *RateLimit
	switch rl := opts.RateLimit; {
	case rl.PerMinute == 0 && rl.Burst == 0:
		d := DefaultRateLimit()
		def = &d
	case rl.PerMinute > 0:
		if err := rl.Validate(); err != nil {
			return nil, fmt.Errorf("%w: rate limit: %w", ErrInvalidOptions, err)
		}
		def = &rl
	case rl.PerMinute == 0:
		return nil, fmt.Errorf("%w: rate limit burst %d without a rate", ErrInvalidOptions, rl.Burst)
	}
	public := strings.TrimRight(strings.TrimSpace(opts.PublicURL), "/")
	if public != "" {
		u, err := url.Parse(public)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%w: public url %q must be an absolute http(s) URL without query", ErrInvalidOptions, opts.PublicURL)
		}
	}
	a := &API{
		cattle:     opts.Cattle,
		store:      opts.Store,
		exec:       opts.Executor,
		synced:     opts.Synced,
		publicURL:  public,
		executions: opts.Executions,
		ui:         opts.UI,
		notify:     opts.Notify,
		maxBody:    opts.MaxBodyBytes,
		log:        opts.Logger,
		now:        opts.Now,
		keys:       opts.KeySource,
		projectID:  opts.Cattle.ProjectID(),
		schemas:    schemaDefinitions(),
		limits:     newLimiter(def),
		rejections: opts.Rejections,
	}
	if a.synced == nil {
		a.synced = func() bool { return true }
	}
	if a.maxBody == 0 {
		a.maxBody = DefaultMaxBodyBytes
	}
	if a.log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		a.log = l
	}
	a.log = a.log.WithField("component", "receivers")
	if a.now == nil {
		a.now = time.Now
	}
	if a.keys == nil {
		a.keys = rand.Reader
	}
	a.recent = newRecentWrites(a.now)
	a.handler = a.recoverPanics(a.limitBody(http.HandlerFunc(a.route)))
	return a, nil
}

// Handler serves /v1-webhooks and everything under it (anything else answers a JSON 404), with panic
// recovery and the body cap.
func (a *API) Handler() http.Handler { return a.handler }

// ProjectID is the one project the API serves.
func (a *API) ProjectID() string { return a.projectID }
