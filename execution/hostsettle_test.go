package execution

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/scale"
)

// Host writes that get no answer, driven step by step against a fake Cattle that applies (or not) each write
// and then fails it as a lost answer would, on a fake clock: every retry settles them from the listing, so a
// trigger creates or removes exactly the hosts of its plan, once each; GiveUp and Close never answer "send
// again" once something may have changed.

// Faults of the fake's next host writes.
const (
	faultNone     = ""
	faultLost     = "lost"      // applied; the answer is lost (client timeout)
	faultBadGate  = "502"       // applied; a proxy answers 502
	faultCut      = "cut"       // not applied; the connection breaks
	faultRejected = "rejected"  // not applied; cattle answers 422
	faultQuiet    = "lost-slow" // evacuation applied but its host shows nothing yet; the answer is lost
	faultRefused  = "refused"   // not applied; the connection is refused, nothing is sent
	faultLate     = "late"      // create applied only after the next listing (held by a proxy); the answer is lost
	faultBadBody  = "bad-body"  // applied; the 2xx answer does not decode (not retryable)
	faultNoDNS    = "no-dns"    // not applied; cattle's name does not resolve (not retryable)
)

// testCattleTimeout is the fake's request timeout. The fixture's settle window setting is shorter, so the
// window is this: a create that got no answer is settled as not applied no earlier than this after it failed.
const testCattleTimeout = 10 * time.Second

// hostCattle is a fake Cattle holding hosts, plus the executor's cache, queue and clock.
type hostCattle struct {
	mu      sync.Mutex
	hosts   []cattle.Host
	next    int
	listErr error
	faults  []string
	// always is the fault of every host write once faults is used up.
	always string
	// failListAfterPost makes the first listing after each host create fail with a 503.
	failListAfterPost, listFails bool
	// posts counts the host creates received, applied or not.
	posts int
	// timeout is what Timeout answers (testCattleTimeout by default).
	timeout   time.Duration
	creates   []string
	evacuated []string
	// late is a create that lands after the next listing (faultLate).
	late *cattle.Host
	// delays are the delayed re-adds of the group's key.
	delays []time.Duration
	clock  time.Time
}

func newHostCattle() *hostCattle {
	c := &hostCattle{clock: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), timeout: testCattleTimeout}
	c.add("worker-01", "amazonec2", "active", workers())
	c.add("worker-02", "amazonec2", "active", workers())
	c.add("custom-01", "", "active", workers())
	return c
}

// add stores a host created after every other one and returns its id.
func (c *hostCattle) add(hostname, driver, state string, labels map[string]string) string {
	h := c.newHost(hostname, driver, state, labels)
	c.hosts = append(c.hosts, h)
	return h.ID
}

// newHost makes a host with the next id, without storing it.
func (c *hostCattle) newHost(hostname, driver, state string, labels map[string]string) cattle.Host {
	c.next++
	h := cattle.Host{Hostname: hostname, Driver: driver, Labels: labels}
	h.ID, h.State, h.CreatedTS = "1h"+strconv.Itoa(c.next), state, int64(1000*c.next)
	if driver != "" {
		h.DriverConfigs = map[string]json.RawMessage{driver + "Config": json.RawMessage(`{"region":"us-west-2"}`)}
	}
	return h
}

// now is the executor's clock.
func (c *hostCattle) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clock
}

// advance moves the clock on.
func (c *hostCattle) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock = c.clock.Add(d)
}

func (c *hostCattle) fault() string {
	if len(c.faults) == 0 {
		return c.always
	}
	f := c.faults[0]
	c.faults = c.faults[1:]
	return f
}

// faultErr is the error a write's fault makes the client return.
func faultErr(f string) error {
	switch f {
	case faultLost, faultQuiet:
		return &cattle.TransportError{Method: http.MethodPost, URL: "http://cattle/v2-beta", Err: context.DeadlineExceeded}
	case faultBadGate:
		return &cattle.APIError{Status: http.StatusBadGateway}
	case faultCut:
		return &cattle.TransportError{Method: http.MethodPost, URL: "http://cattle/v2-beta", Err: syscall.ECONNRESET}
	case faultRejected:
		return &cattle.APIError{Status: http.StatusUnprocessableEntity, Code: "InvalidOption"}
	case faultRefused:
		// What the client returns when the dial fails (cattle.Client.transportError unwraps the *url.Error).
		return &cattle.TransportError{Method: http.MethodPost, URL: "http://cattle/v2-beta", Err: &net.OpError{
			Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}}
	case faultLate:
		return &cattle.TransportError{Method: http.MethodPost, URL: "http://cattle/v2-beta",
			Err: fmt.Errorf("no response within 10s: %w", context.DeadlineExceeded)}
	case faultBadBody:
		return fmt.Errorf("create host: decode response of POST http://cattle/v2-beta/hosts: %w",
			&json.SyntaxError{Offset: 1})
	case faultNoDNS:
		return &cattle.TransportError{Method: http.MethodPost, URL: "http://cattle/v2-beta", Err: &net.OpError{
			Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "cattle", IsNotFound: true}}}
	}
	return nil
}

// notApplied reports whether a write with fault f fails before Cattle applies it.
func notApplied(f string) bool {
	return f == faultCut || f == faultRejected || f == faultRefused || f == faultNoDNS
}

func (c *hostCattle) ListHosts(context.Context, cattle.ListOptions) ([]cattle.Host, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.listErr != nil {
		return nil, c.listErr
	}
	if c.listFails {
		c.listFails = false
		return nil, &cattle.APIError{Status: http.StatusServiceUnavailable}
	}
	var out []cattle.Host
	for _, h := range c.hosts {
		if h.State != "purged" {
			out = append(out, h)
		}
	}
	if c.late != nil {
		// The held create lands just after this listing was answered.
		c.hosts, c.late = append(c.hosts, *c.late), nil
	}
	return out, nil
}

func (c *hostCattle) GetHost(_ context.Context, id string) (*cattle.Host, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range c.hosts {
		if h.ID == id {
			return &h, nil
		}
	}
	return nil, cattle.ErrNotFound
}

func (c *hostCattle) CreateHost(_ context.Context, input any) (*cattle.Host, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := input.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("create input %T", input)
	}
	hostname, ok := m["hostname"].(string)
	if !ok {
		return nil, fmt.Errorf("create input without hostname: %v", m)
	}
	labels, ok := m["labels"].(map[string]string)
	if !ok {
		return nil, fmt.Errorf("create input without labels: %v", m)
	}
	c.posts++
	c.listFails = c.failListAfterPost
	f := c.fault()
	if notApplied(f) {
		return nil, faultErr(f)
	}
	c.creates = append(c.creates, hostname)
	if f == faultLate {
		h := c.newHost(hostname, "amazonec2", "provisioning", labels)
		c.late = &h
		return nil, faultErr(f)
	}
	c.add(hostname, "amazonec2", "provisioning", labels)
	if err := faultErr(f); err != nil {
		return nil, err
	}
	h := c.hosts[len(c.hosts)-1]
	return &h, nil
}

func (c *hostCattle) CreateExternalHostEvent(_ context.Context, ev cattle.ExternalHostEvent) (*cattle.ExternalHostEvent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.fault()
	if notApplied(f) {
		return nil, faultErr(f)
	}
	c.evacuated = append(c.evacuated, ev.HostID)
	if f != faultQuiet {
		for i := range c.hosts {
			if c.hosts[i].ID == ev.HostID {
				c.hosts[i].State = "removing"
			}
		}
	}
	if err := faultErr(f); err != nil {
		return nil, err
	}
	return &ev, nil
}

func (c *hostCattle) GetService(context.Context, string) (*cattle.Service, error) {
	return nil, cattle.ErrNotFound
}
func (c *hostCattle) UpdateService(context.Context, *cattle.Service, map[string]any) (*cattle.Service, error) {
	return nil, fmt.Errorf("update not expected")
}
func (c *hostCattle) ServiceAction(context.Context, *cattle.Service, string, any) (*cattle.Service, error) {
	return nil, fmt.Errorf("action not expected")
}
func (c *hostCattle) Service(string) (*cattle.Service, bool)          { return nil, false }
func (c *hostCattle) ServicesWithRepository(string) []*cattle.Service { return nil }
func (c *hostCattle) InstancesOfService(string) []*cattle.Instance    { return nil }
func (c *hostCattle) Receiver(string) (*cattle.GenericObject, bool)   { return nil, false }
func (c *hostCattle) Add(string)                                      {}

// Timeout is the fake client's request timeout.
func (c *hostCattle) Timeout() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timeout
}

func (c *hostCattle) AddAfter(_ string, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delays = append(c.delays, d)
}

// postCount returns the host creates received so far.
func (c *hostCattle) postCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.posts
}

// requeued returns the delayed re-adds of the group's key so far.
func (c *hostCattle) requeued() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.delays)
}

// set changes the fake under its lock.
func (c *hostCattle) set(f func(c *hostCattle)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c)
}

// createdNames are the hostnames cattle created, in order.
func (c *hostCattle) createdNames() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.creates)
}

// evacuations are the host ids whose evacuation cattle applied, in order.
func (c *hostCattle) evacuations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.evacuated)
}

func (c *hostCattle) idOf(hostname string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range c.hosts {
		if h.Hostname == hostname {
			return h.ID
		}
	}
	return ""
}

// named returns copies of the hosts called hostname, in creation order.
func (c *hostCattle) named(hostname string) []cattle.Host {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []cattle.Host
	for _, h := range c.hosts {
		if h.Hostname == hostname {
			out = append(out, h)
		}
	}
	return out
}

// setHost changes the host with id under the fake's lock.
func (c *hostCattle) setHost(id string, f func(h *cattle.Host)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.hosts {
		if c.hosts[i].ID == id {
			f(&c.hosts[i])
		}
	}
}

// workers is the selector of the fake's group.
func workers() map[string]string { return map[string]string{"pool": "workers"} }

// hostFixture is an executor on a hostCattle, its triggers filed on the pool=workers group.
type hostFixture struct {
	t   *testing.T
	c   *hostCattle
	x   *Executor
	key string
}

func newHostFixture(t *testing.T) *hostFixture {
	t.Helper()
	c := newHostCattle()
	x, err := New(Options{Cattle: c, Cache: c, Queue: c, Router: events.NewRouter(events.RouterOptions{}),
		HostCreateSettleWindow: time.Second, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return &hostFixture{t: t, c: c, x: x, key: events.Key(hostGroupKind, scale.GroupKey(workers()))}
}

func hostUp(amount, hi int) scale.HostRequest {
	return scale.HostRequest{Action: scale.ActionUp, Amount: amount, Min: 1, Max: hi, Selector: workers()}
}

func hostDown(amount, lo int) scale.HostRequest {
	return scale.HostRequest{Action: scale.ActionDown, Amount: amount, Min: lo, Max: 50, Selector: workers(),
		DeleteOption: scale.DeleteMostRecent}
}

// trigger files a scaleHost intent as the webhook.execute handler does.
func (f *hostFixture) trigger(req scale.HostRequest) *intent {
	in := newIntent(f.key, f.x.history.Start("r1", "workers", "scaleHost", time.Now()))
	in.scaleHost = &req
	if err := f.x.book.park(in); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.x.book.file(in.entry.ID()); err != nil {
		f.t.Fatal(err)
	}
	return in
}

// process runs one processing of the group, as a worker does.
func (f *hostFixture) process() error {
	return f.x.reconcileHostGroup(context.Background(), scale.GroupKey(workers()))
}

// answered returns the intent's answer if it has one.
func answered(in *intent) (Answer, bool) {
	select {
	case a := <-in.done:
		in.done <- a
		return a, true
	default:
		return Answer{}, false
	}
}

func (f *hostFixture) mustAnswer(in *intent) reply {
	f.t.Helper()
	a, ok := answered(in)
	if !ok {
		f.t.Fatalf("no answer; record %+v", in.entry.Snapshot())
	}
	r, ok := a.Body.(reply)
	if a.Status != http.StatusOK || !ok {
		f.t.Fatalf("answer %d %+v, want 200 with a reply", a.Status, a.Body)
	}
	return r
}

func recordHasStep(r Record, s string) bool {
	return slices.ContainsFunc(r.Steps, func(st Step) bool { return strings.Contains(st.Message, s) })
}

// countCalls counts the record's calls with method.
func countCalls(r Record, method string) int {
	n := 0
	for _, c := range r.Calls {
		if c.Method == method {
			n++
		}
	}
	return n
}

// An unanswered create is settled by a listing: applied (its answer lost, or a proxy's 502 after it forwarded
// it) → not sent again; not listed after a broken connection → not applied only once a request timeout has
// passed since it failed (until then the trigger waits, re-queued), then sent again once; refused connection →
// nothing was sent, planned again at once. Either way one host is created.
func TestScaleHostUnansweredCreateSettled(t *testing.T) {
	for _, tc := range []struct {
		fault, sentStep, settled string
		// waits: the first retry finds nothing and must wait for the request timeout to pass.
		waits bool
		// posts is the POST hosts the record shows: the failed one, and one more if it was not applied.
		posts int
	}{
		{faultLost, "got no answer", "the create was applied", false, 1},
		{faultBadGate, "maybe after a proxy forwarded it", "the create was applied", false, 1},
		{faultCut, "got no answer", "taken for not applied", true, 2},
		// Nothing was sent: the retry plans afresh, with no settlement step.
		{faultRefused, "was not sent (", "", false, 2},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			f := newHostFixture(t)
			f.c.set(func(c *hostCattle) { c.faults = []string{tc.fault} })
			in := f.trigger(hostUp(1, 10))
			if err := f.process(); err == nil || !cattle.IsRetryable(err) {
				t.Fatalf("first processing: %v, want a retryable error", err)
			}
			if _, ok := answered(in); ok {
				t.Fatal("answered while its create is unsettled")
			}
			if tc.waits {
				if err := f.process(); err != nil {
					t.Fatalf("retry within the request timeout: %v", err)
				}
				if _, ok := answered(in); ok || len(f.c.createdNames()) != 0 {
					t.Fatalf("the retry within the request timeout answered or created %v: it must wait",
						f.c.createdNames())
				}
				if d := f.c.requeued(); len(d) != 1 || d[0] <= 0 || d[0] > testCattleTimeout {
					t.Fatalf("delayed re-adds %v, want one within the request timeout", d)
				}
				f.c.advance(testCattleTimeout)
			}
			if err := f.process(); err != nil {
				t.Fatalf("retry: %v", err)
			}
			r := f.mustAnswer(in)
			want := scale.Decision{Result: scale.ResultScaled, From: 3, To: 4}
			if r.Decision != want || !slices.Equal(r.Targets, []string{"worker-03"}) {
				t.Errorf("answer %+v, want %+v creating worker-03", r, want)
			}
			if got := f.c.createdNames(); !slices.Equal(got, []string{"worker-03"}) {
				t.Errorf("cattle created %v, want worker-03 once", got)
			}
			rec := in.entry.Snapshot()
			if rec.Outcome != OutcomeDone || !recordHasStep(rec, tc.sentStep) {
				t.Errorf("record %+v, want done with step %q", rec, tc.sentStep)
			}
			if tc.settled != "" && !recordHasStep(rec, tc.settled) {
				t.Errorf("record %+v, want a step %q", rec, tc.settled)
			}
			if settles := recordHasStep(rec, "cattle lists") || recordHasStep(rec, "cattle does not list"); tc.settled == "" && settles {
				t.Errorf("record %+v settles a create that was never sent", rec)
			}
			if posts := countCalls(rec, http.MethodPost); posts != tc.posts {
				t.Errorf("record shows %d POST hosts, want %d", posts, tc.posts)
			}
			hosts := f.c.named("worker-03")
			if len(hosts) != 1 || !strings.HasPrefix(hosts[0].Labels[HostMarkerLabel], "r1."+rec.ID+".") {
				t.Errorf("worker-03: %+v, want one host carrying %s r1.%s...", hosts, HostMarkerLabel, rec.ID)
			}
		})
	}
}

// A create held (by a proxy, or Cattle itself) past our timeout lands after the retry's listing: the retry must
// not take "not listed" for "not applied" (that sent it again: two hosts named worker-03). It waits, and a
// later listing finds it by its marker: one host.
// A trigger filed behind it waits too, and is planned from a listing that shows the late host.
func TestScaleHostLateCreateAppliedOnce(t *testing.T) {
	f := newHostFixture(t)
	f.c.set(func(c *hostCattle) { c.faults = []string{faultLate} })
	in := f.trigger(hostUp(1, 10))
	if err := f.process(); err == nil {
		t.Fatal("first processing did not fail")
	}
	next := f.trigger(hostUp(1, 10))
	if err := f.process(); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if _, ok := answered(in); ok {
		t.Fatal("answered while the create may still land")
	}
	if _, ok := answered(next); ok || f.x.Waiting() != 2 {
		t.Fatalf("%d triggers waiting, want both: the next one is planned after the late create is settled",
			f.x.Waiting())
	}
	if got := f.c.createdNames(); !slices.Equal(got, []string{"worker-03"}) {
		t.Fatalf("cattle created %v after the retry, want worker-03 once (the held create only)", got)
	}
	if d := f.c.requeued(); len(d) != 1 || d[0] <= 0 || d[0] > testCattleTimeout {
		t.Fatalf("delayed re-adds %v, want one within the request timeout", d)
	}
	f.c.advance(testCattleTimeout)
	if err := f.process(); err != nil {
		t.Fatalf("second retry: %v", err)
	}
	r := f.mustAnswer(in)
	if r.From != 3 || r.To != 4 || !slices.Equal(r.Targets, []string{"worker-03"}) {
		t.Errorf("answer %+v, want 3 → 4 creating worker-03", r)
	}
	if got := f.c.named("worker-03"); len(got) != 1 {
		t.Errorf("cattle has %d hosts named worker-03, want 1", len(got))
	}
	if r := f.mustAnswer(next); r.From != 4 || r.To != 5 || !slices.Equal(r.Targets, []string{"worker-04"}) {
		t.Errorf("next trigger's answer %+v, want 4 → 5 creating worker-04", r)
	}
	if rec := in.entry.Snapshot(); !recordHasStep(rec, "the create may still reach it") ||
		!recordHasStep(rec, "the create was applied") {
		t.Errorf("record %+v, want steps saying it waited and found the create applied", rec)
	}
}

// A create whose 2xx answer does not decode (not retryable) may have been applied: the trigger is kept for a
// listing to settle it, not failed with "cattle refused the change".
func TestScaleHostUndecodableAnswerSettled(t *testing.T) {
	f := newHostFixture(t)
	f.c.set(func(c *hostCattle) { c.faults = []string{faultBadBody} })
	in := f.trigger(hostUp(1, 10))
	if err := f.process(); err != nil {
		t.Fatalf("first processing: %v, want the trigger kept without an error", err)
	}
	if a, ok := answered(in); ok {
		t.Fatalf("answered %+v while its create is unsettled", a)
	}
	if d := f.c.requeued(); len(d) != 1 || d[0] <= 0 {
		t.Fatalf("delayed re-adds %v, want one", d)
	}
	if err := f.process(); err != nil {
		t.Fatalf("retry: %v", err)
	}
	r := f.mustAnswer(in)
	if r.Result != scale.ResultScaled || r.To != 4 || !slices.Equal(r.Targets, []string{"worker-03"}) {
		t.Errorf("answer %+v, want scaled 3 → 4 creating worker-03", r)
	}
	if got := f.c.createdNames(); !slices.Equal(got, []string{"worker-03"}) {
		t.Errorf("cattle created %v, want worker-03 once", got)
	}
	if rec := in.entry.Snapshot(); !recordHasStep(rec, "kept until a host listing settles") ||
		recordHasStep(rec, "refused") {
		t.Errorf("record %+v, want a step saying it was kept, and no refusal", rec)
	}
}

// "Up by 2" whose first create is lost creates the second on the retry, and only it: 2 hosts, not 2 + 2.
func TestScaleHostRetryCompletesThePlan(t *testing.T) {
	f := newHostFixture(t)
	f.c.set(func(c *hostCattle) { c.faults = []string{faultLost} })
	in := f.trigger(hostUp(2, 10))
	if err := f.process(); err == nil {
		t.Fatal("first processing did not fail")
	}
	if err := f.process(); err != nil {
		t.Fatalf("retry: %v", err)
	}
	r := f.mustAnswer(in)
	if r.From != 3 || r.To != 5 || !slices.Equal(r.Targets, []string{"worker-03", "worker-04"}) {
		t.Errorf("answer %+v, want 3 → 5 creating worker-03 and worker-04", r)
	}
	if got := f.c.createdNames(); !slices.Equal(got, []string{"worker-03", "worker-04"}) {
		t.Errorf("cattle created %v, want worker-03 and worker-04 once each", got)
	}
}

// When another client grows the group while a create is unsettled, the rest of the plan is cut at max, and the
// answer says what this trigger added.
func TestScaleHostRetryKeepsMax(t *testing.T) {
	f := newHostFixture(t)
	f.c.set(func(c *hostCattle) { c.faults = []string{faultLost} })
	in := f.trigger(hostUp(2, 5))
	if err := f.process(); err == nil {
		t.Fatal("first processing did not fail")
	}
	f.c.set(func(c *hostCattle) { c.add("other-01", "amazonec2", "active", workers()) })
	if err := f.process(); err != nil {
		t.Fatalf("retry: %v", err)
	}
	r := f.mustAnswer(in)
	want := scale.Decision{Result: scale.ResultScaled, From: 3, To: 4, Reason: scale.ReasonClampedToMax}
	if r.Decision != want || !slices.Equal(r.Targets, []string{"worker-03"}) {
		t.Errorf("answer %+v, want %+v creating worker-03 only", r, want)
	}
	if got := f.c.createdNames(); !slices.Equal(got, []string{"worker-03"}) {
		t.Errorf("cattle created %v, want worker-03 only", got)
	}
	if rec := in.entry.Snapshot(); !recordHasStep(rec, "[worker-04] dropped from the plan") {
		t.Errorf("record %+v does not say worker-04 was dropped", rec)
	}
}

// An unanswered evacuation never makes the retry remove a second host: applied and visible → not sent again;
// applied but not visible yet, or not applied → sent again to the same host.
func TestScaleHostUnansweredEvacuationSettled(t *testing.T) {
	for _, tc := range []struct {
		fault, settled string
		sends          int
	}{
		{faultLost, "the evacuation was applied", 1},
		{faultQuiet, "sending the evacuation again, to the same host", 2},
		{faultCut, "sending the evacuation again, to the same host", 1},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			f := newHostFixture(t)
			c1 := f.c.idOf("custom-01")
			f.c.set(func(c *hostCattle) { c.faults = []string{tc.fault} })
			in := f.trigger(hostDown(1, 1))
			if err := f.process(); err == nil {
				t.Fatal("first processing did not fail")
			}
			if err := f.process(); err != nil {
				t.Fatalf("retry: %v", err)
			}
			r := f.mustAnswer(in)
			want := scale.Decision{Result: scale.ResultScaled, From: 3, To: 2}
			if r.Decision != want || !slices.Equal(r.Targets, []string{"custom-01"}) {
				t.Errorf("answer %+v, want %+v removing custom-01", r, want)
			}
			got := f.c.evacuations()
			if len(got) != tc.sends || slices.ContainsFunc(got, func(id string) bool { return id != c1 }) {
				t.Errorf("cattle evacuated %v, want custom-01 (%s) %d time(s) and no other host", got, c1, tc.sends)
			}
			if rec := in.entry.Snapshot(); rec.Outcome != OutcomeDone || !recordHasStep(rec, tc.settled) {
				t.Errorf("record %+v, want done with step %q", rec, tc.settled)
			}
		})
	}
}

// While Cattle keeps failing, GiveUp keeps a trigger with writes sent (the sender's retry would create its
// hosts again) and answers "retry later" to one that sent nothing; once Cattle answers, the kept one completes.
func TestScaleHostGiveUpKeepsSentWrites(t *testing.T) {
	f := newHostFixture(t)
	f.c.set(func(c *hostCattle) { c.faults = []string{faultLost} })
	sent := f.trigger(hostUp(2, 10))
	if err := f.process(); err == nil {
		t.Fatal("first processing did not fail")
	}
	unavailable := &cattle.APIError{Status: http.StatusServiceUnavailable}
	f.c.set(func(c *hostCattle) { c.listErr = unavailable })
	fresh := f.trigger(hostUp(1, 10))
	err := f.process()
	if err == nil {
		t.Fatal("processing while cattle is down did not fail")
	}
	f.x.GiveUp(f.key, err)
	if _, ok := answered(sent); ok {
		t.Fatal("the trigger with a create sent was answered while unsettled")
	}
	if a, ok := answered(fresh); !ok || a.Status != http.StatusServiceUnavailable {
		t.Errorf("the trigger that sent nothing: %+v, want 503", a)
	}
	if rec := sent.entry.Snapshot(); !recordHasStep(rec, "kept until cattle answers") {
		t.Errorf("record %+v does not say the trigger is kept", rec)
	}
	if f.x.Waiting() != 1 {
		t.Errorf("%d triggers waiting, want the kept one", f.x.Waiting())
	}
	f.c.set(func(c *hostCattle) { c.listErr = nil })
	if err := f.process(); err != nil {
		t.Fatalf("processing once cattle is back: %v", err)
	}
	if r := f.mustAnswer(sent); r.From != 3 || r.To != 5 {
		t.Errorf("answer %+v, want 3 → 5", r)
	}
	if got := f.c.createdNames(); !slices.Equal(got, []string{"worker-03", "worker-04"}) {
		t.Errorf("cattle created %v, want worker-03 and worker-04 once each", got)
	}
}

// A failure retrying cannot cure, part way, ends the trigger as failed, saying which hosts it did create and
// what failed: Cattle's refusal, or another failure (a name that does not resolve), each in its own words.
func TestScaleHostFailedPartWay(t *testing.T) {
	for _, tc := range []struct{ fault, wording, not string }{
		{faultRejected, "cattle refused the change: cattle api status 422", "the change failed"},
		{faultNoDNS, "the change failed: POST", "refused"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			f := newHostFixture(t)
			f.c.set(func(c *hostCattle) { c.faults = []string{faultNone, tc.fault} })
			in := f.trigger(hostUp(2, 10))
			if err := f.process(); err != nil {
				t.Fatalf("processing: %v", err)
			}
			r := f.mustAnswer(in)
			if r.Result != "failed" || r.To != 4 || !slices.Equal(r.Targets, []string{"worker-03"}) ||
				!strings.Contains(r.Message, "created [worker-03]") ||
				!strings.Contains(r.Message, "[worker-04] not created") {
				t.Errorf("answer %+v, want failed naming worker-03 created and worker-04 not", r)
			}
			if !strings.HasPrefix(r.Message, tc.wording) || strings.Contains(r.Message, tc.not) {
				t.Errorf("answer message %q, want it to start %q and not say %q", r.Message, tc.wording, tc.not)
			}
		})
	}
}

// Close settles the writes sent with one listing: applied → done; nothing applied → 503 (send again is safe);
// part applied or unknown → a 200 "failed" that says so, never a 503. A create not listed is taken as in normal
// operation: not applied when its connection was refused or its settle window has passed (503 when nothing of
// the trigger was applied, a partial answer otherwise), unknown within the window (it may land after the
// listing).
func TestScaleHostCloseSettles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		req     scale.HostRequest
		faults  []string
		listErr error
		// advance moves the clock on before Close; deactivate sets the evacuated host deactivating.
		advance    time.Duration
		deactivate bool
		status     int
		result     string
		message    []string
	}{
		{name: "applied", req: hostUp(1, 10), faults: []string{faultLost}, status: http.StatusOK, result: "scaled"},
		{name: "not sent", req: hostUp(1, 10), faults: []string{faultRefused}, status: http.StatusServiceUnavailable},
		{name: "part applied", req: hostUp(2, 10), faults: []string{faultNone, faultRefused}, status: http.StatusOK,
			result: "failed", message: []string{"created [worker-03]", "[worker-04] not created"}},
		{name: "lands after the listing", req: hostUp(1, 10), faults: []string{faultLate}, status: http.StatusOK,
			result: "failed", message: []string{"[worker-03] unknown", "check the group"}},
		{name: "broken, not listed", req: hostUp(1, 10), faults: []string{faultCut}, status: http.StatusOK,
			result: "failed", message: []string{"[worker-03] unknown", "check the group"}},
		{name: "broken, not listed past the window", req: hostUp(1, 10), faults: []string{faultCut},
			advance: testCattleTimeout, status: http.StatusServiceUnavailable},
		{name: "broken, not listed just within the window", req: hostUp(1, 10), faults: []string{faultCut},
			advance: testCattleTimeout - time.Millisecond, status: http.StatusOK, result: "failed",
			message: []string{"[worker-03] unknown", "check the group"}},
		{name: "part applied, the rest not listed past the window", req: hostUp(2, 10),
			faults: []string{faultNone, faultCut}, advance: testCattleTimeout, status: http.StatusOK,
			result: "failed", message: []string{"created [worker-03]", "[worker-04] not created"}},
		{name: "listing fails", req: hostUp(1, 10), faults: []string{faultLost}, listErr: &cattle.APIError{Status: 503},
			status: http.StatusOK, result: "failed", message: []string{"[worker-03] unknown"}},
		{name: "evacuation not visible", req: hostDown(1, 1), faults: []string{faultQuiet}, status: http.StatusOK,
			result: "failed", message: []string{"[custom-01] unknown"}},
		{name: "evacuated host deactivating", req: hostDown(1, 1), faults: []string{faultQuiet}, deactivate: true,
			status: http.StatusOK, result: "scaled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHostFixture(t)
			f.c.set(func(c *hostCattle) { c.faults = tc.faults })
			in := f.trigger(tc.req)
			if err := f.process(); err == nil {
				t.Fatal("processing did not fail")
			}
			if tc.deactivate {
				f.c.setHost(f.c.idOf("custom-01"), func(h *cattle.Host) { h.State = scale.HostStateDeactivating })
			}
			f.c.advance(tc.advance)
			f.c.set(func(c *hostCattle) { c.listErr = tc.listErr })
			f.x.Close(context.Background())
			a, ok := answered(in)
			if !ok || a.Status != tc.status {
				t.Fatalf("answer %+v, want status %d", a, tc.status)
			}
			if tc.status != http.StatusOK {
				return
			}
			r, _ := a.Body.(reply)
			if string(r.Result) != tc.result {
				t.Errorf("answer %+v, want result %s", r, tc.result)
			}
			for _, m := range tc.message {
				if !strings.Contains(r.Message, m) {
					t.Errorf("answer message %q does not say %q", r.Message, m)
				}
			}
		})
	}
}
