package receivers

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// projectOnly is a Cattle that only knows its project: enough for New's validation.
type projectOnly struct{ Cattle }

func (projectOnly) ProjectID() string { return "1a5" }

// rejections records what the API reported as refused.
type rejections struct {
	mu  sync.Mutex
	got []string
}

func (r *rejections) RecordRejected(t Trigger, status int, reason string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, t.Receiver.ID+" "+http.StatusText(status)+": "+reason)
	return "x" + string(rune('0'+len(r.got)))
}

func (r *rejections) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// TestRateLimitPerReceiver: a receiver's own limit lets its burst through, then answers 429 with Retry-After
// and the execution id of the recorded refusal, without running anything; another receiver has its own bucket;
// tokens come back at the receiver's rate.
func TestRateLimitPerReceiver(t *testing.T) {
	clock := newFakeClock()
	rec := &rejections{}
	e := newEnv(t, func(o *Options) { o.Now = clock.Now; o.Rejections = rec })
	limited := e.create(`{"name":"limited","driver":"scaleService","scaleServiceConfig":{"serviceId":"` +
		e.id("1a5/service/web") + `","action":"up","amount":1,"min":1,"max":5},"rateLimit":{"perMinute":30,"burst":3}}`)
	other := e.create(e.scaleWebBody("other"))
	if l := obj(limited, "rateLimit"); l["perMinute"] != float64(30) || l["burst"] != float64(3) {
		t.Fatalf("created receiver renders rateLimit %v", limited["rateLimit"])
	}

	for i := range 3 {
		if r := e.trigger(str(limited, "url"), ""); r.status != http.StatusOK {
			t.Fatalf("trigger %d within the burst: %d %s", i, r.status, r.body)
		}
	}
	r := e.trigger(str(limited, "url"), `{"big":"body"}`)
	wantError(t, r, http.StatusTooManyRequests, "receiver limited allows 30 a minute (burst 3); retry in 2 s (execution x1)")
	if got := r.header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After %q, want 2 (one token every 2 s)", got)
	}
	if n := len(e.exec.all()); n != 3 {
		t.Fatalf("executor ran %d times, want 3: the refused trigger ran", n)
	}
	if got := rec.all(); len(got) != 1 || !strings.HasPrefix(got[0], str(limited, "id")+" Too Many Requests: over the rate limit of 30") {
		t.Errorf("recorded refusals %q", got)
	}
	// Another receiver is not affected.
	if r := e.trigger(str(other, "url"), ""); r.status != http.StatusOK {
		t.Fatalf("other receiver: %d %s", r.status, r.body)
	}
	// A token comes back after 2 s, one only.
	clock.advance(1999 * time.Millisecond)
	wantError(t, e.trigger(str(limited, "url"), ""), http.StatusTooManyRequests, "retry in 1 s")
	clock.advance(time.Millisecond)
	if r := e.trigger(str(limited, "url"), ""); r.status != http.StatusOK {
		t.Fatalf("after the refill: %d %s", r.status, r.body)
	}
	wantError(t, e.trigger(str(limited, "url"), ""), http.StatusTooManyRequests, "")

	// An update changes the id but keeps the key, and so the bucket: it is not a way around the limit.
	upd := e.put("/v1-webhooks/receivers/"+str(limited, "id"), `{"name":"limited-2"}`)
	if upd.status != http.StatusOK {
		t.Fatalf("update: %d %s", upd.status, upd.body)
	}
	wantError(t, e.trigger(str(limited, "url"), ""), http.StatusTooManyRequests, "receiver limited-2 allows 30")
	// A minute later the bucket is full again: 3 at once, not more.
	clock.advance(time.Minute)
	for i := range 3 {
		if r := e.trigger(str(limited, "url"), ""); r.status != http.StatusOK {
			t.Fatalf("trigger %d after a minute: %d %s", i, r.status, r.body)
		}
	}
	wantError(t, e.trigger(str(limited, "url"), ""), http.StatusTooManyRequests, "")
	e.assertNoSecretsLogged(keyOf(t, str(limited, "url")))
	if logs := e.logs.String(); strings.Count(logs, "receiver over its rate limit") != 3 {
		t.Errorf("a run of refusals should be logged once as a warning (3 runs here):\n%s", logs)
	}
}

// TestRateLimitServiceWide: receivers without their own limit share the service-wide default (a bucket each);
// Options.RateLimit changes it and a negative rate turns it off.
func TestRateLimitServiceWide(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit RateLimit
		burst int // how many pass at once; -1 for all
	}{
		{"default", RateLimit{}, DefaultRateBurst},
		{"configured", RateLimit{PerMinute: 10, Burst: 4}, 4},
		{"burst from rate", RateLimit{PerMinute: 50}, 5},
		{"off", RateLimit{PerMinute: -1}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			e := newEnv(t, func(o *Options) { o.Now = clock.Now; o.RateLimit = tc.limit })
			a, b := str(e.create(e.scaleWebBody("a")), "url"), str(e.create(e.scaleWebBody("b")), "url")
			n := tc.burst
			if n < 0 {
				n = DefaultRateBurst * 2
			}
			for i := range n {
				if r := e.trigger(a, ""); r.status != http.StatusOK {
					t.Fatalf("trigger %d of %d: %d %s", i, n, r.status, r.body)
				}
			}
			r := e.trigger(a, "")
			if tc.burst < 0 {
				if r.status != http.StatusOK {
					t.Fatalf("without a limit: %d %s", r.status, r.body)
				}
				return
			}
			wantError(t, r, http.StatusTooManyRequests, "Too many triggers")
			if r := e.trigger(b, ""); r.status != http.StatusOK {
				t.Fatalf("receiver b shares a's bucket: %d %s", r.status, r.body)
			}
		})
	}
	for _, bad := range []RateLimit{{PerMinute: 0, Burst: 3}, {PerMinute: MaxRatePerMinute + 1}, {PerMinute: 5, Burst: -1}} {
		if _, err := New(Options{Cattle: projectOnly{}, Store: emptyStore(t), Executor: &recorder{}, RateLimit: bad}); err == nil {
			t.Errorf("New accepted rate limit %+v", bad)
		}
	}
}

// TestRateLimitMember: rateLimit is validated, stored beside the config, shown to every caller, kept by an
// update without it and removed by null.
func TestRateLimitMember(t *testing.T) {
	e := newEnv(t)
	web := e.id("1a5/service/web")
	body := func(extra string) string {
		return `{"name":"rl","driver":"scaleService","scaleServiceConfig":{"serviceId":"` + web +
			`","action":"up","amount":1,"min":1,"max":5}` + extra + `}`
	}
	for _, tc := range []struct{ member, msg string }{
		{`"rateLimit":{"perMinute":0}`, "perMinute must be between 1 and 1000000"},
		{`"rateLimit":{"perMinute":2000000}`, "perMinute must be between 1"},
		{`"rateLimit":{"perMinute":5,"burst":-1}`, "burst must be between 1 and 100000"},
		{`"rateLimit":{"perMinute":5,"burst":200000}`, "burst must be between"},
		{`"rateLimit":{"perMinutes":5}`, "unknown field"},
		{`"rateLimit":5`, "Invalid rateLimit"},
		{`"rateLimit":{"perMinute":1.5}`, "Invalid rateLimit"},
	} {
		wantError(t, e.post("/v1-webhooks/receivers", body(","+tc.member)), http.StatusBadRequest, tc.msg)
	}
	if n := len(e.genericObjects()); n != 0 {
		t.Fatalf("refused creates stored %d objects", n)
	}
	created := e.create(body(`,"rateLimit":{"perMinute":120}`))
	id := str(created, "id")
	if l := obj(created, "rateLimit"); l["perMinute"] != float64(120) || l["burst"] != nil {
		t.Fatalf("rendered rateLimit %v", created["rateLimit"])
	}
	objs := e.genericObjects()
	if len(objs) != 1 || string(objs[0].ResourceData[dataRateLimit]) != `{"perMinute":120}` {
		t.Fatalf("stored resourceData %v", objs[0].ResourceData)
	}
	ro := e.do(request{method: http.MethodGet, path: "/v1-webhooks/receivers/" + id + "?projectId=1a5",
		headers: map[string]string{"X-API-Roles": "readonly"}}).json(t)
	if obj(ro, "rateLimit")["perMinute"] != float64(120) {
		t.Errorf("read-only caller sees rateLimit %v", ro["rateLimit"])
	}
	// Without the member an update keeps it (and a PUT changing nothing keeps the id).
	same := e.put("/v1-webhooks/receivers/"+id, body("")).json(t)
	if str(same, "id") != id || obj(same, "rateLimit")["perMinute"] != float64(120) {
		t.Fatalf("update without rateLimit: %v", same)
	}
	changed := e.put("/v1-webhooks/receivers/"+id, `{"rateLimit":{"perMinute":60,"burst":2}}`).json(t)
	if str(changed, "id") == id || obj(changed, "rateLimit")["burst"] != float64(2) {
		t.Fatalf("update of rateLimit: %v", changed)
	}
	removed := e.put("/v1-webhooks/receivers/"+str(changed, "id"), `{"rateLimit":null}`)
	if removed.status != http.StatusOK || removed.json(t)["rateLimit"] != nil {
		t.Fatalf("rateLimit null: %d %s", removed.status, removed.body)
	}
	schema := e.get("/v1-webhooks/schemas/receiver").json(t)
	if f := obj(obj(schema, "resourceFields"), "rateLimit"); f["type"] != "json" || f["create"] != true || f["update"] != true {
		t.Errorf("receiver schema rateLimit field %v", f)
	}
}

// TestLimiterBucket: the token bucket's arithmetic and its pruning of full buckets.
func TestLimiterBucket(t *testing.T) {
	l := newLimiter(&RateLimit{PerMinute: 60, Burst: 2})
	start := time.Unix(1000, 0)
	for i := range 2 {
		if ok, _, _, _ := l.take("k", nil, start); !ok {
			t.Fatalf("take %d of the burst refused", i)
		}
	}
	ok, wait, first, eff := l.take("k", nil, start)
	if ok || wait != time.Second || !first || eff.PerMinute != 60 {
		t.Fatalf("over the burst: ok %v wait %s first %v limit %+v", ok, wait, first, eff)
	}
	if _, wait, first, _ := l.take("k", nil, start.Add(250*time.Millisecond)); wait != 750*time.Millisecond || first {
		t.Fatalf("second refusal: wait %s first %v", wait, first)
	}
	if ok, _, _, _ := l.take("k", nil, start.Add(time.Second)); !ok {
		t.Fatalf("a token should be back after 1 s")
	}
	// A receiver's own limit replaces the default; lowering it caps the tokens at once.
	own := &RateLimit{PerMinute: 6000, Burst: 1}
	if ok, _, _, _ := l.take("k", own, start.Add(time.Hour)); !ok {
		t.Fatalf("own limit: refused")
	}
	if ok, wait, _, _ := l.take("k", own, start.Add(time.Hour)); ok || wait != 10*time.Millisecond {
		t.Fatalf("own limit of burst 1: ok %v wait %s", ok, wait)
	}
	// No default: unlimited unless the receiver has its own.
	if ok, _, _, eff := newLimiter(nil).take("k", nil, start); !ok || eff != (RateLimit{}) {
		t.Fatalf("no default: ok %v limit %+v", ok, eff)
	}
	// Pruning drops full buckets, not busy ones.
	p := newLimiter(&RateLimit{PerMinute: 60, Burst: 1})
	p.take("busy", nil, start)
	for i := range maxIdleBuckets {
		p.take(string(rune(0x4e00+i)), nil, start.Add(-time.Hour))
	}
	p.take("new", nil, start)
	if _, ok := p.buckets["busy"]; !ok || len(p.buckets) > 3 {
		t.Fatalf("after pruning %d buckets remain (busy kept: %v)", len(p.buckets), ok)
	}
}
