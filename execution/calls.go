package execution

import (
	"errors"
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

func entriesOf(ins []*intent) []*Entry {
	out := make([]*Entry, len(ins))
	for i, in := range ins {
		out[i] = in.entry
	}
	return out
}
