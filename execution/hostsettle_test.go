package execution

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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
// and then fails it as a lost answer would: every retry settles them from the listing, so a trigger creates
// or removes exactly the hosts of its plan, once each; GiveUp and Close never answer "send again" once
// something may have changed.

// Faults of the fake's next host writes.
const (
	faultNone     = ""
	faultLost     = "lost"      // applied; the answer is lost (client timeout)
	faultBadGate  = "502"       // applied; a proxy answers 502
	faultCut      = "cut"       // not applied; the connection breaks
	faultRejected = "rejected"  // not applied; cattle answers 422
	faultQuiet    = "lost-slow" // evacuation applied but its host shows nothing yet; the answer is lost
)

// hostCattle is a fake Cattle holding hosts, plus the executor's cache and queue.
type hostCattle struct {
	mu        sync.Mutex
	hosts     []cattle.Host
	next      int
	listErr   error
	faults    []string
	creates   []string
	evacuated []string
}

func newHostCattle() *hostCattle {
	c := &hostCattle{}
	c.add("worker-01", "amazonec2", "active", workers())
	c.add("worker-02", "amazonec2", "active", workers())
	c.add("custom-01", "", "active", workers())
	return c
}

// add stores a host created after every other one and returns its id.
func (c *hostCattle) add(hostname, driver, state string, labels map[string]string) string {
	c.next++
	h := cattle.Host{Hostname: hostname, Driver: driver, Labels: labels}
	h.ID, h.State, h.CreatedTS = "1h"+strconv.Itoa(c.next), state, int64(1000*c.next)
	if driver != "" {
		h.DriverConfigs = map[string]json.RawMessage{driver + "Config": json.RawMessage(`{"region":"us-west-2"}`)}
	}
	c.hosts = append(c.hosts, h)
	return h.ID
}

func (c *hostCattle) fault() string {
	if len(c.faults) == 0 {
		return faultNone
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
	}
	return nil
}

func (c *hostCattle) ListHosts(context.Context, cattle.ListOptions) ([]cattle.Host, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.listErr != nil {
		return nil, c.listErr
	}
	var out []cattle.Host
	for _, h := range c.hosts {
		if h.State != "purged" {
			out = append(out, h)
		}
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
	f := c.fault()
	if f == faultCut || f == faultRejected {
		return nil, faultErr(f)
	}
	c.add(hostname, "amazonec2", "provisioning", labels)
	c.creates = append(c.creates, hostname)
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
	if f == faultCut || f == faultRejected {
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
func (c *hostCattle) AddAfter(string, time.Duration)                  {}

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
	x, err := New(Options{Cattle: c, Cache: c, Queue: c, Router: events.NewRouter(events.RouterOptions{})})
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
	f.x.book.putBack(f.key, []*intent{in})
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

// An unanswered create is settled by the next listing: applied (its answer lost, or a proxy's 502 after it
// forwarded it) → not sent again; not applied → sent again once. Either way one host is created.
func TestScaleHostUnansweredCreateSettled(t *testing.T) {
	for _, tc := range []struct{ fault, sentStep, settled string }{
		{faultLost, "got no answer", "the create was applied"},
		{faultBadGate, "maybe after a proxy forwarded it", "the create was applied"},
		{faultCut, "got no answer", "the create was not applied"},
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
			if rec.Outcome != OutcomeDone || !recordHasStep(rec, tc.sentStep) || !recordHasStep(rec, tc.settled) {
				t.Errorf("record %+v, want done with steps %q and %q", rec, tc.sentStep, tc.settled)
			}
		})
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

// A refusal part way ends the trigger as failed, saying which hosts it did create.
func TestScaleHostRefusedPartWay(t *testing.T) {
	f := newHostFixture(t)
	f.c.set(func(c *hostCattle) { c.faults = []string{faultNone, faultRejected} })
	in := f.trigger(hostUp(2, 10))
	if err := f.process(); err != nil {
		t.Fatalf("processing: %v", err)
	}
	r := f.mustAnswer(in)
	if r.Result != "failed" || r.To != 4 || !slices.Equal(r.Targets, []string{"worker-03"}) ||
		!strings.Contains(r.Message, "created [worker-03]") || !strings.Contains(r.Message, "[worker-04] not created") {
		t.Errorf("answer %+v, want failed naming worker-03 created and worker-04 not", r)
	}
}

// Close settles the writes sent with one listing: applied → done; nothing applied → 503 (send again is safe);
// part applied or unknown → a 200 "failed" that says so, never a 503.
func TestScaleHostCloseSettles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		req     scale.HostRequest
		faults  []string
		listErr error
		status  int
		result  string
		message []string
	}{
		{name: "applied", req: hostUp(1, 10), faults: []string{faultLost}, status: http.StatusOK, result: "scaled"},
		{name: "not applied", req: hostUp(1, 10), faults: []string{faultCut}, status: http.StatusServiceUnavailable},
		{name: "part applied", req: hostUp(2, 10), faults: []string{faultNone, faultCut}, status: http.StatusOK,
			result: "failed", message: []string{"created [worker-03]", "[worker-04] not created"}},
		{name: "listing fails", req: hostUp(1, 10), faults: []string{faultLost}, listErr: &cattle.APIError{Status: 503},
			status: http.StatusOK, result: "failed", message: []string{"[worker-03] unknown"}},
		{name: "evacuation not visible", req: hostDown(1, 1), faults: []string{faultQuiet}, status: http.StatusOK,
			result: "failed", message: []string{"[custom-01] unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHostFixture(t)
			f.c.set(func(c *hostCattle) { c.faults = tc.faults })
			in := f.trigger(tc.req)
			if err := f.process(); err == nil {
				t.Fatal("processing did not fail")
			}
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
