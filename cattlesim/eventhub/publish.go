package eventhub

import (
	"net/http"
	"strings"
)

// HandlePublish processes a POST /publish body. raw tells whether the caller
// authenticated with a RAW (service/superadmin) key; QUALIFIED callers may
// only publish names starting with "reply." (403). Malformed bodies get 422
// InvalidBodyContent, a missing name 422 MissingRequired, a field of the
// wrong type 422 InvalidFormat; every rejection is a *PublishError. Accepted
// publishes are recorded for Published and, when they answer a pending
// Request (name == its replyTo, previousIds[0] == its id), handed to it.
// Non-reply publishes are recorded only; the emulator does not re-broadcast
// them or wrap "service.*" names into service.event.
func (h *Hub) HandlePublish(raw bool, body []byte) error {
	r, err := decodePublish(body)
	if err != nil {
		return err
	}
	if !raw && !strings.HasPrefix(r.Name, "reply.") {
		return &PublishError{Status: http.StatusForbidden, Code: CodeForbidden,
			Message: "only reply.* names may be published with this key"}
	}
	h.pubMu.Lock()
	h.published.add(r)
	h.pubMu.Unlock()
	h.matchReply(r)
	return nil
}

// Published returns every accepted publish, oldest first, up to
// Options.PublishedLimit most recent ones.
func (h *Hub) Published() []Reply {
	h.pubMu.Lock()
	defer h.pubMu.Unlock()
	return h.published.list()
}

// publishLog is a ring buffer of the most recent publishes.
type publishLog struct {
	limit int
	buf   []Reply
	start int // index of the oldest entry once buf is full
}

func (l *publishLog) add(r Reply) {
	if len(l.buf) < l.limit {
		l.buf = append(l.buf, r)
		return
	}
	l.buf[l.start] = r
	l.start = (l.start + 1) % l.limit
}

func (l *publishLog) list() []Reply {
	out := make([]Reply, 0, len(l.buf))
	out = append(out, l.buf[l.start:]...)
	return append(out, l.buf[:l.start]...)
}
