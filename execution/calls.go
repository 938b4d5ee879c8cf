package execution

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
)

// recordCall adds one Cattle call, with its outcome, to every entry of a batch.
func recordCall(entries []*Entry, method, target string, start time.Time, err error) {
	c := Call{Method: method, Target: target, Millis: time.Since(start).Milliseconds(), Status: 200}
	if err != nil {
		c.Status = 0
		var apiErr *cattle.APIError
		if errors.As(err, &apiErr) {
			c.Status = apiErr.Status
		}
		c.Error = err.Error()
	}
	for _, e := range entries {
		e.AddCall(c)
	}
}

// serviceAction runs a service action (upgrade, finishupgrade, rollback) and records the call on entry.
func (x *Executor) serviceAction(ctx context.Context, entry *Entry, svc *cattle.Service, action string, input any) error {
	start := time.Now()
	_, err := x.cattle.ServiceAction(ctx, svc, action, input)
	recordCall([]*Entry{entry}, http.MethodPost, "services/"+svc.ID+"?action="+action, start, err)
	return err
}

func entriesOf(ins []*intent) []*Entry {
	out := make([]*Entry, len(ins))
	for i, in := range ins {
		out[i] = in.entry
	}
	return out
}
