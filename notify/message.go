package notify

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// State is the final state of an execution, as a notification reports it.
type State string

// Final states. Only these are notified: a notification is sent once per execution, when it has ended.
const (
	// StateFinished: the work was done (an upgrade was finished on healthy containers, a scale applied).
	StateFinished State = "finished"
	// StateRolledBack: an upgrade was rolled back (unhealthy new containers, an error); the old image runs.
	StateRolledBack State = "rolled-back"
	// StateTimedOut: the execution's deadline passed; Reason says what was done about it (usually a rollback).
	StateTimedOut State = "timed-out"
	// StateFailed: the execution could not do its work and could not restore the previous state either.
	StateFailed State = "failed"
	// StateIgnored: nothing was done on purpose; Reason says why (tag refused by the policy, no service matched).
	StateIgnored State = "ignored"
)

// States lists the final states in a stable order.
func States() []State {
	return []State{StateFinished, StateRolledBack, StateTimedOut, StateFailed, StateIgnored}
}

// Valid reports whether s is one of the final states.
func (s State) Valid() bool { return slices.Contains(States(), s) }

// Text is the state in words, for e-mail ("rolled back").
func (s State) Text() string {
	switch s {
	case StateRolledBack:
		return "rolled back"
	case StateTimedOut:
		return "timed out"
	}
	return string(s)
}

// ImageChange is the image an upgrade moved from and to. Both are full references as the service runs them
// ("docker.io/library/nginx:1.14.1"); Digest is the pushed digest when the trigger carried one.
type ImageChange struct {
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// Service is one service an execution touched and how it ended for that service.
type Service struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Stack    string `json:"stack,omitempty"`
	OldImage string `json:"oldImage,omitempty"`
	NewImage string `json:"newImage,omitempty"`
	// State is the service's own final state (one upgrade of several may be rolled back alone).
	State State `json:"state,omitempty"`
	// Detail is a short free text ("scale 2 → 3", "2 of 3 new containers unhealthy").
	Detail string `json:"detail,omitempty"`
	Millis int64  `json:"millis,omitempty"`
}

// Step is one step of the execution's history (upgrade started, batch done, healthy, finished, rolled back).
type Step struct {
	At     time.Time `json:"at"`
	Name   string    `json:"name"`
	Detail string    `json:"detail,omitempty"`
}

// Message is what a notification reports about one ended execution. It deliberately mirrors the execution
// history's record without depending on it, so the execution layer converts and this package stays a leaf.
// Its JSON form is the body of the outgoing webhook (see doc.go for the schema).
type Message struct {
	ExecutionID  string `json:"executionId"`
	ReceiverID   string `json:"receiverId"`
	ReceiverName string `json:"receiverName,omitempty"`
	ProjectID    string `json:"projectId,omitempty"`
	Driver       string `json:"driver"`
	State        State  `json:"state"`
	// Reason says why the execution ended this way; always set for rolled-back, timed-out, failed and ignored.
	Reason string `json:"reason,omitempty"`
	// Input summarises the trigger ("push docker.io/library/nginx:1.14.1").
	Input    string      `json:"input,omitempty"`
	Image    ImageChange `json:"image,omitzero"`
	Services []Service   `json:"services"`
	Received time.Time   `json:"received"`
	Started  *time.Time  `json:"started,omitempty"`
	Finished time.Time   `json:"finished"`
	// QueuedMillis is the wait between receipt and start; RunMillis the time from start to finish.
	QueuedMillis int64  `json:"queuedMillis"`
	RunMillis    int64  `json:"runMillis"`
	Steps        []Step `json:"steps"`
}

// Validate reports the first thing that makes m unfit to be sent.
func (m *Message) Validate() error {
	switch {
	case m.ExecutionID == "":
		return errors.New("message: executionId is required")
	case m.ReceiverID == "":
		return errors.New("message: receiverId is required")
	case m.Driver == "":
		return errors.New("message: driver is required")
	case !m.State.Valid():
		return fmt.Errorf("message: state %q is not a final state (want one of %v)", m.State, States())
	case m.Finished.IsZero():
		return errors.New("message: finished time is required")
	}
	return nil
}

// StateText is the state in words, for templates.
func (m Message) StateText() string { return m.State.Text() }

// Queued is the wait between receipt and start, for templates.
func (m Message) Queued() time.Duration { return time.Duration(m.QueuedMillis) * time.Millisecond }

// Ran is the time from start to finish, for templates.
func (m Message) Ran() time.Duration { return time.Duration(m.RunMillis) * time.Millisecond }

// normalized returns a copy whose slices are never nil, so the JSON body always has "services":[] and
// "steps":[] rather than null, and whose slices do not alias the caller's.
func (m Message) normalized() Message {
	m.Services = append([]Service{}, m.Services...)
	m.Steps = append([]Step{}, m.Steps...)
	if m.Started != nil {
		s := *m.Started
		m.Started = &s
	}
	return m
}
