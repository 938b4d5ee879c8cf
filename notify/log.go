package notify

import (
	"io"

	"github.com/sirupsen/logrus"
)

// componentLogger tags l with this package's component, or returns a discarding logger when l is nil so that
// logging is always safe to call.
func componentLogger(l logrus.FieldLogger) logrus.FieldLogger {
	if l == nil {
		discard := logrus.New()
		discard.SetOutput(io.Discard)
		l = discard
	}
	return l.WithField("component", "notify")
}
