package app

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/execution"
	"github.com/rancher/scale-subscriber/notify"
	"github.com/rancher/scale-subscriber/receivers"
)

// Every execution outcome maps to the state its notification reports, or to none: "accepted" (a push
// trigger whose upgrades have their own records) and "rejected" (refused input) are not notified, nor are
// the non-final outcomes.
func TestFinalState(t *testing.T) {
	want := map[string]notify.State{
		execution.OutcomeDone:       notify.StateFinished,
		execution.OutcomeRolledBack: notify.StateRolledBack,
		execution.OutcomeTimedOut:   notify.StateTimedOut,
		execution.OutcomeFailed:     notify.StateFailed,
		execution.OutcomeIgnored:    notify.StateIgnored,
		execution.OutcomeAccepted:   "",
		execution.OutcomeRejected:   "",
		execution.OutcomeQueued:     "",
		execution.OutcomeRunning:    "",
	}
	for outcome, w := range want {
		got, ok := finalState(outcome)
		if got != w || ok != (w != "") {
			t.Errorf("finalState(%q) = %q, %t; want %q", outcome, got, ok, w)
		}
	}
}

// A registry delivery that carried no push ends "ignored" but is not notified (registries send one per pull);
// an ignored push (a refused tag) is.
func TestNotifiedStateSkipsDeliveriesWithoutPush(t *testing.T) {
	noPush := execution.Record{Driver: receivers.DriverServiceUpgrade, Outcome: execution.OutcomeIgnored, Input: "no push"}
	if s, ok := notifiedState(noPush); ok {
		t.Errorf("a delivery without push is notified as %q", s)
	}
	refused := execution.Record{Driver: receivers.DriverServiceUpgrade, Outcome: execution.OutcomeIgnored,
		Input: "push docker.io/library/nginx:2.0.0 (dockerhub)"}
	if s, ok := notifiedState(refused); !ok || s != notify.StateIgnored {
		t.Errorf("a refused push: %q, %t; want ignored", s, ok)
	}
	if s, ok := notifiedState(execution.Record{Driver: receivers.DriverServiceUpgrade, Outcome: execution.OutcomeDone,
		Input: "no push"}); !ok || s != notify.StateFinished {
		t.Errorf("a done record: %q, %t; want finished", s, ok)
	}
}

// The final record of a rolled-back upgrade becomes a message with the receiver, the state and its reason,
// old → new image, the service touched (its name from the cache), durations and steps; it is valid to send.
func TestMessageOfRolledBackUpgrade(t *testing.T) {
	received := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	started, finished := received.Add(12*time.Millisecond), received.Add(61*time.Second)
	rec := execution.Record{
		ID: "x7", ReceiverID: "1go4", ReceiverName: "web-push", Driver: receivers.DriverServiceUpgrade,
		Target: "service:1s5", Input: "push nginx:1.14 (trigger x6)",
		Decision: "upgrade primary to nginx:1.14 (batch 1); rolled back: 2 of 2 new containers unhealthy for 1s",
		Outcome:  execution.OutcomeRolledBack, Error: "2 of 2 new containers unhealthy for 1s",
		Received: received, Started: &started, Finished: &finished, QueuedMillis: 12, RunMillis: 60988,
		Image: &execution.ImageChange{Old: "nginx:1.13", New: "nginx:1.14", Digest: "sha256:ab"},
		Steps: []execution.Step{{Time: started, Message: "upgrade started"}, {Time: finished, Message: "rolled back: unhealthy"}},
	}
	rcv := receivers.Receiver{ID: "1go9", Name: "renamed", ProjectID: "1a5", Driver: receivers.DriverServiceUpgrade}
	services := func(id string) (*cattle.Service, bool) {
		if id != "1s5" {
			return nil, false
		}
		return &cattle.Service{Resource: cattle.Resource{ID: id, Name: "web"}}, true
	}
	m := messageOf(rec, notify.StateRolledBack, rcv, services, time.Now())
	if err := m.Validate(); err != nil {
		t.Fatalf("message not valid: %v", err)
	}
	switch {
	case m.ExecutionID != "x7" || m.ReceiverID != "1go4" || m.ReceiverName != "web-push" || m.ProjectID != "1a5" ||
		m.Driver != receivers.DriverServiceUpgrade:
		t.Errorf("identity %+v", m)
	case m.State != notify.StateRolledBack || m.Reason != "2 of 2 new containers unhealthy for 1s":
		t.Errorf("state %q reason %q", m.State, m.Reason)
	case m.Image != (notify.ImageChange{Old: "nginx:1.13", New: "nginx:1.14", Digest: "sha256:ab"}):
		t.Errorf("image %+v", m.Image)
	case len(m.Services) != 1 || m.Services[0] != (notify.Service{ID: "1s5", Name: "web", OldImage: "nginx:1.13",
		NewImage: "nginx:1.14", State: notify.StateRolledBack, Detail: rec.Decision, Millis: 60988}):
		t.Errorf("services %+v", m.Services)
	case !m.Received.Equal(received) || m.Started == nil || !m.Started.Equal(started) || !m.Finished.Equal(finished) ||
		m.QueuedMillis != 12 || m.RunMillis != 60988:
		t.Errorf("times %v %v %v %d %d", m.Received, m.Started, m.Finished, m.QueuedMillis, m.RunMillis)
	case len(m.Steps) != 2 || m.Steps[1].Name != "rolled back: unhealthy" || !m.Steps[1].At.Equal(finished):
		t.Errorf("steps %+v", m.Steps)
	}
}

// A record without a service target (a push nobody's service matched) has no services and no image; an
// ignored one says why without the history's "none: " prefix; every non-finished message has a reason.
func TestMessageOfWithoutServiceAndReasons(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	none := func(string) (*cattle.Service, bool) { return nil, false }
	rcv := receivers.Receiver{ID: "1go4", Name: "push", Driver: receivers.DriverServiceUpgrade}
	ignored := execution.Record{ID: "x1", ReceiverID: "1go4", Outcome: execution.OutcomeIgnored, Received: now,
		Decision: "none: no service matches the selector and runs the pushed repository"}
	m := messageOf(ignored, notify.StateIgnored, rcv, none, now)
	if err := m.Validate(); err != nil {
		t.Fatalf("message not valid: %v", err)
	}
	if m.Reason != "no service matches the selector and runs the pushed repository" || len(m.Services) != 0 ||
		m.Services == nil || m.Image != (notify.ImageChange{}) || m.ReceiverName != "push" || m.Driver != rcv.Driver {
		t.Errorf("ignored message %+v", m)
	}
	for _, tc := range []struct {
		rec   execution.Record
		state notify.State
		want  string
	}{
		{execution.Record{Error: "boom", Decision: "d"}, notify.StateFailed, "boom"},
		{execution.Record{Decision: "left upgraded"}, notify.StateTimedOut, "left upgraded"},
		{execution.Record{}, notify.StateFailed, "failed"},
		{execution.Record{}, notify.StateRolledBack, "rolled back"},
		{execution.Record{Error: "e"}, notify.StateIgnored, "e"},
		{execution.Record{Error: "e", Decision: "d"}, notify.StateFinished, ""},
	} {
		if got := reasonOf(tc.rec, tc.state); got != tc.want {
			t.Errorf("reasonOf(%+v, %s) = %q, want %q", tc.rec, tc.state, got, tc.want)
		}
	}
}

// A delivery result becomes one readable history step.
func TestNotifiedStep(t *testing.T) {
	for _, tc := range []struct {
		r    notify.Result
		want string
	}{
		{notify.Result{Channel: notify.ChannelWebhook, Attempts: 1}, "notified webhook"},
		{notify.Result{Channel: notify.ChannelEmail, Attempts: 3}, "notified email (after 3 attempts)"},
		{notify.Result{Channel: notify.ChannelWebhook, Attempts: 4, Err: errors.New("answered 503")},
			"webhook notification failed after 4 attempts: answered 503"},
		{notify.Result{Channel: notify.ChannelWebhook, Attempts: 1, Err: errors.New("answered 400")},
			"webhook notification failed after 1 attempt: answered 400"},
		{notify.Result{Channel: notify.ChannelEmail, Err: notify.ErrAbandoned},
			"email notification abandoned at shutdown: notification abandoned at shutdown"},
	} {
		if got := notifiedStep(tc.r); got != tc.want {
			t.Errorf("notifiedStep(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

// receiverKeys keeps at most maxRememberedKeys ids, forgetting the oldest first; remembering an id again
// updates its key without taking a second place.
func TestReceiverKeysBounded(t *testing.T) {
	var k receiverKeys
	k.remember("1go0", "k0")
	k.remember("1go0", "k0b")
	for i := 1; i <= maxRememberedKeys; i++ {
		k.remember(fmt.Sprintf("1go%d", i), fmt.Sprintf("k%d", i))
	}
	if _, ok := k.key("1go0"); ok {
		t.Error("the oldest id is still remembered past the bound")
	}
	if key, ok := k.key("1go1"); !ok || key != "k1" {
		t.Errorf("1go1 → %q, %t; want k1", key, ok)
	}
	if key, ok := k.key(fmt.Sprintf("1go%d", maxRememberedKeys)); !ok || key != fmt.Sprintf("k%d", maxRememberedKeys) {
		t.Errorf("newest → %q, %t", key, ok)
	}
	if len(k.keys) != maxRememberedKeys || len(k.order) != maxRememberedKeys {
		t.Errorf("%d keys, %d in order; want %d", len(k.keys), len(k.order), maxRememberedKeys)
	}
	k.remember("", "k")
	k.remember("1gox", "")
	if _, ok := k.key("1gox"); ok {
		t.Error("an empty key was remembered")
	}
}
