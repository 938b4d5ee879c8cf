package e2e

// Per-receiver trigger rate limits through the running service: over its limit a receiver's trigger answers 429
// with Retry-After, changes nothing in Cattle and is in the history as rejected; the service-wide limit comes
// from the configuration (--trigger-rate-per-minute, --trigger-burst).

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/config"
)

func TestRateLimitedTriggersRejectedAndRecorded(t *testing.T) {
	t.Parallel()
	h := startHardened(t, hardenOptions{configure: func(c *config.Config) {
		c.TriggerRatePerMinute, c.TriggerBurst = 6, 1 // one at once, then one every 10 s
	}})
	web := h.id("service/web")
	own := h.createReceiver(`{"name":"rl-own","driver":"scaleService","scaleServiceConfig":{"serviceId":"` + web +
		`","action":"up","amount":1,"min":1,"max":50},"rateLimit":{"perMinute":1,"burst":2}}`)
	shared := h.scaleReceiver("rl-default", web, "up", 1, 1, 50)
	scale := h.service(web).Scale
	mark := h.callMark()

	for i, tc := range []struct {
		r      receiver
		status int
	}{{own, 200}, {own, 200}, {own, 429}, {shared, 200}, {shared, 429}} {
		a := h.trigger(tc.r.URL, "", nil)
		if a.status != tc.status {
			t.Fatalf("trigger %d of %s: %s, want %d", i, tc.r.Name, a, tc.status)
		}
		if a.status == http.StatusOK {
			scale++
			h.waitService(web, "web settled", func(s serviceView) bool { return settled(s) && s.Scale == scale })
			continue
		}
		wantError(t, tc.r.Name+" over its limit", a, http.StatusTooManyRequests, "Too many triggers: receiver "+tc.r.Name)
		// One token a minute (own) or every 10 s (shared).
		if s, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
			t.Errorf("Retry-After %q, want 1 to 60 seconds", a.header.Get("Retry-After"))
		}
	}
	calls, _ := h.callsSince(mark)
	if puts := appliedPUTs(t, calls, web); len(puts) != 3 {
		t.Errorf("cattlesim applied PUTs %v, want one per accepted trigger (3)", puts)
	}
	for _, r := range []receiver{own, shared} {
		rejected := 0
		for _, rec := range h.executions("receiverId=" + r.ID) {
			if rec.Outcome == "rejected" {
				rejected++
				if !strings.Contains(rec.Decision, "over the rate limit") || len(rec.Calls) != 0 {
					t.Errorf("rejected execution %+v, want the rate limit as the reason and no Cattle call", rec)
				}
			}
		}
		if rejected != 1 {
			t.Errorf("%s: %d rejected executions in the history, want 1", r.Name, rejected)
		}
	}
}
