package execution

import (
	"net/http"
	"sync"

	"github.com/rancher/scale-subscriber/scale"
	"github.com/rancher/scale-subscriber/upgrade"
)

// Answer is what the sender of a trigger is told: a status and a JSON body (nil = empty body).
type Answer struct {
	Status int
	Body   any
}

// reply is the JSON body of most answers: the execution id is always there so the sender (or a human with curl)
// can find the record in /v1-webhooks/executions.
type reply struct {
	ExecutionID string `json:"executionId"`
	scale.Decision
	Target  string   `json:"target,omitempty"`
	Message string   `json:"message,omitempty"`
	Targets []string `json:"targets,omitempty"`
}

// intent is one trigger's work waiting for (or done by) the worker of its key. Exactly one of the work fields is
// set. The answer is delivered once on done.
type intent struct {
	key   string
	entry *Entry

	scaleService *scale.ServiceRequest
	scaleHost    *scale.HostRequest
	upgrade      *upgradeWork

	// attempts counts the processings that failed with a retryable error while this intent was in the batch.
	attempts int
	// blocked counts the rounds a scaleHost intent that sent nothing waited behind blockedBy, the execution id of
	// the earlier trigger of its group that could not go on (hostblocked.go); a new one ahead starts it afresh.
	// Only the worker of the intent's key touches them.
	blocked   int
	blockedBy string
	// sent is set while a scale PUT carrying this intent got no answer: Cattle may have applied it (see
	// unsure.go). Only the worker of the intent's key touches it.
	sent *sentScale
	// hosts is a scaleHost intent's plan once made, with what became of each of its host writes: once one was
	// sent, the plan is fixed and retries settle and complete it rather than plan again (hostsettle.go). Only
	// the worker of the intent's key touches it (and Close, once the workers stopped).
	hosts *hostWork

	once sync.Once
	done chan Answer
}

// upgradeWork is one push to apply to one service.
type upgradeWork struct {
	push     upgrade.Push
	selector map[string]string
	policy   upgrade.Policy
	strategy upgrade.Strategy
	safety   safety
	// receiverID goes into the marker label of the upgrade.
	receiverID string
	// dedupe is the push's key in the executor's push deduper, forgotten when the push is not applied.
	dedupe upgrade.PushKey
}

func newIntent(key string, e *Entry) *intent {
	e.SetTarget(key)
	return &intent{key: key, entry: e, done: make(chan Answer, 1)}
}

// answer delivers a to the waiting sender; later answers are ignored.
func (in *intent) answer(a Answer) {
	in.once.Do(func() { in.done <- a })
}

// finish records the outcome and answers the sender.
func (in *intent) finish(outcome string, err error, a Answer) {
	in.entry.Finish(outcome, err)
	in.answer(a)
}

// errorReply is the body of a 4xx or 5xx answer: the error JSON of the rest of the /v1-webhooks API
// (webhook-service's shape, the code in statusCode and status always "Server Error"), plus the execution id and
// target so the record can be found.
type errorReply struct {
	Type        string `json:"type"`
	StatusCode  int    `json:"statusCode"`
	Status      string `json:"status"`
	Message     string `json:"message"`
	ExecutionID string `json:"executionId"`
	Target      string `json:"target,omitempty"`
}

// errorAnswer is an answer with status >= 400 in the API's error shape.
func errorAnswer(status int, executionID, target, msg string) Answer {
	return Answer{Status: status, Body: errorReply{Type: "error", StatusCode: status, Status: "Server Error",
		Message: msg, ExecutionID: executionID, Target: target}}
}

func okAnswer(in *intent, d scale.Decision, msg string) Answer {
	return Answer{Status: http.StatusOK, Body: reply{ExecutionID: in.entry.ID(), Decision: d, Target: in.key, Message: msg}}
}
