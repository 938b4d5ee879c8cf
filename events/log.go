package events

import (
	"io"

	"github.com/sirupsen/logrus"
)

// componentLogger tags l with this package's component, or returns a
// discarding logger when l is nil so that logging is always safe to call.
func componentLogger(l logrus.FieldLogger) logrus.FieldLogger {
	if l == nil {
		discard := logrus.New()
		discard.SetOutput(io.Discard)
		l = discard
	}
	return l.WithField("component", "events")
}

// eventFields are the fixed log keys that identify an event.
func eventFields(ev Event) logrus.Fields {
	f := logrus.Fields{"event_id": ev.ID, "event_name": ev.Name}
	if ev.ResourceType != "" {
		f["resource_type"] = ev.ResourceType
	}
	if ev.ResourceID != "" {
		f["resource_id"] = ev.ResourceID
	}
	return f
}
