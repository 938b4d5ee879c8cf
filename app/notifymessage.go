package app

import (
	"strings"
	"time"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/execution"
	"github.com/rancher/scale-subscriber/notify"
	"github.com/rancher/scale-subscriber/receivers"
)

// finalState maps an execution outcome to the state a notification reports. Outcomes without one are not
// notified: "accepted" ends a push trigger's own record while each service's upgrade has a record of its own
// (notified when it ends), and "rejected" is a refused delivery (bad input, a forged signature), which its
// sender was told about and which anyone could otherwise turn into a stream of e-mails.
func finalState(outcome string) (notify.State, bool) {
	switch outcome {
	case execution.OutcomeDone:
		return notify.StateFinished, true
	case execution.OutcomeRolledBack:
		return notify.StateRolledBack, true
	case execution.OutcomeTimedOut:
		return notify.StateTimedOut, true
	case execution.OutcomeFailed:
		return notify.StateFailed, true
	case execution.OutcomeIgnored:
		return notify.StateIgnored, true
	}
	return "", false
}

// noPushInput is the input the execution layer records for a registry delivery that carried no tagged push
// (a pull, a ping, a blob push); see execution's executeServiceUpgrade. The e2e notification tests pin it.
const noPushInput = "no push"

// notifiedState is the state to notify for a final record, false when it is not notified: finalState, and
// not a registry delivery that carried no push. Those end "ignored" too, but a registry that sends
// notifications sends one per pull, and notifying each would bury the outcomes people want to hear of.
func notifiedState(rec execution.Record) (notify.State, bool) {
	state, ok := finalState(rec.Outcome)
	if !ok || state == notify.StateIgnored && rec.Driver == receivers.DriverServiceUpgrade && rec.Input == noPushInput {
		return "", false
	}
	return state, true
}

// serviceLookup finds a cached service (cache.Store.Service).
type serviceLookup func(id string) (*cattle.Service, bool)

// messageOf converts the final record of an execution of rcv into the notification's message. now dates a
// record that has no finish time (it always has one once final; Message requires it).
func messageOf(rec execution.Record, state notify.State, rcv receivers.Receiver, services serviceLookup,
	now time.Time) notify.Message {
	m := notify.Message{
		ExecutionID:  rec.ID,
		ReceiverID:   rec.ReceiverID,
		ReceiverName: rec.ReceiverName,
		ProjectID:    rcv.ProjectID,
		Driver:       rec.Driver,
		State:        state,
		Reason:       reasonOf(rec, state),
		Input:        rec.Input,
		Received:     rec.Received,
		Started:      rec.Started,
		Finished:     now,
		QueuedMillis: rec.QueuedMillis,
		RunMillis:    rec.RunMillis,
		Services:     []notify.Service{},
		Steps:        make([]notify.Step, 0, len(rec.Steps)),
	}
	if m.ReceiverName == "" {
		m.ReceiverName = rcv.Name
	}
	if m.Driver == "" {
		m.Driver = rcv.Driver
	}
	if rec.Finished != nil {
		m.Finished = *rec.Finished
	}
	if rec.Image != nil {
		m.Image = notify.ImageChange{Old: rec.Image.Old, New: rec.Image.New, Digest: rec.Image.Digest}
	}
	if kind, id, ok := events.SplitKey(rec.Target); ok && kind == cache.KindService {
		s := notify.Service{ID: id, OldImage: m.Image.Old, NewImage: m.Image.New, State: state,
			Detail: rec.Decision, Millis: rec.RunMillis}
		if svc, ok := services(id); ok {
			s.Name = svc.Name
		}
		m.Services = append(m.Services, s)
	}
	for _, st := range rec.Steps {
		m.Steps = append(m.Steps, notify.Step{At: st.Time, Name: st.Message})
	}
	return m
}

// reasonOf says why an execution ended as it did: nothing for a finished one; the decision for an ignored
// one ("none: <why>" as the history records it); else the error, or the decision when there is none. A
// notification for a state other than finished always has a reason.
func reasonOf(rec execution.Record, state notify.State) string {
	var reason string
	switch state {
	case notify.StateFinished:
		return ""
	case notify.StateIgnored:
		reason = firstNonEmpty(strings.TrimPrefix(rec.Decision, "none: "), rec.Error)
	default:
		reason = firstNonEmpty(rec.Error, rec.Decision)
	}
	return firstNonEmpty(reason, state.Text())
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
